package optim

import (
	"math"
	"testing"
)

// TestEMAWarmup: decay 0.99 with warm-up, shadow starting at 0 and weights
// 1, 2, 4 at the three updates:
//
//	t=0: d = min(0.99, 1/10) = 0.1;   s = 0.1·0     + 0.9·1    = 0.9
//	t=1: d = min(0.99, 2/11) = 2/11;  s = (2/11)·0.9 + (9/11)·2 = 1.8
//	t=2: d = min(0.99, 3/12) = 0.25;  s = 0.25·1.8  + 0.75·4   = 3.45
func TestEMAWarmup(t *testing.T) {
	p := &Param{Name: "w", Value: []float32{0, 10}}
	e, err := NewEMA([]*Param{p}, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	e.Warmup = true
	weights := []float32{1, 2, 4}
	want := []float64{0.9, 1.8, 3.45}
	decays := []float64{0.1, 2.0 / 11, 0.25}
	for i, w := range weights {
		near(t, "decay", e.CurrentDecay(), decays[i], 1e-15)
		p.Value[0] = w
		if err := e.Update([]*Param{p}); err != nil {
			t.Fatal(err)
		}
		near(t, "shadow", float64(e.Shadow("w")[0]), want[i], 1e-6)
		near(t, "constant shadow", float64(e.Shadow("w")[1]), 10, 0)
	}
	if e.Updates() != 3 {
		t.Errorf("Updates = %d", e.Updates())
	}
	// Late in training the warm-up no longer caps the decay.
	e.updates = 10000
	near(t, "late decay", e.CurrentDecay(), 0.99, 0)
}

func TestEMANoWarmupSwapCopy(t *testing.T) {
	p := &Param{Name: "w", Value: []float32{0}}
	e, err := NewEMA([]*Param{p}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []float32{4, 4} {
		p.Value[0] = w
		if err := e.Update([]*Param{p}); err != nil {
			t.Fatal(err)
		}
	}
	// 0 → 2 → 3
	near(t, "shadow", float64(e.Shadow("w")[0]), 3, 0)
	if err := e.Swap([]*Param{p}); err != nil {
		t.Fatal(err)
	}
	if p.Value[0] != 3 || e.Shadow("w")[0] != 4 {
		t.Errorf("after Swap: value %v shadow %v", p.Value[0], e.Shadow("w")[0])
	}
	if err := e.Swap([]*Param{p}); err != nil {
		t.Fatal(err)
	}
	if p.Value[0] != 4 || e.Shadow("w")[0] != 3 {
		t.Errorf("after second Swap: value %v shadow %v", p.Value[0], e.Shadow("w")[0])
	}
	if err := e.CopyTo([]*Param{p}); err != nil || p.Value[0] != 3 {
		t.Errorf("CopyTo: %v, value %v", err, p.Value[0])
	}
	if e.Shadow("nope") != nil {
		t.Error("Shadow of unknown name")
	}
}

func TestEMAValidation(t *testing.T) {
	p := &Param{Name: "w", Value: []float32{1, 2}}
	if _, err := NewEMA([]*Param{p}, 1.5); err == nil {
		t.Error("decay 1.5 accepted")
	}
	if _, err := NewEMA([]*Param{p}, math.NaN()); err == nil {
		t.Error("NaN decay accepted")
	}
	e, _ := NewEMA([]*Param{p}, 0.9)
	if err := e.Update([]*Param{{Name: "w", Value: []float32{1}}}); err == nil {
		t.Error("Update with wrong length accepted")
	}
	if err := e.Update([]*Param{{Name: "other", Value: []float32{1}}}); err == nil {
		t.Error("Update with unknown param accepted")
	}
	for _, st := range []map[string][]float32{
		{},
		{"w": {1}},
		{"w": {1, 2}, "x": {1}},
	} {
		if err := e.Load(st, 1); err == nil {
			t.Errorf("Load(%v) accepted", st)
		}
	}
	if e.Shadow("w")[0] != 1 || e.Updates() != 0 {
		t.Error("failed Load changed the EMA")
	}
	if err := e.Load(map[string][]float32{"w": {7, 8}}, 4); err != nil || e.Shadow("w")[1] != 8 || e.Updates() != 4 {
		t.Errorf("Load: %v %v %d", err, e.Shadow("w"), e.Updates())
	}
}
