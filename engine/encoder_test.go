package engine

import (
	"context"
	"errors"
	"image"
	"image/color"
	_ "image/png"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/safetensors"
	"conceptstudio/internal/numgrad"
)

// TestEncoderGradientCheck compares the encoder's weight gradients (the
// pseudo-loss Σ offset⊙upstream that carries the diffusion loss's
// gradient into it) with central differences, on a tiny config whose
// zero-initialised head has been given weights.
func TestEncoderGradientCheck(t *testing.T) {
	for _, extra := range []bool{false, true} {
		c := TinyEncoderConfig(6)
		c.ImageSize, c.Channels, c.Feature = 8, []int{4, 8}, 8
		if extra { // E4T's other halves: a value head and the UNet's features
			c.Values, c.UNet = 5, 3
		}
		checkEncoderGradient(t, c)
	}
}

func checkEncoderGradient(t *testing.T, c EncoderConfig) {
	w := nn.NewWeights(tensor.Float64, 3)
	net, err := buildEncoderNet(w, c, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	head, _ := w.Lookup("enc.head.w")
	for i, v := range head.Data().([]float64) {
		head.Data().([]float64)[i] = v + r.NormFloat64()*0.3
	}
	x := net.g.B.InputValue(encInImages).Data().([]float64)
	up := net.g.B.InputValue(encInUpstream).Data().([]float64)
	for i := range x {
		x[i] = r.Float64()*2 - 1
	}
	for i := range up {
		up[i] = r.NormFloat64()
	}
	if c.UNet > 0 {
		for i, u := range net.g.B.InputValue(encInUNet).Data().([]float64) {
			net.g.B.InputValue(encInUNet).Data().([]float64)[i] = u + r.NormFloat64()
		}
	}
	loss := func() float64 {
		if err := net.prog.Run(); err != nil {
			t.Fatal(err)
		}
		off := net.offset.Value().Data().([]float64)
		var s float64
		for i := range off {
			s += off[i] * up[i]
		}
		return s
	}
	loss()
	checked := 0
	for _, p := range net.g.B.Params() {
		g := net.prog.Grad(p)
		if g == nil {
			t.Fatalf("no gradient for %s", p.Name)
		}
		grad := slices.Clone(g.Data().([]float64))
		val := p.Value.Data().([]float64)
		for _, k := range []int{0, len(val) / 2, len(val) - 1} {
			num := numgrad.CentralDifference(val, k, 1e-5, loss)
			if d := math.Abs(num - grad[k]); d > 1e-6*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %.9g, central difference %.9g", p.Name, k, grad[k], num)
			}
			checked++
		}
		loss()
	}
	if want := 3 * len(net.g.B.Params()); checked < want || want < 12 {
		t.Fatalf("checked %d values of %d weights (%+v)", checked, len(net.g.B.Params()), c)
	}
}

// TestEncoderTrainsAndResumesExactly pretrains a tiny encoder on the tiny
// base: the run stops and resumes to the same weights as an unbroken one,
// the file loads, and its predictions have moved off the class word.
func TestEncoderTrainsAndResumesExactly(t *testing.T) {
	b := tinyBase(t)
	opt := EncoderTrainOptions{Config: TinyEncoderConfig(b.Cfg.TextDim), Steps: 8, Batch: 4, LR: 3e-3}
	var losses []float64
	e1, e2 := straightAndResumed(t, b, opt, 3, func(p EncoderProgress) {
		if p.Message == "" {
			losses = append(losses, p.Loss)
		}
	})
	if len(losses) == 0 || slices.ContainsFunc(losses, func(l float64) bool { return math.IsNaN(l) || l <= 0 }) {
		t.Fatalf("losses %v", losses)
	}
	if e1.Record.Steps != 8 || e2.Record.Steps != 8 || e1.Record.BaseID != b.ID() {
		t.Fatalf("records %+v and %+v", e1.Record, e2.Record)
	}
	if name := encoderDiff(e1, e2); name != "" {
		t.Fatalf("%s differs between the unbroken run and the one resumed twice", name)
	}
	S := e1.Record.Config.ImageSize
	pic := make([]float32, S*S*3)
	for i := range pic {
		pic[i] = float32(i%7)/3 - 1
	}
	off, err := e1.Predict([][]float32{pic}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var norm float64
	for _, v := range off[0] {
		norm += float64(v) * float64(v)
	}
	if len(off[0]) != b.Cfg.TextDim || norm == 0 || math.IsNaN(norm) {
		t.Fatalf("prediction of length %d and squared norm %v", len(off[0]), norm)
	}
}

// TestE4TFromOneImage: with a (tiny) encoder, one picture becomes a
// concept in 15 steps; its held-out loss is below the class word's
// starting point, the file round-trips bit-exact, and without an encoder
// the method says what it needs.
func TestE4TFromOneImage(t *testing.T) {
	b := tinyBase(t)
	dir := t.TempDir()
	if err := b.TrainEncoder(context.Background(), EncoderTrainOptions{Dir: dir, Config: TinyEncoderConfig(b.Cfg.TextDim), Steps: 6, Batch: 4}, nil); err != nil {
		t.Fatal(err)
	}
	enc, err := LoadEncoder(filepath.Join(dir, EncoderFile))
	if err != nil {
		t.Fatal(err)
	}
	cs := onePictureConcept(t, "../examples/teddy/1.png", "teddy", "teddy bear")
	data := cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions())
	opt := TrainOptions{Method: E4T, Name: "teddy", Class: "teddy bear", Data: data, Images: 1, Batch: 4, Seed: 1}
	if _, err := b.TrainConcept(context.Background(), opt, nil); !errors.Is(err, ErrNoEncoder) {
		t.Fatalf("without an encoder: %v, want ErrNoEncoder", err)
	}
	opt.Encoder = enc
	c, err := b.TrainConcept(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != E4T || c.Settings.Steps != 15 || len(c.Tensors) != 1 {
		t.Fatalf("concept %s, %d steps, tensors %v", c.Method, c.Settings.Steps, slices.Collect(maps.Keys(c.Tensors)))
	}
	// The starting point: the class word's own embedding.
	words := dataset.Words("teddy bear")
	id, _ := b.Tok.ID(words[len(words)-1])
	start := *c
	start.Tensors = map[string]Tensor{"emb": {Shape: c.Tensors["emb"].Shape, Data: slices.Clone(b.classEmbedding(id))}}
	held := cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions())
	before, err := b.ConceptLoss(context.Background(), []ConceptUse{{Concept: &start}}, held, 91, 6)
	if err != nil {
		t.Fatal(err)
	}
	after, err := b.ConceptLoss(context.Background(), []ConceptUse{{Concept: c}}, held, 91, 6)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out loss: class word %.4f → e4t concept %.4f", before, after)
	if !(after < before) {
		t.Errorf("the e4t concept's held-out loss %.4f is not below the class word's %.4f", after, before)
	}
	path := filepath.Join(t.TempDir(), "teddy.concept.safetensors")
	if err := WriteConceptFile(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := ReadConceptFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Method != E4T || !slices.Equal(back.Tensors["emb"].Data, c.Tensors["emb"].Data) {
		t.Fatal("the e4t concept did not round-trip bit-exact")
	}
	if _, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a teddy*", N: 1, Seed: 1, Steps: 2, Guidance: 3}, []ConceptUse{{Concept: back}}, nil); err != nil {
		t.Fatalf("generating with the e4t concept: %v", err)
	}
}

// TestEncoderShipsWithTheBase: an encoder attached to its base is written
// into the model file (F16, under enc/) and read back with it; the base's
// ID does not change, the header alone tells that an encoder is there,
// e4t trains with the base's own encoder, and an encoder of another base
// is refused.
func TestEncoderShipsWithTheBase(t *testing.T) {
	b := tinyBase(t)
	dir := t.TempDir()
	if err := b.TrainEncoder(context.Background(), EncoderTrainOptions{Dir: dir, Config: TinyEncoderConfig(b.Cfg.TextDim), Steps: 3, Batch: 2}, nil); err != nil {
		t.Fatal(err)
	}
	enc, err := LoadEncoder(filepath.Join(dir, EncoderFile))
	if err != nil {
		t.Fatal(err)
	}
	id := b.ID()
	if err := b.AttachEncoder(enc); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := b.Save(path, true); err != nil {
		t.Fatal(err)
	}
	meta, err := safetensors.ReadMetadata(path, safetensors.ReadOptions{})
	if err != nil || !ModelHasEncoder(meta) {
		t.Fatalf("the header does not tell of the encoder: %v", err)
	}
	back, err := LoadBaseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Encoder == nil || back.ID() != id {
		t.Fatalf("read back: encoder %v, ID %s (was %s)", back.Encoder != nil, back.ID(), id)
	}
	S := enc.Record.Config.ImageSize
	pic := make([]float32, S*S*3)
	for i := range pic {
		pic[i] = float32(i%5)/2 - 1
	}
	a, _ := enc.Predict([][]float32{pic}, nil)
	c, _ := back.Encoder.Predict([][]float32{pic}, nil)
	for j := range a[0] {
		if d := math.Abs(float64(a[0][j] - c[0][j])); d > 1e-2*(1+math.Abs(float64(a[0][j]))) {
			t.Fatalf("prediction %d: %g before saving, %g after (F16)", j, a[0][j], c[0][j])
		}
	}
	atlas, _ := dataset.LoadAtlas()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if (x-32)*(x-32)+(y-32)*(y-32) < 400 {
				img.Set(x, y, color.NRGBA{200, 40, 40, 255})
			} else {
				img.Set(x, y, color.NRGBA{240, 240, 240, 255})
			}
		}
	}
	cs, err := dataset.NewConceptSet(atlas, "ball", "ball", []image.Image{img})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.TrainConcept(context.Background(), TrainOptions{Method: E4T, Name: "ball", Class: "ball", Steps: 2, Batch: 2,
		Data: cs.Sampler(back.PictureSize(), dataset.DefaultConceptSceneOptions())}, nil); err != nil {
		t.Fatalf("e4t with the base's own encoder: %v", err)
	}
	other, _ := NewTinyBase() // another base: one weight changed
	w, _ := other.W.Lookup(other.W.Names()[0])
	w.Data().([]float32)[0] += 1
	if err := other.AttachEncoder(enc); err == nil {
		t.Error("an encoder of another base model was attached")
	}
}

// TestEmbeddedBaseCarriesItsEncoder: the embedded model ships with an
// encoder trained for it (the e4t method's start, so the window offers
// instant concepts), whose prediction for a picture moves the class word
// (a trained encoder, not an untrained one's zero) by a small offset.
func TestEmbeddedBaseCarriesItsEncoder(t *testing.T) {
	b, err := DefaultBase()
	if err != nil {
		t.Skipf("no embedded model: %v", err)
	}
	if b.Encoder == nil || !ModelFileHasEncoder("") {
		t.Fatal("the embedded model carries no encoder")
	}
	if err := b.Encoder.fits(b); err != nil {
		t.Fatal(err)
	}
	cs := onePictureConcept(t, "../examples/teapot/1.png", "cup", "teapot")
	pics, err := encoderPictures(cs, b.Encoder.Record.Config.ImageSize)
	if err != nil {
		t.Fatal(err)
	}
	off, err := b.Encoder.Predict(pics, nil)
	if err != nil {
		t.Fatal(err)
	}
	words := dataset.Words("teapot")
	id, _ := b.Tok.ID(words[len(words)-1])
	var n2, c2 float64
	for j, v := range off[0] {
		n2 += float64(v) * float64(v)
		c := float64(b.classEmbedding(id)[j])
		c2 += c * c
	}
	t.Logf("offset %.4f against the class word's %.4f (%d steps, %.2f CPU-hours)", math.Sqrt(n2), math.Sqrt(c2), b.Encoder.Record.Steps, b.Encoder.Record.CPUSeconds/3600)
	if n2 == 0 || math.IsNaN(n2) || n2 > c2 {
		t.Errorf("offset of length %.4f for a class word of %.4f", math.Sqrt(n2), math.Sqrt(c2))
	}
}

// onePictureConcept is a concept set made from the one picture at path,
// as a user's single dropped image.
func onePictureConcept(t *testing.T, path, name, class string) *dataset.ConceptSet {
	t.Helper()
	img, err := loadTestPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := dataset.NewConceptSet(atlas, name, class, []image.Image{img})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// encoderDiff names the first weight in which two encoders differ ("" when
// they are equal).
func encoderDiff(a, b *Encoder) string {
	for _, name := range a.w.Names() {
		x, _ := a.w.Lookup(name)
		y, ok := b.w.Lookup(name)
		if !ok || !slices.Equal(x.Data().([]float32), y.Data().([]float32)) {
			return name
		}
	}
	return ""
}

// straightAndResumed trains opt's encoder on b twice: in one sitting
// (progress sees it), and in sittings of stopAfter steps each resuming the
// last, to the end; it returns both encoders.
func straightAndResumed(t *testing.T, b *Base, opt EncoderTrainOptions, stopAfter int, progress func(EncoderProgress)) (straight, resumed *Encoder) {
	t.Helper()
	ctx := context.Background()
	dirs := [2]string{t.TempDir(), t.TempDir()}
	opt.Dir = dirs[0]
	if err := b.TrainEncoder(ctx, opt, progress); err != nil {
		t.Fatal(err)
	}
	opt.Dir, opt.StopAfter = dirs[1], stopAfter
	for range (opt.Steps + stopAfter - 1) / stopAfter {
		if err := b.TrainEncoder(ctx, opt, nil); err != nil {
			t.Fatal(err)
		}
	}
	var out [2]*Encoder
	for i, d := range dirs {
		e, err := LoadEncoder(filepath.Join(d, EncoderFile))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out[0], out[1]
}
