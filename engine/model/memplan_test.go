package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/nn"
)

// TestSharedMemoryGivesIdenticalResults runs the tiny model (training and
// sampling nets, with and without unshuffle) with buffers shared by the
// memory plan and with a buffer per op, twice each so that the second run
// starts from whatever the first left in the slabs, and expects the same
// bits: output, loss, encoding and every gradient. The plan's own checker
// (CONCEPTSTUDIO_MEMCHECK) also verifies that no op reads a buffer after
// another buffer on its slab was written.
func TestSharedMemoryGivesIdenticalResults(t *testing.T) {
	t.Setenv("CONCEPTSTUDIO_MEMCHECK", "1")
	for _, unshuffle := range []bool{false, true} {
		for _, train := range []bool{true, false} {
			c := Tiny()
			c.Unshuffle = unshuffle
			w := nn.NewWeights(tensor.Float32, 1)
			build := func(unshared bool) *Net {
				n, err := Build(w, c, NetOptions{Batch: 2, Train: train, Unshared: unshared})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			shared, plain := build(false), build(true)
			defer shared.Close()
			defer plain.Close()
			randomize32(w, 3)
			for run := 0; run < 2; run++ {
				for _, n := range []*Net{shared, plain} {
					if train {
						tinyInputs(t, n, uint64(4+run))
					} else {
						tinyInputsNoTarget(t, n)
					}
					if err := n.Run(); err != nil {
						t.Fatal(err)
					}
				}
				same := func(what string, a, b []float32) {
					t.Helper()
					if len(a) != len(b) {
						t.Fatalf("unshuffle=%v train=%v run %d: %s has %d vs %d values", unshuffle, train, run, what, len(a), len(b))
					}
					for i := range a {
						if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
							t.Fatalf("unshuffle=%v train=%v run %d: %s[%d] shared %v, unshared %v", unshuffle, train, run, what, i, a[i], b[i])
						}
					}
				}
				same("output", shared.Output(), plain.Output())
				same("encoding", shared.Encoding(), plain.Encoding())
				if !train {
					continue
				}
				if shared.Loss() != plain.Loss() {
					t.Fatalf("loss shared %v, unshared %v", shared.Loss(), plain.Loss())
				}
				ps, pp := shared.Params(), plain.Params()
				for i := range ps {
					gs, gp := shared.Grad(ps[i]), plain.Grad(pp[i])
					if (gs == nil) != (gp == nil) {
						t.Fatalf("%s: gradient present shared %v, unshared %v", ps[i].Name, gs != nil, gp != nil)
					}
					if gs != nil {
						same("grad "+ps[i].Name, gs.Data().([]float32), gp.Data().([]float32))
					}
				}
			}
			m := shared.Memory()
			t.Logf("unshuffle=%v train=%v: %v", unshuffle, train, m)
			if m.Slabs >= m.Buffers || m.PlannedByte >= m.NaiveByte*3/4 {
				t.Errorf("unshuffle=%v train=%v: the plan shares too little: %v", unshuffle, train, m)
			}
		}
	}
}

func randomize32(w *nn.Weights, seed uint64) {
	for _, name := range w.Names() {
		t, _ := w.Lookup(name)
		d := t.Data().([]float32)
		for i := range d {
			// a deterministic spread in [-0.5, 0.5)
			d[i] = float32((float64((uint64(i)*2654435761+seed*97)%1000) / 1000) - 0.5)
		}
	}
}

// TestCrossAttentionMapsSumToOne: every layer's attention at a pixel sums
// to 1 over token positions, so after averaging layers and heads and
// resizing, the maps of one image sum to 1 at every pixel; padding tokens
// (masked keys) get nothing.
func TestCrossAttentionMapsSumToOne(t *testing.T) {
	c := Tiny()
	w := nn.NewWeights(tensor.Float32, 1)
	n, err := Build(w, c, NetOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	randomize32(w, 5)
	tinyInputsNoTarget(t, n) // row 1 has 2 tokens, row 0 all MaxLen
	if err := n.Run(); err != nil {
		t.Fatal(err)
	}
	if len(n.g.CrossAttn) < 2 {
		t.Fatalf("%d cross-attention sites, want one per resolution with cross-attention", len(n.g.CrossAttn))
	}
	const size = 20
	dst := make([][]float32, c.MaxLen)
	for j := range dst {
		dst[j] = make([]float32, size*size)
	}
	n.AddCrossAttention(1, size, dst)
	for p := 0; p < size*size; p++ {
		var sum float32
		for j := range dst {
			sum += dst[j][p]
		}
		if math.Abs(float64(sum)-1) > 1e-4 {
			t.Fatalf("pixel %d: attention sums to %v over tokens, want 1", p, sum)
		}
	}
	for j := 2; j < c.MaxLen; j++ {
		for _, v := range dst[j] {
			if v != 0 {
				t.Fatalf("padding token %d got attention %v", j, v)
			}
		}
	}
}

// TestResizeAddBilinear: a constant map stays constant, and a map that is
// 1 only at the top-left cell is largest at the top-left pixel and zero
// far from it.
func TestResizeAddBilinear(t *testing.T) {
	const h, w, size = 4, 4, 16
	flat := make([]float32, h*w)
	for i := range flat {
		flat[i] = 0.25
	}
	dst := make([]float32, size*size)
	resizeAdd(flat, 0, 1, h, w, size, dst)
	for i, v := range dst {
		if math.Abs(float64(v)-0.25) > 1e-6 {
			t.Fatalf("constant map: pixel %d = %v", i, v)
		}
	}
	corner := make([]float32, h*w)
	corner[0] = 1
	dst = make([]float32, size*size)
	resizeAdd(corner, 0, 1, h, w, size, dst)
	if dst[0] != 1 || dst[size*size-1] != 0 || dst[size/2*size+size/2] != 0 {
		t.Fatalf("corner map: top-left %v, bottom-right %v, centre %v", dst[0], dst[size*size-1], dst[size/2*size+size/2])
	}
}

// gain builds the tiny net, randomizes its weights, then builds it again
// with the config change add (new weights at their initial values, as a
// resumed run gains them) and returns both outputs on the same inputs, the
// number of weights added and the second net (open) with its weights.
func gain(t *testing.T, add func(*Config)) (plain, gained []float32, added int, n *Net, w *nn.Weights) {
	t.Helper()
	return gainFrom(t, func(*Config) {}, add)
}

// gainFrom is gain from the tiny config changed by base.
func gainFrom(t *testing.T, base, add func(*Config)) (plain, gained []float32, added int, n *Net, w *nn.Weights) {
	t.Helper()
	c := Tiny()
	base(&c)
	w = nn.NewWeights(tensor.Float32, 1)
	p, err := Build(w, c, NetOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	randomize32(w, 8)
	before := len(w.Names())
	add(&c)
	if n, err = Build(w, c, NetOptions{Batch: 2}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return runTiny(t, p), runTiny(t, n), len(w.Names()) - before, n, w
}

func runTiny(t *testing.T, n *Net) []float32 {
	t.Helper()
	tinyInputsNoTarget(t, n)
	if err := n.Run(); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), n.Output()...)
}

func sameBits(t *testing.T, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("output %d: %v without, %v with %s", i, a[i], b[i], what)
		}
	}
}

// TestZeroPositionEmbeddingChangesNothing: a model given (zero) position
// embeddings computes exactly what it computed without them, so a trained
// model can gain them and go on training; the net has one per spatial
// transformer.
func TestZeroPositionEmbeddingChangesNothing(t *testing.T) {
	a, b, added, n, _ := gain(t, func(c *Config) { c.PosEmb = true })
	if added != len(n.g.CrossAttn) {
		t.Fatalf("%d position embeddings for %d spatial transformers", added, len(n.g.CrossAttn))
	}
	sameBits(t, "zero position embeddings", a, b)
}

// TestGainedPathsChangeNothing: a trained model given the text layout
// path (zero word maps and query; the projection random) or the pooled
// prompt in its time embedding (the MLP's last layer and the pooling
// query at zero), as a run gains them, computes exactly what it computed
// before, the added weights are the gainable ones, and once the path's
// zero weight is set the prompt moves the output through it.
func TestGainedPathsChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		what, scope, weight string
		added               int // weights the path adds (0: not checked)
		add                 func(*Config)
	}{
		{"the layout path", TextLayoutScope, "words", 0, func(c *Config) { c.TextLayout = true }},
		// the query, and two layers' weights and biases
		{"the pooled prompt", TextPooledScope, "fc2.w", 5, func(c *Config) { c.TextPooled = true }},
		// a convolution's weight and bias; the bias shows it is connected
		// (frames themselves: TestFramesPlaceTheOutput)
		{"the frames", FramesScope, "b", 2, func(c *Config) { c.Frames = true }},
		// the same for self-conditioning (the estimate itself:
		// TestSelfCondReachesTheOutput)
		{"self-conditioning", SelfCondScope, "b", 2, func(c *Config) { c.SelfCond = true }},
		// and for reference pictures (TestRefsReachTheOutput)
		{"reference pictures", RefsScope, "b", 2, func(c *Config) { c.Refs = true }},
	} {
		t.Run(tc.what, func(t *testing.T) {
			a, b, added, n, w := gain(t, tc.add)
			if tc.added > 0 && added != tc.added {
				t.Errorf("gained %d weights, want %d", added, tc.added)
			}
			for _, name := range w.Names() {
				want := strings.HasPrefix(name, tc.scope+".")
				if n.Cfg.Gainable(name) != want {
					t.Errorf("Gainable(%s) = %v", name, !want)
				}
			}
			sameBits(t, tc.what, a, b)
			zero, ok := w.Lookup(tc.scope + "." + tc.weight)
			if !ok {
				t.Fatalf("no weight %s.%s", tc.scope, tc.weight)
			}
			for i, d := 0, zero.Data().([]float32); i < len(d); i++ {
				d[i] = float32(i%5-2) * 0.3
			}
			if slices.Equal(a, runTiny(t, n)) {
				t.Errorf("setting %s.%s leaves the output unchanged: %s is not connected", tc.scope, tc.weight, tc.what)
			}
		})
	}
}

// TestGainedTextLayoutAdditionsChangeNothing: a model with the text layout
// path given the attention place bias (TextPlaces, its second layer zero) computes exactly what it computed before;
// once that layer is non-zero the output moves.
func TestGainedTextLayoutAdditionsChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		scope string
		add   func(c *Config)
	}{
		{"places", func(c *Config) { c.TextPlaces = true }},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			layout := func(c *Config) { c.TextLayout = true }
			a, b, added, n, w := gainFrom(t, layout, tc.add)
			if added != 4 {
				t.Errorf("%d weights added, want 4 (two layers' weights and biases)", added)
			}
			for _, name := range w.Names() {
				if strings.Contains(name, "."+tc.scope+".") && !n.Cfg.Gainable(name) {
					t.Errorf("%s is not gainable", name)
				}
			}
			sameBits(t, "the gained "+tc.scope, a, b)
			fc2, ok := w.Lookup(TextLayoutScope + "." + tc.scope + ".fc2.w")
			if !ok {
				t.Fatal("no second layer")
			}
			for i, d := 0, fc2.Data().([]float32); i < len(d); i++ {
				d[i] = float32(i%5-2) * 0.05
			}
			if slices.Equal(a, runTiny(t, n)) {
				t.Error("a non-zero second layer leaves the output unchanged: the path is not connected")
			}
		})
	}
}
