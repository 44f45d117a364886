package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
)

// tinyInputs fills a tiny net's inputs from a seed.
func tinyInputs(t *testing.T, n *Net, seed uint64) {
	t.Helper()
	c := n.Cfg
	r := rand.New(rand.NewPCG(seed, 3))
	B := n.Batch
	per := c.ImageSize * c.ImageSize * c.InChannels
	x, target := make([]float32, B*per), make([]float32, B*per)
	for i := range x {
		x[i], target[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	ts := make([]float64, B)
	ids := make([]int, B*c.MaxLen)
	lengths := make([]int, B)
	for i := range ts {
		ts[i] = float64(r.IntN(1000))
		lengths[i] = 2 + i%(c.MaxLen-1)
		for j := 0; j < lengths[i]; j++ {
			ids[i*c.MaxLen+j] = 1 + r.IntN(c.Vocab-1)
		}
	}
	w := make([]float32, B)
	for i := range w {
		w[i] = 0.5 + float32(i)
	}
	if err := n.Set(x, ts, ids, lengths, target, w); err != nil {
		t.Fatal(err)
	}
}

// randomize gives every weight (zero-initialised ones too) a random value,
// so gradients flow everywhere in a check.
func randomize(w *nn.Weights, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 9))
	for _, name := range w.Names() {
		t, _ := w.Lookup(name)
		d := t.Data().([]float64)
		for i := range d {
			d[i] = (r.Float64()*2 - 1) * 0.5
		}
	}
}

// TestGradWholeTinyUNet checks, by central finite differences in float64,
// the gradient of the training loss of the whole tiny text encoder + UNet
// (skip connections, attention with padded text, shared time embedding)
// for sampled elements of every weight.
func TestGradWholeTinyUNet(t *testing.T) {
	for _, unshuffle := range []bool{false, true} {
		c := Tiny()
		c.Unshuffle = unshuffle
		c.PosEmb = unshuffle // the position embeddings and the text layout path are checked in the second pass
		c.TextLayout = unshuffle
		c.TextPlaces = unshuffle
		c.TextPooled = unshuffle
		c.Frames = unshuffle
		c.SelfCond = unshuffle
		c.Refs = unshuffle
		if unshuffle {
			c.FrameParts = 3
		}
		w := nn.NewWeights(tensor.Float64, 1)
		opt := NetOptions{Batch: 2, Train: true}
		if unshuffle {
			opt.Align, opt.AlignScale = 3, 0.2 // the representation alignment's MLP; a small share keeps the loss at the size these differences are judged at
		}
		n, err := Build(w, c, opt)
		if err != nil {
			t.Fatal(err)
		}
		randomize(w, 2)
		tinyInputs(t, n, 4)
		if unshuffle {
			g := c.GuideGrid()
			feats := make([]float32, 2*g*g*3)
			for i := range feats {
				feats[i] = float32(math.Sin(float64(i)))
			}
			if err := n.SetAlign(feats); err != nil {
				t.Fatal(err)
			}
			if err := n.SetFrames([][FrameSlots]Frame{{{CX: 0.4, CY: 0.5, Extent: 0.6, Tokens: 0b110}}, {{CX: 0.3, CY: 0.3, Extent: 0.5, Tokens: 0b10}, {CX: 0.7, CY: 0.6, Extent: 0.4, Tokens: 0b1000}}}); err != nil {
				t.Fatal(err)
			}
			est := make([]float32, 2*c.ImageSize*c.ImageSize*c.InChannels)
			for i := range est {
				est[i] = float32(math.Cos(0.7 * float64(i)))
			}
			if err := n.SetSelfCond(est); err != nil {
				t.Fatal(err)
			}
			refs := make([]float32, 2*c.ImageSize*c.ImageSize*RefPixelChannels)
			for i := range refs {
				refs[i] = float32(math.Sin(1.3*float64(i) + 0.2))
			}
			if err := n.SetRefs(refs); err != nil {
				t.Fatal(err)
			}
		}
		loss := func() float64 {
			if err := n.Run(); err != nil {
				t.Fatal(err)
			}
			return n.Loss()
		}
		loss()
		grads := map[string][]float64{}
		for _, p := range n.Params() {
			g := n.Grad(p)
			if g == nil {
				t.Fatalf("no gradient for %s", p.Name)
			}
			grads[p.Name] = append([]float64(nil), g.Data().([]float64)...)
		}
		r := rand.New(rand.NewPCG(5, 5))
		worst := 0.0
		checked := 0
		for _, p := range n.Params() {
			x := p.Value.Data().([]float64)
			for k := 0; k < 3; k++ {
				i := r.IntN(len(x))
				old := x[i]
				const h = 1e-6
				x[i] = old + h
				lp := loss()
				x[i] = old - h
				lm := loss()
				x[i] = old
				num := (lp - lm) / (2 * h)
				an := grads[p.Name][i]
				// Central differences in float64 carry ~1e-10 absolute noise
				// (eps·loss/h), so tiny gradients are judged absolutely.
				diff := math.Abs(num - an)
				rel := diff / (math.Abs(num) + math.Abs(an) + 1e-300)
				if math.Abs(an) > 1e-5 {
					worst = math.Max(worst, rel)
				}
				checked++
				if diff > 1e-8 && rel > 1e-5 {
					t.Errorf("unshuffle=%v %s[%d]: analytic %.9g numeric %.9g", unshuffle, p.Name, i, an, num)
				}
			}
		}
		t.Logf("unshuffle=%v: %d weights, %d elements checked, worst relative error %.2g", unshuffle, len(n.Params()), checked, worst)
		n.Close()
	}
}

func TestSpaceToDepthRoundTrip(t *testing.T) {
	src := make([]float32, 2*4*4*3)
	for i := range src {
		src[i] = float32(i)
	}
	mid, back := make([]float32, len(src)), make([]float32, len(src))
	SpaceToDepth(2, 4, 3, src, mid)
	DepthToSpace(2, 4, 3, mid, back)
	for i := range src {
		if back[i] != src[i] {
			t.Fatalf("round trip differs at %d", i)
		}
	}
	// Pixel (0,1) of image 0 goes to block (0,0), slot dx=1: channels 3..5.
	if mid[3] != src[3] || mid[6] != src[4*3] {
		t.Fatalf("layout: mid[3]=%v want %v, mid[6]=%v want %v", mid[3], src[3], mid[6], src[12])
	}
}

func TestFrozenUNetTrainsOnlyTheEmbedding(t *testing.T) {
	w := nn.NewWeights(tensor.Float64, 1)
	n, err := Build(w, Tiny(), NetOptions{Batch: 1, Train: true, Frozen: nn.FreezeAllBut("text.tok.emb")})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	tinyInputs(t, n, 1)
	if err := n.Run(); err != nil {
		t.Fatal(err)
	}
	var learn []*ops.Param
	for _, p := range n.Params() {
		if p.Learnable {
			learn = append(learn, p)
		}
	}
	if len(learn) != 1 || learn[0].Name != "text.tok.emb" || n.Grad(learn[0]) == nil {
		t.Fatalf("learnable: %v", learn)
	}
}

func TestSameSeedSameWeightsAndOutput(t *testing.T) {
	out := func() []float32 {
		w := nn.NewWeights(tensor.Float32, 7)
		n, err := Build(w, Tiny(), NetOptions{Batch: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		tinyInputsNoTarget(t, n)
		if err := n.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), n.Encoding()...)
	}
	a, b := out(), out()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("outputs differ at %d", i)
		}
	}
}

func tinyInputsNoTarget(t *testing.T, n *Net) {
	c := n.Cfg
	per := c.ImageSize * c.ImageSize * c.InChannels
	x := make([]float32, n.Batch*per)
	for i := range x {
		x[i] = float32(i%7) * 0.1
	}
	ids := make([]int, n.Batch*c.MaxLen)
	for i := range ids {
		ids[i] = i % c.Vocab
	}
	lengths := []int{c.MaxLen, 2}
	if err := n.Set(x, []float64{10, 500}, ids, lengths, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestAlignmentDrawsTheSame: the representation alignment (NetOptions.Align)
// adds to the loss only. With the same weights the net's output is the
// same as without it, and while its MLP's last layer is at zero (as it
// starts) and the features are zero, the loss is the plain loss's share
// of the joined values; features of unit length then add AlignScale² per
// place to the summed error.
func TestAlignmentDrawsTheSame(t *testing.T) {
	c := Tiny()
	c.Unshuffle = true
	w := nn.NewWeights(tensor.Float64, 1)
	plain, err := Build(w, c, NetOptions{Batch: 2, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	randomize(w, 2) // before the alignment's weights exist: its last layer stays at zero
	const D, scale = 5, 1.5
	aligned, err := Build(w, c, NetOptions{Batch: 2, Train: true, Align: D, AlignScale: scale})
	if err != nil {
		t.Fatal(err)
	}
	defer aligned.Close()
	tinyInputs(t, plain, 4)
	tinyInputs(t, aligned, 4)
	g := c.GuideGrid()
	feats := make([]float32, 2*g*g*D)
	if err := aligned.SetAlign(feats); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Net{plain, aligned} {
		if err := n.Run(); err != nil {
			t.Fatal(err)
		}
	}
	a, b := plain.Output(), aligned.Output()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("output %d: %v without the alignment, %v with it", i, a[i], b[i])
		}
	}
	n1 := c.ImageSize * c.ImageSize * c.InChannels
	n2 := g * g * D
	share := float64(n1) / float64(n1+n2)
	if got, want := aligned.Loss(), plain.Loss()*share; math.Abs(got-want) > 1e-6*want {
		t.Fatalf("loss with zero features %v, want the plain loss's share %v", got, want)
	}
	// Unit features at every place: each place adds scale² to the summed
	// error (the MLP predicts zero), weighted as tinyInputs weighs samples.
	for p := 0; p < 2*g*g; p++ {
		feats[p*D] = 1
	}
	if err := aligned.SetAlign(feats); err != nil {
		t.Fatal(err)
	}
	if err := aligned.Run(); err != nil {
		t.Fatal(err)
	}
	wsum := 0.5 + 1.5 // tinyInputs' sample weights 0.5 and 1.5
	extra := scale * scale * float64(g*g) * wsum / 2 / float64(n1+n2)
	if got, want := aligned.Loss(), plain.Loss()*share+extra; math.Abs(got-want) > 1e-5*want {
		t.Fatalf("loss with unit features %v, want %v", got, want)
	}
	if err := plain.SetAlign(feats); err == nil {
		t.Fatal("SetAlign on a net built without alignment: no error")
	}
}
