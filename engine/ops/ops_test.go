package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

func TestLinearForwardByHand(t *testing.T) {
	b := NewBuilder(tensor.Float32)
	x := b.Input("x", 2, 2)
	copy(b.InputValue("x").Data().([]float32), []float32{1, 2, 3, 4})
	w := b.Param("w", tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 0, 1, 0, 1, 1})), false)
	bias := b.Param("b", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{10, 20, 30})), false)
	y := b.Linear(x, w, bias)
	p, err := b.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	want := []float32{11, 22, 33, 13, 24, 37}
	got := Value(y).Data().([]float32)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestGradLinearAddBroadcastReshape(t *testing.T) {
	gradCheck(t, 1, func(b *Builder, r *rand.Rand) *Node {
		x := b.Param("x", randParam(r, 1, 2, 3, 4), true)
		w := b.Param("w", randParam(r, 1, 4, 5), true)
		bias := b.Param("bias", randParam(r, 1, 5), true)
		v := b.Param("v", randParam(r, 1, 2, 5), true)
		y := b.AddBroadcast(b.Linear(x, w, bias), v)
		return b.Scale(b.Reshape(y, 6, 5), 0.5)
	})
}

func TestGradAddPositional(t *testing.T) {
	gradCheck(t, 11, func(b *Builder, r *rand.Rand) *Node {
		x := b.Param("x", randParam(r, 1, 3, 2, 2, 4), true)
		p := b.Param("p", randParam(r, 1, 2, 2, 4), true)
		w := b.Param("w", randParam(r, 1, 4, 4), true)
		return b.Linear(b.AddPositional(x, p), w, nil)
	})
}

// TestAddPositionalValues: every sample gets the same p added.
func TestAddPositionalValues(t *testing.T) {
	b := NewBuilder(tensor.Float64)
	x := b.Input("x", 2, 3)
	copy(b.InputValue("x").Data().([]float64), []float64{1, 2, 3, 10, 20, 30})
	p := b.Param("p", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{0.5, -1, 2})), false)
	y := b.AddPositional(x, p)
	prog, err := b.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	got := Value(y).Data().([]float64)
	want := []float64{1.5, 1, 5, 10.5, 19, 32}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestGradResidualThroughReshape is the pattern that Gorgonia's own
// Reshape (a view) and in-place Add get wrong: x + reshape(f(reshape(x))),
// with a weight used twice so gradients are summed.
func TestGradResidualThroughReshape(t *testing.T) {
	gradCheck(t, 2, func(b *Builder, r *rand.Rand) *Node {
		x := b.Param("x", randParam(r, 1, 2, 2, 2, 3), true)
		w := b.Param("w", randParam(r, 1, 3, 3), true)
		flat := b.Reshape(x, 8, 3)
		h := b.Linear(b.Linear(flat, w, nil), w, nil) // w used twice
		return b.Add(x, b.Reshape(h, 2, 2, 2, 3))
	})
}

func TestGradWeightedMSE(t *testing.T) {
	gradCheck(t, 3, func(b *Builder, r *rand.Rand) *Node {
		p := b.Param("p", randParam(r, 1, 3, 4), true)
		q := b.Param("q", randParam(r, 1, 3, 4), true)
		w := b.Param("w", randParam(r, 1, 3), true)
		return b.WeightedMSE(p, q, w)
	})
}

func TestWeightedMSEValue(t *testing.T) {
	b := NewBuilder(tensor.Float64)
	p := b.Param("p", tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, 2, 3, 4})), true)
	q := b.Param("q", tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, 0, 0, 0})), false)
	w := b.Param("w", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1, 0.5})), false)
	loss := b.WeightedMSE(p, q, w)
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	// sample 0: (0² + 2²)/2 = 2, weight 1; sample 1: (9 + 16)/2 = 12.5, weight 0.5 → (2 + 6.25)/2
	if got := ScalarValue(loss); math.Abs(got-4.125) > 1e-12 {
		t.Fatalf("loss %v, want 4.125", got)
	}
	g := prog.Grad(b.Params()[0]).Data().([]float64)
	want := []float64{0, 2 * 2 / 4.0, 0.5 * 2 * 3 / 4, 0.5 * 2 * 4 / 4}
	for i := range want {
		if math.Abs(g[i]-want[i]) > 1e-12 {
			t.Fatalf("grad %v, want %v", g, want)
		}
	}
}

func TestFrozenParamsGetNoGradient(t *testing.T) {
	b := NewBuilder(tensor.Float64)
	r := rand.New(rand.NewPCG(1, 1))
	x := b.Input("x", 2, 3)
	w1 := b.Param("w1", randParam(r, 1, 3, 3), false)
	w2 := b.Param("w2", randParam(r, 1, 3, 3), true)
	y := b.Linear(b.Linear(x, w1, nil), w2, nil)
	if b.NeedsGrad(x) || !b.NeedsGrad(y) {
		t.Fatal("gradient tracking wrong")
	}
	rn := b.Input("r", 2, 3)
	p, err := b.Compile(b.Dot(y, rn))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	if p.Grad(b.Params()[0]) != nil || p.Grad(b.Params()[1]) == nil {
		t.Fatal("only the learnable weight should have a gradient")
	}
}

// TestGradRankOneEdits checks the Perfusion edit's gradients with respect
// to the input encodings, the projection and each concept's target.
func TestGradRankOneEdits(t *testing.T) {
	gradCheck(t, 11, func(b *Builder, r *rand.Rand) *Node {
		x := b.Param("x", randParam(r, 1, 2, 3, 4), true)
		w := b.Param("w", randParam(r, 1, 4, 5), true)
		var edits []*RankOneEdit
		var targets []*Node
		for c := 0; c < 2; c++ {
			e := &RankOneEdit{U: make([]float64, 4), IW: make([]float64, 5), Beta: 0.3 + 0.2*float64(c), Tau: 0.5}
			for i := range e.U {
				e.U[i] = r.Float64() - 0.5
			}
			for i := range e.IW {
				e.IW[i] = r.Float64() - 0.5
			}
			edits = append(edits, e)
			targets = append(targets, b.Param("o"+string(rune('0'+c)), randParam(r, 1, 5), true))
		}
		return b.RankOneEdits(x, w, edits, targets)
	})
}

// TestRankOneEditValues checks Perfusion's two defining cases: a token
// C⁻¹-orthogonal to i* gets W·e + σ(−β/τ)·o*, and e = i* gets
// σ((1−β)/τ)·o* (its own W·i* is removed).
func TestRankOneEditValues(t *testing.T) {
	// C = I, i* = (1,0): u = i*/(i*ᵀi*) = (1,0).
	b := NewBuilder(tensor.Float64)
	x := b.Input("x", 1, 2, 2)
	copy(b.InputValue("x").Data().([]float64), []float64{0, 1, 1, 0}) // e⊥ = (0,1), e = i* = (1,0)
	W := []float64{2, 3, 5, 7}                                        // rows: input dims
	w := b.Param("w", tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(W)), false)
	o := b.Param("o", tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{10, 20})), false)
	edit := &RankOneEdit{U: []float64{1, 0}, IW: []float64{2, 3}, Beta: 0.7, Tau: 0.15}
	y := b.RankOneEdits(x, w, []*RankOneEdit{edit}, []*Node{o})
	p, err := b.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	got := Value(y).Data().([]float64)
	gOff := 1 / (1 + math.Exp(0.7/0.15))
	gOn := 1 / (1 + math.Exp(-(1-0.7)/0.15))
	want := []float64{5 + gOff*10, 7 + gOff*20, gOn * 10, gOn * 20}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestGradAttentionBiasedWithPlaceBias: image queries attending to padded
// text keys with a per-token place bias spread from a 2×2 grid to 4×4;
// every input's gradient, the maps' included, matches finite differences.
func TestGradAttentionBiasedWithPlaceBias(t *testing.T) {
	mask := &KeyLengths{L: []int{3, 2}}
	gradCheck(t, 12, func(b *Builder, r *rand.Rand) *Node {
		q := b.Param("q", randParam(r, 1, 2, 4, 4, 6), true)
		k := b.Param("k", randParam(r, 1, 2, 3, 6), true)
		v := b.Param("v", randParam(r, 1, 2, 3, 6), true)
		maps := b.Param("maps", randParam(r, 2, 2, 3, 4), true)
		return b.AttentionBiased(q, k, v, b.PlaceBias(maps, 4, 4), 2, false, mask)
	})
}

// TestPlaceBiasValues: place (y, x) of a 4×4 map takes cell (y/2, x/2) of
// its token's 2×2 map, laid out [B, H·W, L].
func TestPlaceBiasValues(t *testing.T) {
	b := NewBuilder(tensor.Float64)
	maps := make([]float64, 1*2*4)
	for i := range maps {
		maps[i] = float64(i) // token 0: 0 1 2 3, token 1: 4 5 6 7
	}
	m := b.Param("maps", tensor.New(tensor.WithShape(1, 2, 4), tensor.WithBacking(maps)), false)
	out := b.PlaceBias(m, 4, 4)
	prog, err := b.Compile(nil, out)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	got := out.Value().Data().([]float64)
	for p := 0; p < 16; p++ {
		y, x := p/4, p%4
		cell := (y/2)*2 + x/2
		if got[p*2] != float64(cell) || got[p*2+1] != float64(4+cell) {
			t.Fatalf("place (%d,%d): %v, %v; want %d, %d", y, x, got[p*2], got[p*2+1], cell, 4+cell)
		}
	}
}

func TestGradWeightedBCE(t *testing.T) {
	gradCheck(t, 5, func(b *Builder, r *rand.Rand) *Node {
		x := b.Param("x", randParam(r, 4, 2, 3, 4), true)
		tv := randParam(r, 1, 2, 3, 4)
		for i, v := range tv.Data().([]float64) {
			tv.Data().([]float64)[i] = (v + 1) / 2 // targets in [0, 1]
		}
		q := b.Param("t", tv, false)
		w := b.Param("w", randParam(r, 1, 2, 3, 4), false)
		return b.WeightedBCE(x, q, w)
	})
}

func TestWeightedBCEValue(t *testing.T) {
	b := NewBuilder(tensor.Float64)
	x := b.Param("x", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{0, 800, -800})), true)
	q := b.Param("t", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 1, 1})), false)
	w := b.Param("w", tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 1, 0.5})), false)
	loss := b.WeightedBCE(x, q, w)
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	// log 2 for a logit of 0; nothing for a sure right answer; a sure wrong
	// one costs its logit (800, weight 0.5), without overflowing.
	if got, want := ScalarValue(loss), (math.Log(2)+0+0.5*800)/3; math.Abs(got-want) > 1e-9 {
		t.Fatalf("loss %v, want %v", got, want)
	}
	g := prog.Grad(b.Params()[0]).Data().([]float64)
	want := []float64{-0.5 / 3, 0, -0.5 / 3}
	for i := range want {
		if math.Abs(g[i]-want[i]) > 1e-12 {
			t.Fatalf("grad %v, want %v", g, want)
		}
	}
}
