package optim

import (
	"math"
	"testing"
)

func globalNorm(ps []*Param) float64 {
	var s float64
	for _, p := range ps {
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}

func TestClipGradNorm(t *testing.T) {
	ps := []*Param{
		{Name: "a", Value: make([]float32, 2), Grad: []float32{3, 4}},
		{Name: "b", Value: make([]float32, 1), Grad: []float32{12}},
		{Name: "frozen", Value: make([]float32, 1)},
	}
	norm, ok := ClipGradNorm(ps, 6.5)
	if !ok || norm != 13 {
		t.Fatalf("norm %v, finite %v; want 13, true", norm, ok)
	}
	near(t, "clipped norm", globalNorm(ps), 6.5, 1e-6)
	near(t, "a[0]", float64(ps[0].Grad[0]), 1.5, 1e-7)
	near(t, "b[0]", float64(ps[1].Grad[0]), 6, 1e-7)

	// Below the threshold nothing changes.
	norm, ok = ClipGradNorm(ps, 100)
	if !ok || ps[0].Grad[1] != 2 {
		t.Errorf("unclipped: norm %v ok %v grads %v", norm, ok, ps[0].Grad)
	}
	// maxNorm <= 0 only measures.
	if norm, _ := ClipGradNorm(ps, 0); math.Abs(norm-6.5) > 1e-6 || ps[1].Grad[0] != 6 {
		t.Errorf("measure only: norm %v grads %v", norm, ps[1].Grad)
	}

	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		ps[0].Grad[0] = bad
		ps[1].Grad[0] = 1000
		if _, ok := ClipGradNorm(ps, 1); ok {
			t.Errorf("grad %v: finite reported", bad)
		}
		if ps[1].Grad[0] != 1000 {
			t.Errorf("grad %v: grads scaled despite non-finite norm", bad)
		}
	}
}
