package optim

import (
	"math"
	"runtime"
	"testing"
)

// TestParallelMatchesSerial: large parameters are updated in chunks on
// several goroutines; the result must not depend on how many.
func TestParallelMatchesSerial(t *testing.T) {
	const n = 5*minChunk + 123
	run := func(procs int) ([]float32, []float32) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p := &Param{Name: "big", Value: make([]float32, n), Grad: make([]float32, n)}
		for i := range p.Value {
			p.Value[i] = float32(math.Sin(float64(i)))
		}
		o := NewAdamW(Group{LR: 0.01, WeightDecay: 0.1})
		e, err := NewEMA([]*Param{p}, 0.99)
		if err != nil {
			t.Fatal(err)
		}
		for s := range 3 {
			for i := range p.Grad {
				p.Grad[i] = float32(math.Cos(float64(i * (s + 1))))
			}
			if err := o.Step([]*Param{p}); err != nil {
				t.Fatal(err)
			}
			if err := e.Update([]*Param{p}); err != nil {
				t.Fatal(err)
			}
		}
		return p.Value, e.Shadow("big")
	}
	v1, s1 := run(1)
	v4, s4 := run(4)
	for i := range v1 {
		if math.Float32bits(v1[i]) != math.Float32bits(v4[i]) || math.Float32bits(s1[i]) != math.Float32bits(s4[i]) {
			t.Fatalf("element %d differs between 1 and 4 workers", i)
		}
	}
}
