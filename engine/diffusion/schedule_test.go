package diffusion

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.12g, want %.12g (±%g)", what, got, want, tol)
	}
}

func TestCosineSchedule(t *testing.T) {
	s := Cosine(DefaultT)
	if s.T != 1000 || len(s.Betas) != 1000 || len(s.AlphasCumprod) != 1000 {
		t.Fatalf("lengths: T %d, %d betas", s.T, len(s.Betas))
	}
	// Values from the closed form, f(1/T)/f(0) with f(u) = cos²((u+0.008)/1.008·π/2).
	near(t, "ᾱ_0", s.AlphasCumprod[0], 0.999958715775178, 1e-13)
	last := s.AlphasCumprod[999]
	if !(last > 0 && last < 1e-8) {
		t.Errorf("ᾱ_999 = %g, want tiny but positive", last)
	}
	near(t, "ᾱ_999", last, 2.4287669070348e-9, 1e-20)
	near(t, "β_999 (clipped)", s.Betas[999], 0.999, 0)
	for i := 1; i < s.T; i++ {
		if s.AlphasCumprod[i] >= s.AlphasCumprod[i-1] || s.Betas[i] > 0.999 {
			t.Fatalf("not a decreasing ᾱ / clipped β at %d", i)
		}
	}
}

func TestScaledLinearSchedule(t *testing.T) {
	s := ScaledLinear(DefaultT)
	near(t, "β_0", s.Betas[0], 0.00085, 1e-15)
	near(t, "β_999", s.Betas[999], 0.012, 0)
	near(t, "ᾱ_999", s.AlphasCumprod[999], 0.004660098513077, 1e-12)
	near(t, "midpoint √β", math.Sqrt(s.Betas[500]), math.Sqrt(0.00085)+(math.Sqrt(0.012)-math.Sqrt(0.00085))*500/999, 1e-15)
	for _, ti := range []int{0, 10, 500, 999} {
		a := s.AlphasCumprod[ti]
		near(t, "√ᾱ", s.SqrtAlphaBar(ti), math.Sqrt(a), 0)
		near(t, "√(1−ᾱ)", s.SqrtOneMinusAlphaBar(ti), math.Sqrt(1-a), 0)
		near(t, "SNR", s.SNR(ti), a/(1-a), 1e-12*a/(1-a))
		near(t, "σ", s.Sigma(ti), 1/math.Sqrt(s.SNR(ti)), 1e-12*s.Sigma(ti))
		near(t, "√ᾱ² + √(1−ᾱ)²", s.SqrtAlphaBar(ti)*s.SqrtAlphaBar(ti)+s.SqrtOneMinusAlphaBar(ti)*s.SqrtOneMinusAlphaBar(ti), 1, 1e-15)
	}
	near(t, "σ_max", s.Sigma(999), 14.614641229333646, 1e-9)
}

func TestFromBetas(t *testing.T) {
	if _, err := FromBetas(nil); err == nil {
		t.Error("empty betas accepted")
	}
	if _, err := FromBetas([]float64{0.1, 1}); err == nil {
		t.Error("beta 1 accepted")
	}
	s, err := FromBetas([]float64{0.5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ᾱ_1", s.AlphasCumprod[1], 0.25, 0)
}

func TestTimesteps(t *testing.T) {
	check := func(steps int, sp Spacing, want []int) {
		t.Helper()
		got, err := Timesteps(1000, steps, sp)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%v %d: got %v, want %v", sp, steps, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%v %d: got %v, want %v", sp, steps, got, want)
			}
		}
	}
	var leading, trailing []int
	for i := range 25 {
		leading = append(leading, 960-40*i)
		trailing = append(trailing, 999-40*i)
	}
	check(25, Leading, leading)
	check(25, Trailing, trailing)
	// Expected lists from diffusers' formulas (np.round rounds half to
	// even: 937.5 → 938, 812.5 → 812).
	check(16, Trailing, []int{999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61})
	check(30, Trailing, []int{999, 966, 932, 899, 866, 832, 799, 766, 732, 699, 666, 632, 599, 566, 532, 499, 466, 432, 399, 366, 332, 299, 266, 232, 199, 166, 132, 99, 66, 32})
	check(7, Leading, []int{852, 710, 568, 426, 284, 142, 0})
	check(7, Trailing, []int{999, 856, 713, 570, 428, 285, 142})
	check(1, Trailing, []int{999})
	if ts, _ := Timesteps(1000, 1000, Trailing); ts[999] != 0 || ts[0] != 999 {
		t.Errorf("1000 trailing steps: %v…%v", ts[0], ts[999])
	}
	for _, steps := range []int{0, -1, 1001} {
		if _, err := Timesteps(1000, steps, Trailing); err == nil {
			t.Errorf("%d steps accepted", steps)
		}
	}
}
