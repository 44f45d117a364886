package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"conceptstudio/internal/numgrad"
)

// gradTol is the largest relative error accepted between an analytic
// gradient and central differences (in float64).
const gradTol = 1e-6

// checkGrad compares analytic, the gradient of f with respect to x, with
// central differences of step 1e-6 and fails t when they differ by more
// than gradTol (see gradRelErr). It perturbs x in place (f must read x)
// and restores every element.
func checkGrad(t *testing.T, name string, x []float64, f func() float64, analytic []float64) {
	t.Helper()
	if len(analytic) != len(x) {
		t.Fatalf("%s: %d analytic components for %d inputs", name, len(analytic), len(x))
	}
	rel, at, num := gradRelErr(x, f, analytic)
	if !(rel < gradTol) {
		if at < 0 {
			t.Fatalf("%s: non-finite gradient (analytic %v, numeric %v)", name, analytic, num)
		}
		t.Errorf("%s: relative error %.3g at %d: analytic %.12g, numeric %.12g", name, rel, at, analytic[at], num[at])
		return
	}
	t.Logf("%s: %d components, relative error %.2g", name, len(x), rel)
}

// gradRelErr returns the central-difference gradient num of f at x (step
// 1e-6, x restored afterwards) and its error against analytic measured
// relative to the gradient's largest component:
// max_i |num_i − ana_i| / max_i max(|num_i|, |ana_i|), with at the worst
// index (−1 when some value is not finite). This tolerates the
// differences' absolute rounding error (about 1e-16·|f|/h) on near-zero
// components while still catching any wrong or missing term; exact zeros
// (masked inputs) must come out zero up to that error.
func gradRelErr(x []float64, f func() float64, analytic []float64) (rel float64, at int, num []float64) {
	const h = 1e-6
	num = make([]float64, len(x))
	var scale float64
	for i := range x {
		num[i] = numgrad.CentralDifference(x, i, h, f)
		scale = max(scale, math.Abs(num[i]), math.Abs(analytic[i]))
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) {
		return math.Inf(1), -1, num
	}
	worst, at := 0.0, 0
	for i := range x {
		if d := math.Abs(num[i] - analytic[i]); d > worst {
			worst, at = d, i
		}
	}
	return worst / max(scale, 1e-300), at, num
}

// gcRand returns n values uniform in [−1, 1) from a fixed seed.
func gcRand(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	s := make([]float64, n)
	for i := range s {
		s[i] = r.Float64()*2 - 1
	}
	return s
}

// gcDot is Σ a·b, the loss Σ out·r of every gradient check.
func gcDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// gcNaN returns n NaNs: outputs start as NaN to prove kernels overwrite.
func gcNaN(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// gcTo32 converts to float32.
func gcTo32(a []float64) []float32 {
	s := make([]float32, len(a))
	for i, v := range a {
		s[i] = float32(v)
	}
	return s
}

// gcTo64 converts to float64.
func gcTo64(a []float32) []float64 {
	s := make([]float64, len(a))
	for i, v := range a {
		s[i] = float64(v)
	}
	return s
}

// gcClose fails unless got and want agree within atol + rtol·|want|
// elementwise.
func gcClose[T Float](t *testing.T, name string, got []T, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i, w := range want {
		g := float64(got[i])
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Fatalf("%s[%d] = %.9g, want %.9g (all: %v)", name, i, g, w, got[:len(want)])
		}
	}
}

// gcMaxRel is max_i |a_i − b_i| / max_i |b_i|.
func gcMaxRel[T Float](a []T, b []float64) float64 {
	var d, s float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-b[i]))
		s = max(s, math.Abs(b[i]))
	}
	return d / max(s, 1e-300)
}

func TestCheckGradCatchesWrongGradient(t *testing.T) {
	// The helper itself: a correct gradient passes and x is restored.
	x := []float64{0.3, -1.2, 2}
	orig := append([]float64(nil), x...)
	f := func() float64 { return x[0]*x[1] + math.Sin(x[2]) }
	checkGrad(t, "x0·x1+sin(x2)", x, f, []float64{x[1], x[0], math.Cos(x[2])})
	for i := range x {
		if x[i] != orig[i] {
			t.Fatalf("checkGrad left x = %v, want %v", x, orig)
		}
	}
	// A gradient off by 1e-5 in one component is rejected.
	if rel, at, _ := gradRelErr(x, f, []float64{x[1], x[0], (1 + 1e-5) * math.Cos(x[2])}); rel < gradTol || at != 2 {
		t.Fatalf("wrong gradient accepted: relative error %g at %d", rel, at)
	}
}
