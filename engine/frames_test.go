package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"conceptstudio/engine/diffusion"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// TestPlanFrames: the frames planned from a prompt keep what its words
// say — a position, a size, a relation between two things, the boxes of
// the canvas — and draw the rest as the world does; a prompt that names
// nothing gets none, and the same rng gives the same frames.
func TestPlanFrames(t *testing.T) {
	plan := func(prompt string, seed uint64, regions ...region.Region) [model.FrameSlots]model.Frame {
		return planFrames(dataset.Words(prompt), regions, rand.New(rand.NewPCG(seed, 1)))
	}
	for seed := uint64(0); seed < 20; seed++ {
		f := plan("a big dog on the left, on a blue background", seed)
		if f[0].CX > 0.4 || f[0].Extent < 0.42 || f[1].Extent != 0 {
			t.Fatalf("a big dog on the left: %+v", f)
		}
		f = plan("in the bottom right corner, a small cat", seed)
		if f[0].CX < 0.6 || f[0].CY < 0.6 || f[0].Extent > 0.41 {
			t.Fatalf("a small cat in the bottom right corner: %+v", f)
		}
		f = plan("a cat on the right of a big teapot", seed)
		if f[0].CX <= f[1].CX || f[1].Extent < 0.42 || f[0].Extent == 0 {
			t.Fatalf("a cat on the right of a big teapot: %+v", f)
		}
		f = plan("a cat above a teapot on a striped green background", seed)
		if f[0].CY >= f[1].CY {
			t.Fatalf("a cat above a teapot: %+v", f)
		}
	}
	if plan("a dog", 3) != plan("a dog", 3) {
		t.Error("the same rng planned different frames")
	}
	if plan("a dog", 3) == plan("a dog", 4) && plan("a dog", 5) == plan("a dog", 6) {
		t.Error("an unstated place is always the same")
	}
	if f := plan("a cat on the right of a big teapot", 1); f[0].Tokens != 1<<2 || f[1].Tokens != 1<<9 {
		t.Errorf("a cat on the right of a big teapot: words %b and %b, want %b and %b", f[0].Tokens, f[1].Tokens, 1<<2, 1<<9)
	}
	if f := plan("on a green background, a teddy* in the middle", 1); f[0].Tokens != 1<<6 {
		t.Errorf("a teddy* in the middle: words %b, want %b", f[0].Tokens, 1<<6)
	}
	if f := plan("on a blue background", 1); f != ([model.FrameSlots]model.Frame{}) {
		t.Errorf("a prompt naming nothing got frames %+v", f)
	}
	f := plan("a teapot next to a cat", 1, region.Region{Name: "cat", X: 0.1, Y: 0.2, W: 0.3, H: 0.4}, region.Region{Name: "teapot", X: 0.5, Y: 0.5, W: 0.5, H: 0.2})
	// Each frame 0.85 of its box's shorter side: the thing fits its box.
	want := [model.FrameSlots]model.Frame{{CX: 0.75, CY: 0.6, Extent: 0.85 * 0.2}, {CX: 0.25, CY: 0.4, Extent: 0.85 * 0.3}}
	for i := range f {
		if d := f[i].CX - want[i].CX + f[i].CY - want[i].CY + f[i].Extent - want[i].Extent; d*d > 1e-18 {
			t.Errorf("boxes: slot %d is %+v, want %+v (the prompt's order)", i, f[i], want[i])
		}
	}
}

// TestConceptsOnAFramesBase: on a frames base a concept trains on the
// frames of its scenes (all but a share dropFrames of them), and
// generates with frames planned from the prompt or from boxes, which
// change the picture; the same seed gives the same image.
func TestConceptsOnAFramesBase(t *testing.T) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
	c := model.Tiny()
	c.ImageSize, c.Unshuffle, c.Channels, c.Frames = 16, true, []int{8, 16}, true
	c.Vocab, c.MaxLen = len(tok.Vocab()), dataset.MaxCaptionTokens
	b, err := NewBase(c, tok, diffusion.VPrediction, 3)
	if err != nil {
		t.Fatal(err)
	}
	perturb(b, rand.New(rand.NewPCG(5, 5)))
	cs := rexConcept(t)
	data := cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions())
	rng := rand.New(rand.NewPCG(1, 2))
	S := b.PictureSize()
	framed := 0
	for k := 0; k < 40; k++ {
		x := make([]float32, S*S*3)
		_, f := b.sampleFramed(data, rng, x, nil)
		if f[0].Extent > 0 {
			framed++
		}
	}
	if framed < 28 || framed == 40 {
		t.Errorf("%d of 40 samples framed, want about 90%%", framed)
	}
	ctx := context.Background()
	con, err := b.TrainConcept(ctx, TrainOptions{Method: TI, Name: "rex", Class: "dog", Steps: 2, Batch: 2, Seed: 1, Data: data, Images: 2}, nil)
	if err != nil {
		t.Fatalf("a concept on a frames base: %v", err)
	}
	gen := func(regions ...region.Region) []byte {
		imgs, err := b.GenerateWith(ctx, GenerateOptions{Prompt: "a rex* next to a cat", N: 1, Seed: 1, Steps: 2, Guidance: 2, Regions: regions}, []ConceptUse{{Concept: con}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	box := []region.Region{{Name: "rex", X: 0, Y: 0, W: 0.5, H: 0.5}, {Name: "cat", X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}
	if !slices.Equal(gen(), gen()) || !slices.Equal(gen(box...), gen(box...)) {
		t.Error("the same seed drew different images")
	}
	if slices.Equal(gen(), gen(box...)) {
		t.Error("the boxes' frames change nothing")
	}
}

// TestGrowingIntoPartsChangesNothing: a model grown into the parts design
// (frames and their templates) draws, at first, what it drew — its
// frames planned from the prompt and its words pooled — and moving the
// templates' last layer changes the pictures (the control); pretraining
// the parts design from a file trains the frames' and the templates'
// weights off zero.
func TestGrowingIntoPartsChangesNothing(t *testing.T) {
	a := tinyBase(t)
	rng := rand.New(rand.NewPCG(8, 10))
	perturb(a, rng)
	cfg := a.Cfg
	cfg.Frames, cfg.FrameParts = true, 4
	g, fresh, added := growInto(t, a, cfg)
	if len(fresh)+len(added) != 0 {
		t.Errorf("fresh %v, added %v: the frames' paths are gained silently", fresh, added)
	}
	drawsTheSame(t, a, g, model.FramePartsScope+".out.w", rng)
	if testing.Short() {
		return
	}
	ctx := context.Background()
	one := oneStepRun(t)
	parts := tinyPretrain(t.TempDir())
	c := *parts.Config
	c.Frames, c.FrameParts = true, 4
	parts.Config, parts.StopAfter, parts.ShapeSeeds, parts.LR = &c, 3, -1, 1e-2
	parts.InitFrom = filepath.Join(one.Dir, emaModelFile)
	if err := Pretrain(ctx, parts, nil); err != nil {
		t.Fatalf("pretrain -init into the parts design: %v", err)
	}
	w := weightsOf(t, filepath.Join(parts.Dir, emaModelFile))
	for _, name := range []string{model.FramesScope + ".w", model.FramePartsScope + ".out.w"} {
		if !slices.ContainsFunc(w[name], func(v float32) bool { return v != 0 }) {
			t.Errorf("%s is still zero after training: the frames do not reach it", name)
		}
	}
}

// TestGainedLRMult: -gained-lr speeds up the paths a grown model gains
// (here the frames and the parts, which start at zero) and leaves the
// rest at the run's learning rate: from the same start, with the factor
// 10 the frames' weights move several times as far in three steps as
// with 1, and the first convolution about as far.
func TestGainedLRMult(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three tiny runs")
	}
	ctx := context.Background()
	one := oneStepRun(t)
	start := weightsOf(t, filepath.Join(one.Dir, emaModelFile))
	moved := func(mult float64) map[string]float64 {
		run := tinyPretrain(t.TempDir())
		c := *run.Config
		c.Frames, c.FrameParts = true, 4
		run.Config, run.StopAfter, run.ShapeSeeds, run.LR, run.Warmup = &c, 3, -1, 1e-3, 1
		run.GainedLRMult = mult
		run.InitFrom = filepath.Join(one.Dir, emaModelFile)
		if err := Pretrain(ctx, run, nil); err != nil {
			t.Fatal(err)
		}
		w := weightsOf(t, filepath.Join(run.Dir, emaModelFile))
		out := map[string]float64{}
		for _, name := range []string{model.FramesScope + ".w", "unet.conv_in.w"} {
			var s float64
			for i, v := range w[name] {
				was := float32(0)
				if old, ok := start[name]; ok {
					was = old[i]
				}
				s += float64(v-was) * float64(v-was)
			}
			out[name] = math.Sqrt(s)
		}
		return out
	}
	slow, fast := moved(1), moved(10)
	t.Logf("moved with factor 1: %v; with 10: %v", slow, fast)
	if f := fast[model.FramesScope+".w"] / slow[model.FramesScope+".w"]; !(f > 4) {
		t.Errorf("the frames' weights moved %.2f× as far with -gained-lr 10, want > 4×", f)
	}
	if f := fast["unet.conv_in.w"] / slow["unet.conv_in.w"]; !(f > 0.5 && f < 2) {
		t.Errorf("the first convolution moved %.2f× as far with -gained-lr 10, want about the same (0.5-2×)", f)
	}
}

// TestSelfConditioning: a model grown into self-conditioning draws what
// it drew (its convolution starts at zero), and once that convolution
// moves the pictures change, so the sampler hands each step the estimate
// of the step before (a zero estimate would reach the output through the
// bias alone); the same seed draws the same picture. Pretraining the
// design trains the convolution off zero, which only the batches with a
// first pass's estimate can do.
func TestSelfConditioning(t *testing.T) {
	a := tinyBase(t)
	rng := rand.New(rand.NewPCG(8, 12))
	perturb(a, rng)
	cfg := a.Cfg
	cfg.SelfCond = true
	g, fresh, added := growInto(t, a, cfg)
	if len(fresh)+len(added) != 0 {
		t.Errorf("fresh %v, added %v: self-conditioning is gained silently", fresh, added)
	}
	drawsTheSame(t, a, g, model.SelfCondScope+".w", rng)
	opt := GenerateOptions{Prompt: "a big cat", N: 2, Seed: 4, Steps: 3, Guidance: 3}
	one, err := g.Generate(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, err := g.Generate(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if !slices.Equal(one[i].Pix, two[i].Pix) {
			t.Fatal("the same seed drew different pictures")
		}
	}
	if testing.Short() {
		return
	}
	run := tinyPretrain(t.TempDir())
	c := *run.Config
	c.SelfCond = true
	run.Config, run.StopAfter, run.ShapeSeeds, run.LR = &c, 6, -1, 1e-2
	if err := Pretrain(context.Background(), run, nil); err != nil {
		t.Fatalf("pretraining with self-conditioning: %v", err)
	}
	w := weightsOf(t, filepath.Join(run.Dir, emaModelFile))
	if !slices.ContainsFunc(w[model.SelfCondScope+".w"], func(v float32) bool { return v != 0 }) {
		t.Error("the self-conditioning convolution is still zero after training: no batch saw an estimate")
	}
}
