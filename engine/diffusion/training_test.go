package diffusion

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestAddNoiseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 48
	for _, s := range []*Schedule{Cosine(DefaultT), ScaledLinear(DefaultT)} {
		for _, kind := range []PredKind{Epsilon, VPrediction, SamplePrediction} {
			// Recovering x0 from ε divides by √ᾱ, so for Epsilon stay where
			// √ᾱ is not tiny; v and x0 predictions are exact everywhere.
			ts := []int{0, 1, 250, 500, 750, 900}
			if kind != Epsilon {
				ts = append(ts, 990, 999)
			}
			x0 := make([]float32, len(ts)*n)
			noise := make([]float32, len(ts)*n)
			for i := range x0 {
				x0[i] = float32(rng.Float64()*2 - 1)
			}
			FillNormal(rng, noise)
			xt, err := s.AddNoise(x0, noise, ts)
			if err != nil {
				t.Fatal(err)
			}
			target, err := s.Target(kind, x0, noise, ts)
			if err != nil {
				t.Fatal(err)
			}
			gotX0, gotEps, err := s.PredToX0Eps(kind, xt, target, ts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range x0 {
				ti := ts[i/n]
				// xt at the very first timestep is x0 + 0.006·ε; x0
				// predictions recover ε by dividing by √(1−ᾱ_0).
				epsTol := 1e-6
				if kind == SamplePrediction && ti < 10 {
					epsTol = 1e-6 / s.SqrtOneMinusAlphaBar(ti)
				}
				if d := math.Abs(float64(gotX0[i] - x0[i])); d > 1e-6 {
					t.Fatalf("%v t=%d: x0 off by %g", kind, ti, d)
				}
				if d := math.Abs(float64(gotEps[i] - noise[i])); d > epsTol {
					t.Fatalf("%v t=%d: ε off by %g", kind, ti, d)
				}
			}
		}
	}
}

func TestTargetV(t *testing.T) {
	s := ScaledLinear(DefaultT)
	v, err := s.Target(VPrediction, []float32{0.5, -1}, []float32{1, 2}, []int{300, 700})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "v0", float64(v[0]), s.SqrtAlphaBar(300)*1-s.SqrtOneMinusAlphaBar(300)*0.5, 1e-7)
	near(t, "v1", float64(v[1]), s.SqrtAlphaBar(700)*2+s.SqrtOneMinusAlphaBar(700)*1, 1e-7)
	if _, err := s.Target(VPrediction, []float32{1, 2, 3}, []float32{1, 2, 3}, []int{1, 2}); err == nil {
		t.Error("3 values in 2 samples accepted")
	}
	if _, err := s.AddNoise([]float32{1}, []float32{1}, []int{1000}); err == nil {
		t.Error("t = T accepted")
	}
	if _, err := s.AddNoise([]float32{1, 2}, []float32{1}, []int{1}); err == nil {
		t.Error("short noise accepted")
	}
}

func TestMinSNRWeight(t *testing.T) {
	s := ScaledLinear(DefaultT)
	const gamma = 5
	// Find a timestep on each side of SNR = γ.
	lo, hi := -1, -1
	for ti := range s.T {
		if s.SNR(ti) > 20 && lo < 0 {
			lo = ti
		}
		if s.SNR(ti) < 1 && hi < 0 {
			hi = ti
		}
	}
	if lo < 0 || hi < 0 {
		t.Fatal("no timesteps around γ")
	}
	snr := s.SNR(lo) // > γ: clipped
	near(t, "ε, high SNR", s.MinSNRWeight(Epsilon, lo, gamma), gamma/snr, 1e-15)
	near(t, "v, high SNR", s.MinSNRWeight(VPrediction, lo, gamma), gamma/(snr+1), 1e-15)
	near(t, "x0, high SNR", s.MinSNRWeight(SamplePrediction, lo, gamma), gamma, 0)
	snr = s.SNR(hi) // < γ: unclipped
	near(t, "ε, low SNR", s.MinSNRWeight(Epsilon, hi, gamma), 1, 1e-15)
	near(t, "v, low SNR", s.MinSNRWeight(VPrediction, hi, gamma), snr/(snr+1), 1e-15)
	near(t, "x0, low SNR", s.MinSNRWeight(SamplePrediction, hi, gamma), snr, 1e-15)
	near(t, "off", s.MinSNRWeight(VPrediction, hi, 0), 1, 0)
	w := s.MinSNRWeights(Epsilon, []int{lo, hi}, gamma)
	if len(w) != 2 || w[1] != 1 {
		t.Errorf("MinSNRWeights = %v", w)
	}
}

func TestWeightedMSE(t *testing.T) {
	pred := []float32{1, 2, 3, 4}
	target := []float32{0, 2, 3, 2}
	// sample 0: mean((1,0)²) = 0.5, weight 2; sample 1: mean((0,2)²) = 2, weight 0.5.
	loss, grad, err := WeightedMSE(pred, target, []float64{2, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "loss", loss, (2*0.5+0.5*2)/2, 1e-15)
	want := []float64{2 * 2 * 1 / 4.0, 0, 0, 2 * 0.5 * 2 / 4.0}
	for i := range grad {
		near(t, "grad", float64(grad[i]), want[i], 1e-7)
	}
	// Finite-difference check of the gradient.
	const h = 1e-3
	for i := range pred {
		p := append([]float32(nil), pred...)
		p[i] += h
		lp, _, _ := WeightedMSE(p, target, []float64{2, 0.5})
		p[i] -= 2 * h
		lm, _, _ := WeightedMSE(p, target, []float64{2, 0.5})
		near(t, "fd grad", (lp-lm)/(2*h), float64(grad[i]), 1e-3)
	}
	if l, _, _ := WeightedMSE(pred, target, nil); math.Abs(l-(1+4)/4.0) > 1e-15 {
		t.Errorf("unweighted loss %v", l)
	}
	if _, _, err := WeightedMSE(pred, target[:3], nil); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestRandomTimesteps(t *testing.T) {
	s := Cosine(10)
	ts := s.RandomTimesteps(rand.New(rand.NewPCG(3, 4)), 1000)
	seen := map[int]bool{}
	for _, v := range ts {
		if v < 0 || v >= 10 {
			t.Fatalf("timestep %d", v)
		}
		seen[v] = true
	}
	if len(seen) != 10 {
		t.Errorf("only %d distinct timesteps", len(seen))
	}
}

func TestPredKindNames(t *testing.T) {
	for _, k := range []PredKind{Epsilon, VPrediction, SamplePrediction} {
		got, err := ParsePredKind(k.String())
		if err != nil || got != k {
			t.Errorf("%v: %v %v", k, got, err)
		}
	}
	if _, err := ParsePredKind("x"); err == nil {
		t.Error("unknown name parsed")
	}
}

func TestFlooredSNRWeight(t *testing.T) {
	s := Cosine(DefaultT)
	const gamma = 5
	last := s.T - 1 // SNR ≈ 0: pure noise
	if snr := s.SNR(last); snr > 1e-3 {
		t.Fatalf("SNR at the last step is %g", snr)
	}
	// High noise: full v weight, where min-SNR gives almost nothing.
	near(t, "v, pure noise", s.FlooredSNRWeight(VPrediction, last, gamma), 1, 0)
	if w := s.MinSNRWeight(VPrediction, last, gamma); w > 1e-3 {
		t.Errorf("min-SNR v weight at pure noise = %g, want ≈ 0", w)
	}
	near(t, "x0, pure noise", s.FlooredSNRWeight(SamplePrediction, last, gamma), s.SNR(last)+1, 1e-15)
	near(t, "ε, pure noise (capped)", s.FlooredSNRWeight(Epsilon, last, gamma), maxEpsWeight, 0)
	// Low noise: the same clip as min-SNR.
	for ti := range s.T {
		snr := s.SNR(ti)
		switch {
		case snr > 20:
			for _, k := range []PredKind{Epsilon, VPrediction, SamplePrediction} {
				// min(SNR+1, γ) = min(SNR, γ) = γ here.
				near(t, "clean side "+k.String(), s.FlooredSNRWeight(k, ti, gamma), s.MinSNRWeight(k, ti, gamma), 1e-15)
			}
		case snr > 1 && snr < 3:
			near(t, "v, SNR in (1, 3)", s.FlooredSNRWeight(VPrediction, ti, gamma), 1, 1e-15)
		}
	}
	w := s.LossWeights(VPrediction, []int{last, 0}, gamma, true)
	if w[0] != 1 || w[1] != s.MinSNRWeight(VPrediction, 0, gamma) {
		t.Errorf("LossWeights floored = %v", w)
	}
	if w := s.LossWeights(VPrediction, []int{last}, gamma, false); w[0] != s.MinSNRWeight(VPrediction, last, gamma) {
		t.Errorf("LossWeights unfloored = %v", w)
	}
	near(t, "off", s.FlooredSNRWeight(VPrediction, last, 0), 1, 0)
}

func TestRandomTimestepsHigh(t *testing.T) {
	s := Cosine(1000)
	rng := rand.New(rand.NewPCG(5, 6))
	ts := s.RandomTimestepsHigh(rng, 20000, 0.25)
	high := 0
	for _, v := range ts {
		if v < 0 || v >= s.T {
			t.Fatalf("timestep %d outside [0, %d)", v, s.T)
		}
		if v >= 900 {
			high++
		}
	}
	// 25% from the band plus 10% of the uniform 75%: 32.5%.
	if share := float64(high) / float64(len(ts)); math.Abs(share-0.325) > 0.015 {
		t.Errorf("share in the noisiest tenth %.3f, want 0.325", share)
	}
	// Share 0 is RandomTimesteps, draw for draw.
	a := s.RandomTimestepsHigh(rand.New(rand.NewPCG(1, 1)), 50, 0)
	b := s.RandomTimesteps(rand.New(rand.NewPCG(1, 1)), 50)
	if !slices.Equal(a, b) {
		t.Error("share 0 differs from RandomTimesteps")
	}
}
