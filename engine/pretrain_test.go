package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
	"conceptstudio/engine/safetensors"
)

func tinyPretrain(dir string) PretrainOptions {
	c := model.Tiny()
	c.ImageSize = 16
	c.Unshuffle = true
	c.Channels = []int{8, 16}
	o := DefaultPretrain()
	o.Dir, o.Steps, o.Batch, o.SampleEvery, o.Warmup = dir, 6, 2, 1000, 2
	o.Config = &c
	return o
}

// oneStepRun is a tiny run trained for one step (no shape probe), for
// tests that start another run from its model (Dir/emaModelFile).
func oneStepRun(t *testing.T) PretrainOptions {
	t.Helper()
	one := tinyPretrain(t.TempDir())
	one.StopAfter, one.ShapeSeeds = 1, -1
	if err := Pretrain(context.Background(), one, nil); err != nil {
		t.Fatal(err)
	}
	return one
}

func weightsOf(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.ReadFile(path, safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, tn := range f.Tensors {
		v, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		out[tn.Name] = append([]float32(nil), v...)
	}
	return out
}

// TestPretrainResumesExactly trains 6 steps in one sitting and 3+3 steps
// in two, and expects bit-identical checkpoints: weights, optimizer
// moments, EMA and random state all survive the restart.
func TestPretrainResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model for a few steps")
	}
	ctx := context.Background()
	a := tinyPretrain(t.TempDir())
	if err := Pretrain(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	b := tinyPretrain(t.TempDir())
	b.StopAfter = 3
	if err := Pretrain(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	if err := Pretrain(ctx, b, nil); !errors.Is(err, ErrRunExists) {
		t.Fatalf("a second run into the same folder without resume: want ErrRunExists, got %v", err)
	}
	b.Resume = true
	if err := Pretrain(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	wa := weightsOf(t, filepath.Join(a.Dir, checkpointFile))
	wb := weightsOf(t, filepath.Join(b.Dir, checkpointFile))
	if len(wa) == 0 || len(wa) != len(wb) {
		t.Fatalf("checkpoints have %d and %d tensors", len(wa), len(wb))
	}
	for name, va := range wa {
		vb := wb[name]
		for i := range va {
			if va[i] != vb[i] {
				t.Fatalf("%s[%d]: %v in one sitting, %v after resuming", name, i, va[i], vb[i])
			}
		}
	}
	if _, err := os.Stat(filepath.Join(a.Dir, emaModelFile)); err != nil {
		t.Errorf("no EMA model file: %v", err)
	}
	ema, err := LoadBaseFile(filepath.Join(a.Dir, emaModelFile))
	if err != nil {
		t.Fatalf("the EMA model file does not load: %v", err)
	}
	// Export: F16 weights with C⁻¹ inside, same identity.
	out := filepath.Join(t.TempDir(), "base.safetensors")
	if err := ExportBase(filepath.Join(a.Dir, emaModelFile), out); err != nil {
		t.Fatal(err)
	}
	exp, err := LoadBaseFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if exp.ID() != ema.ID() {
		t.Errorf("export changed the model id: %s → %s", ema.ID(), exp.ID())
	}
	want, _ := ema.CovInverse()
	got, _ := exp.CovInverse()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-3*math.Abs(want[i])+1e-3 {
			t.Fatalf("C⁻¹[%d] %v stored, %v computed", i, got[i], want[i])
		}
	}
}

// TestPretrainCancelSavesCheckpoint cancels before the first step and
// expects a checkpoint to resume from.
func TestPretrainCancelSavesCheckpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := tinyPretrain(t.TempDir())
	if err := Pretrain(ctx, o, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(o.Dir, checkpointFile)); err != nil {
		t.Fatalf("no checkpoint after cancel: %v", err)
	}
}

// TestPretrainGainsPositionEmbeddings: a run started without position
// embeddings resumes with them (zero, then trained), says so, and its EMA
// model loads with them; a checkpoint of another architecture is refused.
func TestPretrainGainsPositionEmbeddings(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model for a few steps")
	}
	ctx := context.Background()
	o := tinyPretrain(t.TempDir())
	o.StopAfter = 3
	if err := Pretrain(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	plainModel := filepath.Join(t.TempDir(), "plain.safetensors")
	if data, err := os.ReadFile(filepath.Join(o.Dir, emaModelFile)); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(plainModel, data, 0o644); err != nil {
		t.Fatal(err)
	}
	withPos := *o.Config
	withPos.PosEmb = true
	// A new run may also start from a model without them.
	fresh := tinyPretrain(t.TempDir())
	fresh.Config, fresh.InitFrom, fresh.StopAfter = &withPos, plainModel, 1
	if err := Pretrain(ctx, fresh, nil); err != nil {
		t.Fatalf("starting from a model without position embeddings: %v", err)
	}
	o.Config, o.Resume, o.StopAfter = &withPos, true, 0
	var said string
	if err := Pretrain(ctx, o, func(p PretrainProgress) {
		if p.Message != "" && said == "" {
			said = p.Message
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(said, "gained") {
		t.Errorf("the resume said %q, nothing about the new weights", said)
	}
	w := weightsOf(t, filepath.Join(o.Dir, checkpointFile))
	n := 0
	for name, v := range w {
		if strings.HasSuffix(name, ".pos") && strings.HasPrefix(name, "w/") {
			n++
			nonzero := false
			for _, x := range v {
				nonzero = nonzero || x != 0
			}
			if !nonzero {
				t.Errorf("%s is still zero after three training steps", name)
			}
		}
	}
	if n == 0 {
		t.Fatal("the checkpoint has no position embeddings")
	}
	ema, err := LoadBaseFile(filepath.Join(o.Dir, emaModelFile))
	if err != nil || !ema.Cfg.PosEmb {
		t.Fatalf("EMA model: %v (position embeddings %v)", err, err == nil && ema.Cfg.PosEmb)
	}
	// -export -raw: the checkpoint's weights (to F16), not their average.
	raw := filepath.Join(t.TempDir(), "raw.safetensors")
	if err := ExportRunRaw(o.Dir, raw); err != nil {
		t.Fatal(err)
	}
	rb, err := LoadBaseFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	differs := false
	for name, v := range w {
		wn, ok := strings.CutPrefix(name, "w/")
		if !ok {
			continue
		}
		got, ok := rb.W.Lookup(wn)
		if !ok {
			t.Fatalf("the raw export lacks %s", wn)
		}
		et, _ := ema.W.Lookup(wn)
		g, e := got.Data().([]float32), et.Data().([]float32)
		for i := range v {
			if d := math.Abs(float64(g[i] - v[i])); d > 1e-3*math.Abs(float64(v[i]))+1e-7 {
				t.Fatalf("raw export %s[%d] = %g, the checkpoint holds %g", wn, i, g[i], v[i])
			}
			differs = differs || math.Abs(float64(e[i]-v[i])) > 1e-3*math.Abs(float64(v[i]))+1e-6
		}
	}
	if !differs {
		t.Error("the raw export equals the moving average: the test cannot tell them apart")
	}
	if err := ExportRunRaw(t.TempDir(), raw); err == nil {
		t.Error("a folder without a run was exported")
	}

	other := *o.Config
	other.Channels = []int{8, 24}
	o.Config = &other
	if err := Pretrain(ctx, o, nil); err == nil {
		t.Fatal("a checkpoint of another architecture was resumed")
	}
}

// TestSampleGridRowsShareSeeds: every row of a sample grid uses seeds
// 0..cols-1, so rows that differ only in a word ("on the left" / "on the
// right") show what that word changes: the same prompt twice gives two
// identical rows.
func TestSampleGridRowsShareSeeds(t *testing.T) {
	b := tinyBase(t)
	g, err := SampleGrid(context.Background(), b, []string{"a dog", "a dog"}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	S := b.Cfg.ImageSize
	rowH := S + 16 + 4
	for y := 0; y < S; y++ {
		for x := 0; x < g.Bounds().Dx(); x++ {
			if a, c := g.NRGBAAt(x, 4+16+y), g.NRGBAAt(x, 4+rowH+16+y); a != c {
				t.Fatalf("rows differ at (%d, %d): %v vs %v", x, y, a, c)
			}
		}
	}
}

// TestPretrainCPUBudget: a run with a CPU budget stops at it (here after
// its first step) with a checkpoint, a sample grid and a shape score in
// shape.csv; resuming it trains nothing more, and a larger budget goes on.
func TestPretrainCPUBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model for a few steps")
	}
	ctx := context.Background()
	o := tinyPretrain(t.TempDir())
	o.CPUBudget = time.Nanosecond
	o.ShapeSeeds = 1
	if err := Pretrain(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(o.Dir, shapeCSVFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "step,cpu_hours,shape_top1") || !strings.HasPrefix(lines[1], "1,") {
		t.Fatalf("shape.csv:\n%s", csv)
	}
	for _, f := range []string{"samples/step-000001.png", "samples/shape-000001.png", checkpointFile} {
		if _, err := os.Stat(filepath.Join(o.Dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	o.Resume = true
	var msgs []string
	if err := Pretrain(ctx, o, func(p PretrainProgress) { msgs = append(msgs, p.Message) }); err != nil {
		t.Fatal(err)
	}
	if st := checkpointStep(t, filepath.Join(o.Dir, checkpointFile)); st != 1 {
		t.Errorf("resumed at the budget: trained to step %d, want 1", st)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "CPU budget") {
		t.Errorf("no word of the budget in %q", msgs)
	}
	o.CPUBudget, o.StopAfter = time.Hour, 2
	if err := Pretrain(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	if st := checkpointStep(t, filepath.Join(o.Dir, checkpointFile)); st != 3 {
		t.Errorf("with a larger budget: step %d, want 3", st)
	}
}

// checkpointStep reads the step of a run's checkpoint.
func checkpointStep(t *testing.T, path string) int {
	t.Helper()
	f, err := safetensors.ReadFile(path, safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var st trainState
	if err := json.Unmarshal([]byte(f.Metadata["conceptstudio.train_state"]), &st); err != nil {
		t.Fatal(err)
	}
	return st.Step
}

// A resumed run keeps the recipe it started with unless this sitting
// sets another.
func TestResumeKeepsTheRunsRecipe(t *testing.T) {
	def := DefaultPretrain()
	started := def
	started.LR, started.Warmup, started.Steps, started.HighNoiseShare, started.ShapeAll, started.SampleEvery = 1e-4, 200, 9000, 0, true, 400
	started.Classes, started.Styles = []string{"cat", "dog"}, []string{dataset.StyleNoto}
	started.RefAugment = 0.5
	stored, _ := json.Marshal(started)

	opt := def
	kept := keepRecipe(&opt, string(stored), def)
	if opt.LR != 1e-4 || opt.Warmup != 200 || opt.Steps != 9000 || opt.HighNoiseShare != 0 || !opt.ShapeAll || opt.SampleEvery != 400 ||
		!slices.Equal(opt.Classes, started.Classes) || !slices.Equal(opt.Styles, started.Styles) || opt.RefAugment != 0.5 {
		t.Fatalf("resumed with %+v, want the stored recipe", opt)
	}
	if len(kept) != 9 {
		t.Errorf("kept %q, want 9 settings named", kept)
	}

	opt = def
	opt.LR, opt.HighNoiseShare = 5e-5, 0.2
	keepRecipe(&opt, string(stored), def)
	if opt.LR != 5e-5 || opt.HighNoiseShare != 0.2 {
		t.Errorf("this sitting's settings were overridden: %+v", opt)
	}
	opt = def
	if kept := keepRecipe(&opt, "", def); kept != nil || opt.LR != def.LR {
		t.Errorf("a run without stored options changed: %q %+v", kept, opt)
	}
}

// TestLatentDesignTrainsOnLatents: a latent run (tiny autoencoder, tiny
// UNet on its latents) trains, keeps its autoencoder, resumes without the
// flag, and its model file draws pictures at the autoencoder's size, the
// same for the same seed, with the autoencoder inside the file. Concepts
// are refused on it in plain words; a pixel design refuses an
// autoencoder.
func TestLatentDesignTrainsOnLatents(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny autoencoder and UNet")
	}
	ctx := context.Background()
	aeDir := t.TempDir()
	if err := autoenc.Train(ctx, autoenc.TrainOptions{Dir: aeDir, Config: autoenc.Tiny(), Steps: 3, Batch: 2}, nil); err != nil {
		t.Fatal(err)
	}
	o := DefaultPretrain()
	o.Dir, o.Steps, o.Batch, o.SampleEvery, o.Warmup, o.ShapeSeeds, o.StopAfter = t.TempDir(), 4, 2, 1000, 2, -1, 2
	o.Design = "latent-tiny"
	if err := Pretrain(ctx, o, nil); err == nil || !strings.Contains(err.Error(), "-autoencoder") {
		t.Fatalf("a latent run without its autoencoder: %v", err)
	}
	o.Autoencoder = filepath.Join(aeDir, autoenc.ModelFile)
	if err := Pretrain(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	o.Autoencoder, o.Resume, o.StopAfter = "", true, 0
	if err := Pretrain(ctx, o, nil); err != nil {
		t.Fatalf("resuming without the flag: %v", err)
	}
	if st := checkpointStep(t, filepath.Join(o.Dir, checkpointFile)); st != 4 {
		t.Fatalf("step %d, want 4", st)
	}
	b, err := LoadBaseFile(filepath.Join(o.Dir, emaModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if b.AE == nil || b.Cfg.ImageSize != 8 || b.Cfg.InChannels != 2 || b.PictureSize() != 16 {
		t.Fatalf("model: AE %v, UNet %d×%d×%d, pictures %d", b.AE != nil, b.Cfg.ImageSize, b.Cfg.ImageSize, b.Cfg.InChannels, b.PictureSize())
	}
	gen := func() []byte {
		imgs, err := b.Generate(ctx, GenerateOptions{Prompt: "a cat", N: 2, Seed: 4, Steps: 3, Guidance: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 2 || imgs[0].Bounds().Dx() != 16 {
			t.Fatalf("pictures of %v, want 16×16", imgs[0].Bounds())
		}
		return append(imgs[0].Pix, imgs[1].Pix...)
	}
	if !slices.Equal(gen(), gen()) {
		t.Error("the same seed drew other pictures")
	}
	var buf bytes.Buffer
	if err := b.EncodeModel(&buf, false); err != nil {
		t.Fatal(err)
	}
	again, err := LoadBase(buf.Bytes())
	if err != nil || again.AE == nil || again.ID() != b.ID() {
		t.Fatalf("round trip: %v (AE %v)", err, again != nil && again.AE != nil)
	}
	// A concept trains on the latent base (its pictures encoded) and draws.
	cs := rexConcept(t)
	c, err := b.TrainConcept(ctx, TrainOptions{Method: TI, Name: "rex", Class: "dog", Steps: 2, Batch: 2, Seed: 1,
		Data: cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions()), Images: 2}, nil)
	if err != nil {
		t.Fatalf("a concept on a latent base: %v", err)
	}
	imgs, err := b.GenerateWith(ctx, GenerateOptions{Prompt: "a rex* next to a cat", N: 1, Seed: 1, Steps: 2, Guidance: 2, Layout: 4,
		Regions: []region.Region{{Name: "rex", X: 0, Y: 0, W: 0.5, H: 0.5}, {Name: "cat", X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}}, []ConceptUse{{Concept: c}}, nil)
	if err != nil || imgs[0].Bounds().Dx() != 16 {
		t.Fatalf("drawing the concept in a box: %v", err)
	}
	p := tinyPretrain(t.TempDir())
	p.Config = nil
	p.Design, p.Autoencoder = "tiny", filepath.Join(aeDir, autoenc.ModelFile)
	if err := Pretrain(ctx, p, nil); err == nil || !strings.Contains(err.Error(), "draws pixels") {
		t.Errorf("an autoencoder for a pixel design: %v", err)
	}
}

// TestWarmStartAcrossInputs: a latent run may start from a pixel model:
// everything but the first and last convolution comes from it (within
// one Adam step of it), those two start fresh, and the start says so.
func TestWarmStartAcrossInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny autoencoder and two tiny UNets")
	}
	ctx := context.Background()
	aeDir := t.TempDir()
	if err := autoenc.Train(ctx, autoenc.TrainOptions{Dir: aeDir, Config: autoenc.Tiny(), Steps: 2, Batch: 2}, nil); err != nil {
		t.Fatal(err)
	}
	px := DefaultPretrain()
	px.Dir, px.Steps, px.Batch, px.SampleEvery, px.Warmup, px.ShapeSeeds, px.StopAfter = t.TempDir(), 4, 2, 1000, 2, -1, 2
	px.Design = "tiny"
	if err := Pretrain(ctx, px, nil); err != nil {
		t.Fatal(err)
	}
	from := weightsOf(t, filepath.Join(px.Dir, emaModelFile))
	lt := px
	lt.Dir, lt.Design, lt.Autoencoder, lt.StopAfter = t.TempDir(), "latent-tiny", filepath.Join(aeDir, autoenc.ModelFile), 1
	lt.InitFrom = filepath.Join(px.Dir, emaModelFile)
	var said []string
	if err := Pretrain(ctx, lt, func(p PretrainProgress) { said = append(said, p.Message) }); err != nil {
		t.Fatalf("a latent run from a pixel model: %v", err)
	}
	if !strings.Contains(strings.Join(said, "\n"), "start fresh: unet.conv_in.") {
		t.Errorf("the start did not say which weights start fresh: %q", said)
	}
	got := weightsOf(t, filepath.Join(lt.Dir, checkpointFile))
	shared, fresh := 0, 0
	for name, v := range got {
		if !strings.HasPrefix(name, "w/") {
			continue
		}
		src, ok := from[strings.TrimPrefix(name, "w/")]
		if !ok {
			t.Fatalf("the pixel model has no %s", name)
		}
		if len(src) != len(v) {
			if !strings.Contains(name, "conv_in.") && !strings.Contains(name, "conv_out.") {
				t.Errorf("%s differs in size but is not the way in or out", name)
			}
			fresh++
			continue
		}
		shared++
		for i := range v {
			if d := math.Abs(float64(v[i] - src[i])); d > 2e-3 {
				t.Fatalf("%s[%d] = %g, the pixel model's %g: not where it started", name, i, v[i], src[i])
			}
		}
	}
	if fresh == 0 || shared < 10 {
		t.Errorf("%d weights shared, %d fresh", shared, fresh)
	}
	// Within one architecture a differently shaped weight is still refused.
	big := tinyPretrain(t.TempDir())
	c := *big.Config
	c.Channels = []int{8, 24}
	big.Config, big.InitFrom, big.StopAfter = &c, lt.InitFrom, 1
	if err := Pretrain(ctx, big, nil); err == nil || !strings.Contains(err.Error(), "differently shaped") {
		t.Errorf("a wider model from a narrower one: %v", err)
	}
}

// TestGrowingABlockPerLevelChangesNothing: a model with two residual
// blocks per level (the deep design) started from one with one draws, at
// first, what that one draws — every weight of the one-block model made
// non-zero first, so nothing holds by accident — and the start names the
// added blocks; the control: one added weight moved and the pictures
// change, so the comparison can fail.
func TestGrowingABlockPerLevelChangesNothing(t *testing.T) {
	ctx := context.Background()
	a := tinyBase(t)
	rng := rand.New(rand.NewPCG(8, 9))
	perturb(a, rng)
	cfg := a.Cfg
	cfg.ResBlocks = 2
	g, fresh, added := growInto(t, a, cfg)
	blocks := 0
	for _, at := range cfg.CrossAttn {
		blocks += 2 // a residual block on each path
		if at {
			blocks += 2 // and its attention
		}
	}
	if len(fresh) != 0 || len(added) != blocks {
		t.Errorf("fresh %v, added %v: want a residual block (and its attention, where the level has one) added per level and path", fresh, added)
	}
	drawsTheSame(t, a, g, "unet.up0.res1.conv2.w", rng)
	// A model that is not the same design with one more block is refused.
	cfg.Channels = []int{8, 24}
	h, err := NewBase(cfg, a.Tok, a.Pred, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := copyWeights(h, a); err == nil {
		t.Error("a wider model with two blocks from a narrower one with one: no error")
	}
	// Through pretrain -init, as a person starts the deep design from a
	// model file: the start says which blocks it added.
	if testing.Short() {
		return
	}
	one := oneStepRun(t)
	two := tinyPretrain(t.TempDir())
	c := *two.Config
	c.ResBlocks = 2
	two.Config, two.StopAfter, two.ShapeSeeds = &c, 1, -1
	two.InitFrom = filepath.Join(one.Dir, emaModelFile)
	var said []string
	if err := Pretrain(ctx, two, func(p PretrainProgress) { said = append(said, p.Message) }); err != nil {
		t.Fatalf("pretrain -init into two blocks per level: %v", err)
	}
	if all := strings.Join(said, "\n"); !strings.Contains(all, "these blocks are added") || !strings.Contains(all, "unet.up0.res1") {
		t.Errorf("the start did not name the added blocks: %q", said)
	}
}

// rexConcept is a concept "rex*" of class dog made from the two dog
// sprites, big and centred on white.
func rexConcept(t *testing.T) *dataset.ConceptSet {
	t.Helper()
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	rd := dataset.NewRenderer(atlas)
	var refs []image.Image
	for _, sp := range atlas.SpritesNamed("dog")[:2] {
		refs = append(refs, rd.RenderImage(dataset.Scene{Objects: []dataset.Placed{{Sprite: sp, CX: 0.5, CY: 0.5, Extent: 0.7}}, Background: dataset.Background{Colour: "white"}}, 64))
	}
	cs, err := dataset.NewConceptSet(atlas, "rex", "dog", refs)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestNarrowWorld: -classes and -styles pick the atlas's sprites of those
// names and styles, refuse names and styles the world lacks before
// anything is written, and a narrowed run's shape probe scores its own
// classes (a probe of the 24 grid classes would score classes never
// trained).
func TestNarrowWorld(t *testing.T) {
	a, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	sp, names, err := worldSprites(a, []string{"dog", "cat"}, nil)
	if err != nil || len(sp) != 2*len(dataset.Styles) || len(names) != 2 {
		t.Fatalf("dog and cat: sprites %v, classes %q, %v", sp, names, err)
	}
	for _, i := range sp {
		if n := a.Sprites[i].Name; n != "dog" && n != "cat" {
			t.Errorf("sprite %d is a %s", i, n)
		}
	}
	sp, _, err = worldSprites(a, nil, []string{dataset.StyleNoto})
	if err != nil || len(sp) != len(a.Names()) {
		t.Fatalf("noto only: %d sprites, %v; want %d", len(sp), err, len(a.Names()))
	}
	for _, i := range sp {
		if a.Sprites[i].Style != dataset.StyleNoto {
			t.Errorf("sprite %d is %s", i, a.Sprites[i].Style)
		}
	}
	if _, _, err := worldSprites(a, []string{"cat", "unicorn"}, nil); err == nil || !strings.Contains(err.Error(), `"unicorn"`) {
		t.Errorf("unknown class: %v", err)
	}
	if _, _, err := worldSprites(a, nil, []string{"pixel"}); err == nil || !strings.Contains(err.Error(), "twemoji") {
		t.Errorf("unknown style: %v", err)
	}

	if testing.Short() {
		return
	}
	o := tinyPretrain(filepath.Join(t.TempDir(), "run"))
	o.Classes = []string{"unicorn"}
	if err := Pretrain(context.Background(), o, nil); err == nil {
		t.Fatal("a run on an unknown class started")
	}
	if _, err := os.Stat(o.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused run left its folder: %v", err)
	}
	o.Classes, o.CPUBudget, o.ShapeSeeds = []string{"dog", "cat"}, time.Nanosecond, 1
	var msgs []string
	if err := Pretrain(context.Background(), o, func(p PretrainProgress) { msgs = append(msgs, p.Message) }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "training on 4 sprites of 2 classes") {
		t.Errorf("no word of the narrowing in %q", msgs)
	}
	grid, err := os.Open(filepath.Join(o.Dir, "samples", "shape-000001.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer grid.Close()
	cfg, _, err := image.DecodeConfig(grid)
	if err != nil {
		t.Fatal(err)
	}
	// The probe grid has a row per class (cells of the 16-pixel pictures
	// at 4×, a 20-pixel header): two rows, not the grid's 24.
	if rows := (cfg.Height - 20) / (o.Config.ImageSize*4 + 4); rows != 2 {
		t.Errorf("the probe grid has %d rows: it did not score the run's 2 classes", rows)
	}
}

// TestInputPerturbation: with input perturbation the network's input is
// noised by ε + γξ while its target stays that of ε alone (DDPM-IP): the
// same draws give the same timesteps and targets, and inputs that differ
// by σ_t·γ·ξ, whose spread is γ.
func TestInputPerturbation(t *testing.T) {
	b := tinyBase(t)
	const B, n = 4, 3 * 16 * 16
	x0 := make([]float32, B*n)
	for i := range x0 {
		x0[i] = float32(i%7)/7 - 0.5
	}
	draw := func(gamma float64) noised {
		rng := rand.New(rand.NewPCG(9, 9))
		nb, err := b.noiseBatch(rng, x0, make([]float32, B*n), B, lossWeighting{minSNR: 5, perturb: gamma})
		if err != nil {
			t.Fatal(err)
		}
		return nb
	}
	plain, pert := draw(0), draw(0.1)
	if !slices.Equal(plain.t, pert.t) || !slices.Equal(plain.target, pert.target) {
		t.Fatal("input perturbation changed the timesteps or the targets")
	}
	var sum, sq float64
	for i := range plain.xt {
		s := b.Sched.SqrtOneMinusAlphaBar(int(plain.t[i/n]))
		d := float64(pert.xt[i]-plain.xt[i]) / s
		sum += d
		sq += d * d
	}
	sd := math.Sqrt(sq/float64(len(plain.xt)) - math.Pow(sum/float64(len(plain.xt)), 2))
	if math.Abs(sd-0.1) > 0.01 {
		t.Errorf("the inputs differ by %.4f·σ_t in spread, want 0.1", sd)
	}
}

// growInto makes a model of config cfg started from a's weights
// (copyWeights), with the weights that start fresh and the blocks added.
func growInto(t *testing.T, a *Base, cfg model.Config) (g *Base, fresh, added []string) {
	t.Helper()
	g, err := NewBase(cfg, a.Tok, a.Pred, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fresh, added, err = copyWeights(g, a); err != nil {
		t.Fatal(err)
	}
	return g, fresh, added
}

// perturb moves every weight of b off its initial value, so that nothing
// holds by accident (zero-initialised layers would hide a wrong copy).
func perturb(b *Base, rng *rand.Rand) {
	for _, name := range b.W.Names() {
		w, _ := b.W.Lookup(name)
		for i, d := 0, w.Data().([]float32); i < len(d); i++ {
			d[i] += float32(0.05 * rng.NormFloat64())
		}
	}
	b.id = ""
}

// drawsTheSame checks that the grown model g draws what a draws (within
// 1/255), and, as the control, that moving g's added weight moved
// changes the pictures, so the comparison can fail.
func drawsTheSame(t *testing.T, a, g *Base, moved string, rng *rand.Rand) {
	t.Helper()
	opt := GenerateOptions{Prompt: "a big cat on the left", N: 2, Seed: 3, Steps: 4, Guidance: 4}
	draw := func(b *Base) []*image.NRGBA {
		imgs, err := b.Generate(context.Background(), opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs
	}
	maxDiff := func(x, y []*image.NRGBA) int {
		m := 0
		for k := range x {
			for i := range x[k].Pix {
				m = max(m, absInt(int(x[k].Pix[i])-int(y[k].Pix[i])))
			}
		}
		return m
	}
	want, got := draw(a), draw(g)
	if d := maxDiff(want, got); d > 1 {
		t.Errorf("the grown model draws other pictures: a pixel differs by %d", d)
	}
	w, ok := g.W.Lookup(moved)
	if !ok {
		t.Fatalf("no weight %s", moved)
	}
	for i, d := 0, w.Data().([]float32); i < len(d); i++ {
		d[i] = float32(0.5 * rng.NormFloat64())
	}
	g.id = ""
	if d := maxDiff(want, draw(g)); d <= 1 {
		t.Errorf("moving the added %s left the pictures as they were (differ by %d): the comparison tells nothing", moved, d)
	}
}

// TestGrowingSelfAttentionChangesNothing: a model with self-attention at a
// level whose transformers had cross-attention only (the attn16 design
// from the base design) draws, at first, what the model it grew from
// draws, and names the transformers that gained it.
func TestGrowingSelfAttentionChangesNothing(t *testing.T) {
	a := tinyBase(t)
	cfg := a.Cfg
	cfg.CrossAttn = []bool{true, true}
	a, err := NewBase(cfg, a.Tok, a.Pred, 4)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(10, 11))
	perturb(a, rng)
	if cfg.SelfAttn[0] {
		t.Fatal("the tiny model already has self-attention at its first level")
	}
	cfg.SelfAttn = []bool{true, true}
	g, fresh, added := growInto(t, a, cfg)
	slices.Sort(added)
	if want := []string{"unet.down0.attn0", "unet.up0.attn0", "unet.up0.attn1"}; len(fresh) != 0 || !slices.Equal(added, want) {
		t.Errorf("fresh %v, added %v; want the level's %v", fresh, added, want)
	}
	drawsTheSame(t, a, g, "unet.down0.attn0.attn1.out.w", rng)
}

// TestAlignedPretrain: a run with representation alignment
// (PretrainOptions.Align) trains the alignment's MLP — its last layer,
// which starts at zero, moves, so the oracle's features reached the loss —
// keeps it in the checkpoint for a resumed run, and leaves it out of the
// model file, which loads as any other. A run without alignment has no
// such weights.
func TestAlignedPretrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	for _, align := range []float64{0, 1} {
		dir := filepath.Join(t.TempDir(), "run")
		o := tinyPretrain(dir)
		o.Align, o.ShapeSeeds = align, -1
		if err := Pretrain(context.Background(), o, nil); err != nil {
			t.Fatal(err)
		}
		moved := false
		n := 0
		for name, v := range weightsOf(t, filepath.Join(dir, checkpointFile)) {
			if !strings.HasPrefix(name, checkpointWeights+model.AlignScope+".") {
				continue
			}
			n++
			if strings.HasSuffix(name, "fc2.w") {
				moved = slices.ContainsFunc(v, func(x float32) bool { return x != 0 })
			}
		}
		switch {
		case align == 0 && n > 0:
			t.Errorf("a run without alignment has %d alignment weights", n)
		case align > 0 && (n != 4 || !moved):
			t.Errorf("alignment: %d weights in the checkpoint (want 4), its last layer moved: %v", n, moved)
		}
		model := filepath.Join(dir, emaModelFile)
		for name := range weightsOf(t, model) {
			if trainingOnly(name) {
				t.Errorf("the model file holds %s", name)
			}
		}
		if _, err := LoadBaseFile(model); err != nil {
			t.Fatal(err)
		}
		if align == 0 {
			continue
		}
		o = tinyPretrain(dir)
		o.Steps, o.ShapeSeeds, o.Resume = 8, -1, true
		var msgs []string
		if err := Pretrain(context.Background(), o, func(p PretrainProgress) { msgs = append(msgs, p.Message) }); err != nil {
			t.Fatal(err)
		}
		if all := strings.Join(msgs, "\n"); !strings.Contains(all, "alignment weight 1") {
			t.Errorf("the resumed run did not keep its alignment: %q", all)
		}
	}
}
