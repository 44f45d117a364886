package eval

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/safetensors"
)

// loadedOnce is a classifier loaded once for every test that needs it.
type loadedOnce struct {
	once sync.Once
	o    *Oracle
	err  error
}

func (l *loadedOnce) get(t testing.TB, load func() (*Oracle, error)) *Oracle {
	t.Helper()
	l.once.Do(func() { l.o, l.err = load() })
	if l.err != nil {
		t.Fatalf("loading: %v", l.err)
	}
	return l.o
}

var shippedOracle, shippedJudge loadedOnce

func testOracle(t testing.TB) *Oracle { t.Helper(); return shippedOracle.get(t, LoadOracle) }

// TestEmbeddedOracleAccuracy: the shipped oracle names the object of 200
// fresh random single-object renders (any sprite, either style, mirrored
// half the time, a quarter on patterned backgrounds) with top-1 ≥ 85%.
func TestEmbeddedOracleAccuracy(t *testing.T) {
	o := testOracle(t)
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(2026, 11))
	var imgs []image.Image
	var want []string
	for i := 0; i < 200; i++ {
		sc := a.RandomScene(rng, dataset.SceneOptions{FlipProb: 0.5, PatternProb: 0.25})
		imgs = append(imgs, render(r, sc))
		want = append(want, a.Sprites[sc.Objects[0].Sprite].Name)
	}
	labels, probs, err := o.Classify(imgs)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i := range labels {
		if labels[i] == want[i] {
			ok++
		}
		var s float64
		for _, p := range probs[i] {
			s += float64(p)
		}
		if math.Abs(s-1) > 1e-3 || len(probs[i]) != len(o.Classes()) {
			t.Fatalf("image %d: %d probabilities summing to %v", i, len(probs[i]), s)
		}
	}
	acc := float64(ok) / float64(len(labels))
	t.Logf("oracle top-1 on 200 fresh renders: %.1f%% (record: %.1f%% on %d steps)", 100*acc, 100*o.Record.HeldOutTop1, o.Record.Steps)
	if acc < 0.85 {
		t.Errorf("top-1 %.1f%% < 85%%", 100*acc)
	}
}

// TestOraclePersonalObjects: the Fluent 3D personal objects, drawn as the
// training views draw them, are named as their super-categories (reported;
// a loose bar, as there are only eight images).
func TestOraclePersonalObjects(t *testing.T) {
	o := testOracle(t)
	a, _ := testAtlas(t)
	opt := defaultViewOptions()
	opt.Personal, opt.Noise, opt.Blur = 1, 0, 0
	vs, err := newViewSampler(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(77, 1))
	var imgs []image.Image
	var want []string
	for i := 0; i < 80; i++ {
		buf := make([]float32, 32*32*3)
		c := vs.sample(rng, 32, buf)
		imgs = append(imgs, FromNHWC(buf, 32))
		want = append(want, vs.classes[c])
	}
	labels, _, err := o.Classify(imgs)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i := range labels {
		if labels[i] == want[i] {
			ok++
		}
	}
	t.Logf("personal objects: %d of %d named right", ok, len(labels))
	if ok < len(labels)*6/10 {
		t.Errorf("only %d of %d personal views named right", ok, len(labels))
	}
}

// TestOracleFeatures: features are unit vectors; views of one sprite are
// more alike than views of different sprites, and a name's two styles more
// alike than two different names.
func TestOracleFeatures(t *testing.T) {
	o := testOracle(t)
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(3, 3))
	views := func(sprite, n int) []image.Image {
		var out []image.Image
		for i := 0; i < n; i++ {
			pos := dataset.Positions[rng.IntN(len(dataset.Positions))]
			size := dataset.Sizes[rng.IntN(2)]
			p, _ := a.PlaceSingle(rng, sprite, pos, size, rng.IntN(2) == 1)
			bgs := a.AllowedBackgrounds(sprite)
			out = append(out, render(r, dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: bgs[rng.IntN(len(bgs))]}}))
		}
		return out
	}
	feats := func(imgs []image.Image) [][]float32 {
		f, err := o.Features(imgs)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	dogT, _ := a.Sprite("dog", dataset.StyleTwemoji)
	dogN, _ := a.Sprite("dog", dataset.StyleNoto)
	tea, _ := a.Sprite("teapot", dataset.StyleTwemoji)
	fd, fd2, fdn, ft := feats(views(dogT, 8)), feats(views(dogT, 8)), feats(views(dogN, 8)), feats(views(tea, 8))
	for _, f := range fd {
		var s float64
		for _, v := range f {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-4 || len(f) != o.Record.Config.Feature {
			t.Fatalf("feature of %d values with norm² %v", len(f), s)
		}
	}
	same, style, other := Identity(fd, fd2), Identity(fd, fdn), Identity(fd, ft)
	t.Logf("identity: same sprite %.3f, other style %.3f, other name %.3f", same, style, other)
	if !(same > other && style > other) {
		t.Errorf("identity does not separate names: same %.3f, style %.3f, other %.3f", same, style, other)
	}
	if !math.IsNaN(Identity(nil, fd)) {
		t.Errorf("Identity of an empty set is not NaN")
	}
}

// TestOracleFile: the shipped file is F16, under 2 MB, and carries its
// record; other sizes of image are resized.
func TestOracleFile(t *testing.T) {
	if len(oracleFile) >= 2<<20 {
		t.Errorf("oracle.safetensors is %d bytes (want < 2 MB)", len(oracleFile))
	}
	f, err := safetensors.Decode(oracleFile, safetensors.ReadOptions{RejectNonFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range f.Tensors {
		if tn.DType != safetensors.F16 {
			t.Errorf("%s is %s", tn.Name, tn.DType)
		}
	}
	o := testOracle(t)
	a, r := testAtlas(t)
	if len(o.Classes()) != len(a.Names()) {
		t.Errorf("%d classes, atlas has %d names", len(o.Classes()), len(a.Names()))
	}
	t.Logf("oracle.safetensors: %d bytes, %d tensors, record %+v", len(oracleFile), len(f.Tensors), o.Record.Config)
	sp, _ := a.Sprite("rocket", dataset.StyleNoto)
	p, _ := a.PlaceSingle(nil, sp, "centre", "big", false)
	sc := dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: a.AllowedBackgrounds(sp)[0]}}
	labels, _, err := o.Classify([]image.Image{r.RenderImage(sc, 32), r.RenderImage(sc, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if labels[0] != "rocket" || labels[1] != "rocket" {
		t.Errorf("a big rocket at 32 and 64 px read as %q", labels)
	}
}

// TestDecodeOracleRejects: files that are not oracles.
func TestDecodeOracleRejects(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("not a safetensors file at all"),
	} {
		if _, err := DecodeOracle(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	b, _ := safetensors.EncodeBytes(&safetensors.File{Metadata: map[string]string{"x": "y"}})
	if _, err := DecodeOracle(b); err == nil {
		t.Errorf("no record: no error")
	}
	rec := `{"version":1,"classes":["a","b"],"config":{"image_size":8,"channels":[8],"groups":4,"feature":4}}`
	b, _ = safetensors.EncodeBytes(&safetensors.File{Metadata: map[string]string{oracleMetaKey: rec}})
	if _, err := DecodeOracle(b); err == nil {
		t.Errorf("no weights: no error")
	}
}

// TestTrainOracleTiny trains a tiny oracle for a few dozen steps on four
// sprites: the loss falls, the result decodes, and a second call resumes from the checkpoint
// (nothing left to do) and writes the same weights.
func TestTrainOracleTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	opt := defaultTrainOptions()
	opt.Config = OracleConfig{ImageSize: 32, Channels: []int{8, 16, 16}, Groups: 4, Feature: 16}
	opt.Steps, opt.Batch, opt.Warmup, opt.ReportEvery, opt.HeldOut = 60, 16, 5, 10, 50
	opt.LR = 3e-3
	// Four sprites of three names, so that a few steps show learning.
	a, _ := testAtlas(t)
	for _, n := range []string{"dog", "teapot", "rocket"} {
		opt.Views.Sprites = append(opt.Views.Sprites, a.SpritesNamed(n)...)
	}
	opt.Views.Sprites = opt.Views.Sprites[:4]
	opt.Views.Personal = 0
	dir := t.TempDir()
	var losses []float64
	if err := trainOracle(context.Background(), dir, opt, func(step int, loss, acc float64) {
		losses = append(losses, loss)
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("losses every 10 steps: %.3f", losses)
	if len(losses) != 6 || !(losses[len(losses)-1] < losses[0]-0.05) {
		t.Errorf("the loss did not fall: %v", losses)
	}
	first, err := os.ReadFile(filepath.Join(dir, OracleFileName))
	if err != nil {
		t.Fatal(err)
	}
	o, err := DecodeOracle(first)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Record.Steps != 60 || len(o.Classes()) != 120 || math.IsNaN(o.Record.HeldOutTop1) {
		t.Errorf("record %+v", o.Record)
	}
	if err := trainOracle(context.Background(), dir, opt, nil); err != nil {
		t.Fatal(err)
	}
	o2, err := os.ReadFile(filepath.Join(dir, OracleFileName))
	if err != nil {
		t.Fatal(err)
	}
	// Resuming a finished run must not train further: same steps and the
	// same measured accuracy (wall-clock fields in the record may differ).
	r2, err := DecodeOracle(o2)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if r2.Record.Steps != o.Record.Steps || r2.Record.HeldOutTop1 != o.Record.HeldOutTop1 {
		t.Errorf("resuming a finished run changed the model: %+v → %+v", o.Record, r2.Record)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opt.Steps = 80
	if err := trainOracle(ctx, t.TempDir(), opt, nil); err == nil {
		t.Errorf("a cancelled run returned no error")
	}
}

// TestPlaceFeatures: the oracle's last feature map, as the base model's
// training aligns to it (PlaceFeatures), has unit vectors at every place
// of its 4×4 grid, and says where the object is: a dog on the left and the
// same dog on the right differ most in the columns the dog moved between,
// and least where both pictures are background.
func TestPlaceFeatures(t *testing.T) {
	o := testOracle(t)
	a, r := testAtlas(t)
	dog, _ := a.Sprite("dog", dataset.StyleTwemoji)
	s := o.Record.Config.ImageSize
	per := s * s * 3
	x := make([]float32, 2*per)
	for i, pos := range []string{"left", "right"} {
		p, err := a.PlaceSingle(nil, dog, pos, "small", false)
		if err != nil {
			t.Fatal(err)
		}
		toModelInput(render(r, dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: "blue"}}), s, x[i*per:(i+1)*per])
	}
	f, side, ch, err := o.PlaceFeatures(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	if side != 4 || ch != o.Record.Config.Channels[len(o.Record.Config.Channels)-1] || len(f) != 2*side*side*ch {
		t.Fatalf("%d values, side %d, %d channels", len(f), side, ch)
	}
	for p := 0; p < 2*side*side; p++ {
		var n float64
		for _, v := range f[p*ch : (p+1)*ch] {
			n += float64(v) * float64(v)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Fatalf("place %d: norm² %v", p, n)
		}
	}
	// Mean cosine between the two pictures' places, per column.
	col := make([]float64, side)
	for y := 0; y < side; y++ {
		for xx := 0; xx < side; xx++ {
			i := (y*side + xx) * ch
			for k := 0; k < ch; k++ {
				col[xx] += float64(f[i+k]*f[side*side*ch+i+k]) / float64(side)
			}
		}
	}
	t.Logf("cosine of the left and right dogs' places by column: %.3f", col)
	if !(col[0] < col[1] || col[0] < col[2]) || !(col[3] < col[1] || col[3] < col[2]) {
		t.Errorf("the outer columns (where the dog was and went) are not the ones that differ: %.3f", col)
	}
	if _, _, _, err := o.PlaceFeatures(x[:per-1], 1); err == nil {
		t.Error("a short picture gave no error")
	}
}
