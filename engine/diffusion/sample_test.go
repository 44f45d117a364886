package diffusion

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

const testN = 32 * 32 * 3

// targetImages is a fixed batch of smooth 32×32×3 NHWC images in
// [−0.9, 0.9].
func targetImages(batch int) []float32 {
	x := make([]float32, batch*testN)
	for b := range batch {
		for y := range 32 {
			for xx := range 32 {
				for c := range 3 {
					v := 0.9 * math.Sin(float64(xx)*0.3+float64(c)+float64(b)) * math.Cos(float64(y)*0.2-float64(c))
					x[b*testN+(y*32+xx)*3+c] = float32(v)
				}
			}
		}
	}
	return x
}

// oracle returns the exact prediction of the given kind that points from
// x_t to the known x0: ε = (x_t − √ᾱ·x0)/√(1−ᾱ), v = √ᾱ·ε − √(1−ᾱ)·x0.
func oracle(s *Schedule, kind PredKind, x0 []float32) Denoiser {
	return func(x []float32, t []int, batch int) ([]float32, error) {
		n := len(x) / batch
		out := make([]float32, len(x))
		for b := range batch {
			a, c := s.SqrtAlphaBar(t[b]), s.SqrtOneMinusAlphaBar(t[b])
			for i := b * n; i < (b+1)*n; i++ {
				eps := (float64(x[i]) - a*float64(x0[i])) / c
				switch kind {
				case Epsilon:
					out[i] = float32(eps)
				case VPrediction:
					out[i] = float32(a*eps - c*float64(x0[i]))
				default:
					out[i] = x0[i]
				}
			}
		}
		return out, nil
	}
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func TestOracleRecoversX0(t *testing.T) {
	const batch = 2
	x0 := targetImages(batch)
	schedules := map[string]*Schedule{"cosine": Cosine(DefaultT), "scaled-linear": ScaledLinear(DefaultT)}
	for sname, s := range schedules {
		for _, kind := range []PredKind{Epsilon, VPrediction, SamplePrediction} {
			for _, c := range []struct {
				opt Options
				tol float64
			}{
				{Options{Sampler: DDIM, Steps: 25}, 1e-3},
				{Options{Sampler: DDIM, Steps: 25, Spacing: Leading}, 1e-3},
				{Options{Sampler: DDIM, Steps: 25, Eta: 1}, 1e-3},
				{Options{Sampler: DDIM, Steps: 25, ClipX0: true}, 1e-3},
				{Options{Sampler: EulerAncestral, Steps: 25}, 1e-2},
				{Options{Sampler: EulerAncestral, Steps: 25, Spacing: Leading}, 1e-2},
			} {
				steps := 0
				c.opt.Progress = func(step, total int) {
					steps++
					if step != steps || total != 25 {
						t.Errorf("progress(%d, %d) at call %d", step, total, steps)
					}
				}
				got, err := Sample(context.Background(), s, kind, oracle(s, kind, x0), batch, testN, rand.New(rand.NewPCG(7, 8)), c.opt)
				if err != nil {
					t.Fatal(err)
				}
				if steps != 25 {
					t.Errorf("%d progress calls", steps)
				}
				if d := maxDiff(got, x0); d > c.tol {
					t.Errorf("%s %v %v spacing %v eta %g: max |x − x0| = %g > %g", sname, kind, c.opt.Sampler, c.opt.Spacing, c.opt.Eta, d, c.tol)
				}
			}
		}
	}
}

// toyModel is a deterministic stand-in network whose samples depend on
// the noise it is started from.
func toyModel(x []float32, t []int, batch int) ([]float32, error) {
	n := len(x) / batch
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(0.7*float64(v) + 0.001*float64(t[i/n]%7) + 0.05*math.Sin(float64(i)))
	}
	return out, nil
}

func TestDeterminism(t *testing.T) {
	s := ScaledLinear(DefaultT)
	for _, opt := range []Options{
		{Sampler: DDIM, Steps: 10},
		{Sampler: DDIM, Steps: 10, Eta: 0.5},
		{Sampler: EulerAncestral, Steps: 10},
	} {
		run := func(seed uint64) []float32 {
			out, err := Sample(context.Background(), s, VPrediction, toyModel, 2, 64, rand.New(rand.NewPCG(seed, 1)), opt)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		a, b, c := run(42), run(42), run(43)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%v eta %g: same seed differs at %d", opt.Sampler, opt.Eta, i)
			}
		}
		if maxDiff(a, c) < 1e-3 {
			t.Errorf("%v eta %g: different seeds give the same samples", opt.Sampler, opt.Eta)
		}
	}
}

// TestEtaAddsNoise: with the same seed, η > 0 changes DDIM's result.
func TestEtaAddsNoise(t *testing.T) {
	s := Cosine(DefaultT)
	run := func(eta float64) []float32 {
		out, err := Sample(context.Background(), s, Epsilon, toyModel, 1, 64, rand.New(rand.NewPCG(1, 1)), Options{Steps: 10, Eta: eta, ClipX0: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if maxDiff(run(0), run(1)) < 1e-3 {
		t.Error("η = 1 gave the deterministic result")
	}
}

func TestCancel(t *testing.T) {
	s := Cosine(DefaultT)
	for _, sampler := range []SamplerKind{DDIM, EulerAncestral} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		model := func(x []float32, ts []int, batch int) ([]float32, error) {
			calls++
			if calls == 3 {
				cancel()
			}
			return toyModel(x, ts, batch)
		}
		_, err := Sample(ctx, s, Epsilon, model, 1, 16, rand.New(rand.NewPCG(1, 1)), Options{Sampler: sampler, Steps: 20})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v: err = %v, want context.Canceled", sampler, err)
		}
		if calls != 3 {
			t.Errorf("%v: model called %d times after cancel at call 3", sampler, calls)
		}
		cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	_, err := Sample(ctx, s, Epsilon, func(x []float32, ts []int, b int) ([]float32, error) {
		called = true
		return toyModel(x, ts, b)
	}, 1, 4, rand.New(rand.NewPCG(1, 1)), Options{})
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("pre-cancelled: err %v, model called %v", err, called)
	}
}

func TestSampleErrors(t *testing.T) {
	s := ScaledLinear(DefaultT)
	rng := rand.New(rand.NewPCG(1, 1))
	boom := errors.New("boom")
	cases := map[string]Denoiser{
		"error": func([]float32, []int, int) ([]float32, error) { return nil, boom },
		"short": func(x []float32, _ []int, _ int) ([]float32, error) { return x[:1], nil },
		"nan": func(x []float32, _ []int, _ int) ([]float32, error) {
			return []float32{float32(math.NaN()), 0, 0, 0}, nil
		},
		"normal": toyModel,
	}
	for name, m := range cases {
		_, err := Sample(context.Background(), s, Epsilon, m, 1, 4, rng, Options{Steps: 3})
		if (err == nil) != (name == "normal") {
			t.Errorf("%s: err = %v", name, err)
		}
		if name == "error" && !errors.Is(err, boom) {
			t.Errorf("model error not wrapped: %v", err)
		}
	}
	bad := []Options{{Steps: 1001}, {Steps: -1}, {Eta: -1}, {Sampler: 9}, {Spacing: 9}}
	for _, o := range bad {
		if _, err := Sample(context.Background(), s, Epsilon, toyModel, 1, 4, rng, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := Sample(context.Background(), s, PredKind(7), toyModel, 1, 4, rng, Options{}); err == nil {
		t.Error("unknown prediction kind accepted")
	}
	if _, err := Sample(context.Background(), s, Epsilon, toyModel, 0, 4, rng, Options{}); err == nil {
		t.Error("empty batch accepted")
	}
}

func TestGuidance(t *testing.T) {
	cond := func(x []float32, _ []int, _ int) ([]float32, error) {
		out := make([]float32, len(x))
		for i := range out {
			out[i] = 3
		}
		return out, nil
	}
	uncond := func(x []float32, _ []int, _ int) ([]float32, error) { return make([]float32, len(x)), nil }
	got, err := Guided(cond, uncond, 7.5)(make([]float32, 4), []int{5, 5}, 2)
	if err != nil || got[0] != 22.5 || got[3] != 22.5 {
		t.Errorf("Guided: %v %v", got, err)
	}

	// CFG: one call on [uncond; cond]; this model outputs t + (0 for the
	// first half, 1 for the second) + x.
	var seenBatch int
	model := func(x []float32, ts []int, batch int) ([]float32, error) {
		seenBatch = batch
		n := len(x) / batch
		out := make([]float32, len(x))
		for i := range out {
			b := i / n
			half := 0
			if b >= batch/2 {
				half = 1
			}
			out[i] = float32(ts[b]) + float32(half) + x[i]
		}
		return out, nil
	}
	x := []float32{0.5, 0.5, -1, -1}
	got, err = CFG(model, 4)(x, []int{10, 20}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if seenBatch != 4 {
		t.Errorf("CFG called the model with batch %d, want 4", seenBatch)
	}
	// uncond = t + x, cond = t + 1 + x, guided = t + x + 4.
	want := []float32{14.5, 14.5, 23, 23}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("CFG = %v, want %v", got, want)
		}
	}

	// Sampling through CFG with an oracle in both halves still recovers x0.
	s := ScaledLinear(DefaultT)
	x0 := targetImages(1)
	orc := oracle(s, VPrediction, append(append([]float32(nil), x0...), x0...))
	out, err := Sample(context.Background(), s, VPrediction, CFG(orc, 5), 1, testN, rand.New(rand.NewPCG(1, 2)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(out, x0); d > 1e-3 {
		t.Errorf("CFG oracle sample off by %g", d)
	}
}

// TestInitStartsPartWay: with Init, DDIM calls the model only for the
// timesteps at or below InitStrength·T and starts from Init noised there,
// so a model that removes no noise returns Init plus that little noise;
// the same seed gives the same result.
func TestInitStartsPartWay(t *testing.T) {
	s := Cosine(DefaultT)
	const n = 64
	init := make([]float32, n)
	for i := range init {
		init[i] = float32(i%7)/3 - 1
	}
	calls := 0
	still := func(x []float32, ts []int, batch int) ([]float32, error) {
		calls++
		return make([]float32, len(x)), nil // ε = 0: x0 is x/√ᾱ
	}
	opt := Options{Steps: 20, Init: init, InitStrength: 0.05}
	out, err := Sample(context.Background(), s, Epsilon, still, 1, n, rand.New(rand.NewPCG(1, 2)), opt)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := Timesteps(DefaultT, 20, opt.Spacing)
	want := 0
	for _, v := range ts {
		if v <= 50 {
			want++
		}
	}
	if calls != want || want == 0 {
		t.Errorf("%d model calls, want %d (the steps at or below t=50)", calls, want)
	}
	var diff float64
	for i := range out {
		diff += math.Abs(float64(out[i] - init[i]))
	}
	if diff /= n; diff > 0.1 {
		t.Errorf("mean distance to Init %.3f, want < 0.1", diff)
	}
	again, _ := Sample(context.Background(), s, Epsilon, still, 1, n, rand.New(rand.NewPCG(1, 2)), opt)
	if maxDiff(out, again) != 0 {
		t.Error("the same seed gave another result")
	}
	opt.Init = nil
	plain, _ := Sample(context.Background(), s, Epsilon, still, 1, n, rand.New(rand.NewPCG(1, 2)), opt)
	var far float64
	for i := range plain {
		far += math.Abs(float64(plain[i] - init[i]))
	}
	if far/n < 0.5 {
		t.Errorf("without Init the result is as near it (%.3f): the test proves nothing", far/n)
	}
}
