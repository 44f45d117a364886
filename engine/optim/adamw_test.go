package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

// TestAdamWHandComputed checks two steps against values worked out by hand
// with PyTorch's AdamW formula; lr = 0.1, λ = 0.01, β = (0.9, 0.999),
// ε = 1e-8.
//
// Element 0: θ = 1, g1 = 0.5, g2 = −0.25.
//
//	step 1: θ ← 1·(1 − 0.1·0.01)                    = 0.999
//	        m = 0.1·0.5 = 0.05;  v = 0.001·0.25      = 0.00025
//	        m̂ = 0.05/(1−0.9) = 0.5;  √v̂ = √(0.00025/0.001) = 0.5
//	        θ ← 0.999 − 0.1·0.5/(0.5 + 1e-8)         = 0.899000002
//	step 2: θ ← 0.899000002·0.999                    = 0.898101001998
//	        m = 0.9·0.05 + 0.1·(−0.25)               = 0.02
//	        v = 0.999·0.00025 + 0.001·0.0625         = 0.00031225
//	        m̂ = 0.02/(1−0.81) = 0.105263158;  √v̂ = √(0.00031225/0.001999) = 0.395225381
//	        θ ← 0.898101002 − 0.1·0.105263158/0.395225381 = 0.898101002 − 0.026633703 = 0.871467299
//
// Element 1: θ = −2, g1 = −1, g2 = 3.
//
//	step 1: θ ← −1.998;  m = −0.1;  v = 0.001;  m̂ = −1;  √v̂ = 1
//	        θ ← −1.998 + 0.1/(1 + 1e-8)               = −1.898000001
//	step 2: θ ← −1.898000001·0.999                   = −1.896102001
//	        m = −0.09 + 0.3 = 0.21;  v = 0.000999 + 0.009 = 0.009999
//	        m̂ = 0.21/0.19 = 1.105263158;  √v̂ = √(0.009999/0.001999) = 2.236515370
//	        θ ← −1.896102001 − 0.1·1.105263158/2.236515370 = −1.896102001 − 0.049418983 = −1.945520984
func TestAdamWHandComputed(t *testing.T) {
	p := &Param{Name: "w", Value: []float32{1, -2}, Grad: make([]float32, 2)}
	o := NewAdamW(Group{LR: 0.1, WeightDecay: 0.01})
	grads := [][]float32{{0.5, -1}, {-0.25, 3}}
	want := [][]float64{{0.899000002, -1.898000001}, {0.8714672987, -1.945520984}}
	wantM := [][]float64{{0.05, -0.1}, {0.02, 0.21}}
	wantV := [][]float64{{0.00025, 0.001}, {0.00031225, 0.009999}}
	for s := range 2 {
		copy(p.Grad, grads[s])
		if err := o.Step([]*Param{p}); err != nil {
			t.Fatal(err)
		}
		st := o.State()
		for i := range 2 {
			near(t, "θ", float64(p.Value[i]), want[s][i], 1e-6)
			near(t, "m", float64(st["w.m"][i]), wantM[s][i], 1e-8)
			near(t, "v", float64(st["w.v"][i]), wantV[s][i], 1e-9)
		}
	}
	if o.StepCount() != 2 {
		t.Errorf("StepCount = %d, want 2", o.StepCount())
	}
}

// TestAdamWGroups: with a zero gradient Adam's part of the update is 0/ε = 0,
// so only the decoupled decay θ·(1 − lr·λ) remains, per group.
func TestAdamWGroups(t *testing.T) {
	o := NewAdamW(Group{LR: 0.1, WeightDecay: 0.1}, Group{LR: 0.01, WeightDecay: 0}, Group{LR: 0.01, WeightDecay: 0.1})
	a := &Param{Name: "a", Value: []float32{2}, Grad: []float32{0}, Group: 0}
	b := &Param{Name: "b", Value: []float32{2}, Grad: []float32{0}, Group: 1}
	c := &Param{Name: "c", Value: []float32{2}, Grad: []float32{0}, Group: 2}
	if err := o.Step([]*Param{a, b, c}); err != nil {
		t.Fatal(err)
	}
	near(t, "decayed a", float64(a.Value[0]), 2*(1-0.1*0.1), 1e-7)
	near(t, "undecayed b", float64(b.Value[0]), 2, 0)
	near(t, "decayed c", float64(c.Value[0]), 2*(1-0.01*0.1), 1e-7)

	// With a gradient, the first step moves each parameter by about its
	// group's learning rate (m̂/√v̂ = sign(g)).
	a.Value[0], b.Value[0] = 0, 0
	a.Grad[0], b.Grad[0] = 1, 1
	o2 := NewAdamW(Group{LR: 0.1}, Group{LR: 0.01})
	if err := o2.Step([]*Param{a, b}); err != nil {
		t.Fatal(err)
	}
	near(t, "a step", float64(a.Value[0]), -0.1, 1e-7)
	near(t, "b step", float64(b.Value[0]), -0.01, 1e-8)
}

func TestAdamWValidation(t *testing.T) {
	o := NewAdamW(Group{LR: 0.1})
	good := &Param{Name: "w", Value: []float32{1, 2}, Grad: []float32{1, 1}}
	cases := map[string][]*Param{
		"grad length": {{Name: "x", Value: []float32{1, 2}, Grad: []float32{1}}},
		"group":       {{Name: "x", Value: []float32{1}, Grad: []float32{1}, Group: 1}},
		"duplicate":   {good, {Name: "w", Value: []float32{1, 2}, Grad: []float32{1, 1}}},
		"no name":     {{Value: []float32{1}, Grad: []float32{1}}},
	}
	for name, ps := range cases {
		if err := o.Step(ps); err == nil {
			t.Errorf("%s: Step succeeded", name)
		}
	}
	if o.StepCount() != 0 || good.Value[0] != 1 {
		t.Fatalf("failed Steps changed state: step %d, value %v", o.StepCount(), good.Value)
	}
	if err := o.Step([]*Param{good}); err != nil {
		t.Fatal(err)
	}
	// Same name, different length: the state no longer fits.
	if err := o.Step([]*Param{{Name: "w", Value: []float32{1, 2, 3}, Grad: []float32{1, 1, 1}}}); err == nil {
		t.Error("Step accepted a param whose length differs from its state")
	}
	// Frozen parameters are skipped.
	frozen := &Param{Name: "f", Value: []float32{5}, Group: 7}
	if err := o.Step([]*Param{good, frozen}); err != nil || frozen.Value[0] != 5 {
		t.Errorf("frozen param: err %v, value %v", err, frozen.Value)
	}
	if _, ok := o.State()["f.m"]; ok {
		t.Error("frozen param got optimiser state")
	}
}

func TestZeroGrad(t *testing.T) {
	ps := []*Param{
		{Name: "a", Value: []float32{1, 2}, Grad: []float32{3, 4}},
		{Name: "b", Value: []float32{1}},
	}
	ZeroGrad(ps)
	if ps[0].Grad[0] != 0 || ps[0].Grad[1] != 0 || ps[0].Value[1] != 2 {
		t.Errorf("ZeroGrad: %+v", ps[0])
	}
}

// quadGrads fills the gradient of Σ (θ − c)² + a step-dependent wobble,
// deterministic in (step, θ).
func quadGrads(ps []*Param, step int) {
	for _, p := range ps {
		for i := range p.Value {
			c := float64(i%5) - 2
			p.Grad[i] = float32(2*(float64(p.Value[i])-c) + 0.1*math.Sin(float64(step*7+i)))
		}
	}
}

func newQuadParams() []*Param {
	a := &Param{Name: "layer.weight", Value: make([]float32, 13), Grad: make([]float32, 13)}
	b := &Param{Name: "layer.bias", Value: make([]float32, 4), Grad: make([]float32, 4), Group: 1}
	for i := range a.Value {
		a.Value[i] = float32(math.Cos(float64(i)))
	}
	return []*Param{a, b}
}

// TestStateRoundTrip: 5 steps in one go equal 2 steps, a save and load into
// fresh optimiser and EMA, and 3 more steps, bit for bit.
func TestStateRoundTrip(t *testing.T) {
	groups := []Group{{LR: 0.05, WeightDecay: 0.01}, {LR: 0.02}}
	run := func(ps []*Param, o *AdamW, e *EMA, from, to int) {
		for s := from; s < to; s++ {
			ZeroGrad(ps)
			quadGrads(ps, s)
			ClipGradNorm(ps, 3)
			o.Groups[0].LR = CosineLR(s, 2, 5, 0.05, 0.001)
			if err := o.Step(ps); err != nil {
				t.Fatal(err)
			}
			if err := e.Update(ps); err != nil {
				t.Fatal(err)
			}
		}
	}

	ref := newQuadParams()
	o := NewAdamW(groups...)
	e, err := NewEMA(ref, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	e.Warmup = true
	run(ref, o, e, 0, 5)

	ps := newQuadParams()
	o1 := NewAdamW(groups...)
	e1, _ := NewEMA(ps, 0.9)
	e1.Warmup = true
	run(ps, o1, e1, 0, 2)
	optState, optStep := o1.State(), o1.StepCount()
	emaState, emaUpdates := e1.State(), e1.Updates()
	weights := map[string][]float32{}
	for _, p := range ps {
		weights[p.Name] = append([]float32(nil), p.Value...)
	}

	resumed := newQuadParams()
	for _, p := range resumed {
		copy(p.Value, weights[p.Name])
	}
	o2 := NewAdamW(groups...)
	if err := o2.Load(optState, optStep); err != nil {
		t.Fatal(err)
	}
	e2, _ := NewEMA(resumed, 0.9)
	e2.Warmup = true
	if err := e2.Load(emaState, emaUpdates); err != nil {
		t.Fatal(err)
	}
	run(resumed, o2, e2, 2, 5)

	if o2.StepCount() != 5 || e2.Updates() != 5 {
		t.Fatalf("counts: optimiser %d, EMA %d", o2.StepCount(), e2.Updates())
	}
	for k, p := range resumed {
		for i, v := range p.Value {
			if math.Float32bits(v) != math.Float32bits(ref[k].Value[i]) {
				t.Fatalf("%s[%d] = %v after resume, %v straight through", p.Name, i, v, ref[k].Value[i])
			}
		}
		for i, v := range e2.Shadow(p.Name) {
			if math.Float32bits(v) != math.Float32bits(e.Shadow(p.Name)[i]) {
				t.Fatalf("EMA %s[%d] differs after resume", p.Name, i)
			}
		}
	}
}

func TestAdamWLoadValidation(t *testing.T) {
	o := NewAdamW(Group{LR: 0.1})
	bad := []map[string][]float32{
		{"w.m": {1}},
		{"w.v": {1}},
		{"w.m": {1}, "w.v": {1, 2}},
		{"w": {1}},
	}
	for _, st := range bad {
		if err := o.Load(st, 3); err == nil {
			t.Errorf("Load(%v) succeeded", st)
		}
	}
	if err := o.Load(map[string][]float32{"w.m": {1}, "w.v": {1}}, -1); err == nil {
		t.Error("Load accepted a negative step")
	}
	if err := o.Load(map[string][]float32{"a.b.m": {1, 2}, "a.b.v": {1, 2}}, 3); err != nil {
		t.Fatal(err)
	}
	if err := o.Step([]*Param{{Name: "a.b", Value: []float32{1}, Grad: []float32{1}}}); err == nil {
		t.Error("Step accepted a param shorter than its loaded state")
	}
}

// TestQuadraticConverges minimises Σ (θ − c)² with AdamW under the cosine
// schedule.
func TestQuadraticConverges(t *testing.T) {
	p := &Param{Name: "x", Value: []float32{5, -3, 0.5, 10}, Grad: make([]float32, 4)}
	target := []float64{1, 2, -1, 0}
	o := NewAdamW(Group{LR: 0.2})
	for s := range 1500 {
		for i := range p.Value {
			p.Grad[i] = float32(2 * (float64(p.Value[i]) - target[i]))
		}
		o.Groups[0].LR = CosineLR(s, 50, 1500, 0.2, 0)
		if err := o.Step([]*Param{p}); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range p.Value {
		near(t, "x", float64(v), target[i], 1e-3)
	}
}

// TestAdamWVecMatchesGo: the update loop the build uses (vectorised C, or
// Go under purego) gives the Go loop's values bit for bit over steps with
// large, tiny and zero gradients and an odd length.
func TestAdamWVecMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 1003
	val, grad, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range val {
		val[i] = float32(r.NormFloat64())
	}
	val2, m2, v2 := append([]float32(nil), val...), make([]float32, n), make([]float32, n)
	for step := 1; step <= 5; step++ {
		for i := range grad {
			grad[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-6)))
			if i%17 == 0 {
				grad[i] = 0
			}
		}
		bc1 := 1 - math.Pow(0.9, float64(step))
		sqrtBC2 := math.Sqrt(1 - math.Pow(0.999, float64(step)))
		adamwUpdate(val, grad, m, v, 0.9, 0.999, 1-1e-3*0.01, 1e-3/bc1, sqrtBC2, 1e-8)
		adamwUpdateGo(val2, grad, m2, v2, 0.9, 0.999, 1-1e-3*0.01, 1e-3/bc1, sqrtBC2, 1e-8)
		for i := range val {
			if math.Float32bits(val[i]) != math.Float32bits(val2[i]) || m[i] != m2[i] || v[i] != v2[i] {
				t.Fatalf("step %d, element %d: %v %v %v, Go gives %v %v %v", step, i, val[i], m[i], v[i], val2[i], m2[i], v2[i])
			}
		}
	}
	if val[1] == val2[1] && val[1] == float32(0) {
		t.Fatal("nothing moved")
	}
}

// BenchmarkAdamWUpdate: the update loop the build uses against the Go
// loop, 4M weights.
func BenchmarkAdamWUpdate(b *testing.B) {
	const n = 1 << 22
	val, grad, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range grad {
		grad[i] = float32(i%13) * 1e-3
	}
	for _, k := range []struct {
		name string
		f    func(val, grad, m, v []float32, b1, b2, decay, stepSize, sqrtBC2, eps float64)
	}{{"build", adamwUpdate}, {"go", adamwUpdateGo}} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(n * 28)
			for b.Loop() {
				k.f(val, grad, m, v, 0.9, 0.999, 1, 1e-3, 1, 1e-8)
			}
		})
	}
}
