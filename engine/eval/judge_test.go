package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"conceptstudio/engine/dataset"
)

func testJudge(t testing.TB) *Oracle { t.Helper(); return shippedJudge.get(t, LoadJudge) }

// TestJudgeIsColourBlindAndNamesShapes validates the shipped judge on
// renders no model made (two scenes per class, 240 images) as the issue
// asks: the ground truth scores high (the ceiling), the same scenes with
// each sprite replaced by an ellipse of its mean colour score near chance,
// sprites with turned hues score near the ceiling, and shuffled tiles
// (every colour kept) score at chance. The colour oracle, given the same
// controls, passes the colour-only blobs far more often: the reason the
// judge exists.
func TestJudgeIsColourBlindAndNamesShapes(t *testing.T) {
	j := testJudge(t)
	a, _ := testAtlas(t)
	v, err := ValidateJudge(j, a, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("judge: truth %v; colour only %v; hue rotated %v; shuffled %v", v.Truth, v.ColourOnly, v.HueRotated, v.Shuffled)
	if v.Truth.Images != 240 || v.Truth.Top1 < 0.8 {
		t.Errorf("ground truth %v: want top-1 ≥ 0.8", v.Truth)
	}
	if v.ColourOnly.Top1 > 0.06 || v.ColourOnly.MedianRank < 10 {
		t.Errorf("colour-only blobs %v: want top-1 ≤ 0.06 (chance %.3f) and median rank ≥ 10", v.ColourOnly, v.Chance)
	}
	if v.HueRotated.Top1 < v.Truth.Top1-0.07 {
		t.Errorf("hue-rotated sprites %v against the ground truth's %.3f: want within 7 points", v.HueRotated, v.Truth.Top1)
	}
	if v.Shuffled.Top1 > 0.04 {
		t.Errorf("shuffled tiles %v: want top-1 ≤ 0.04", v.Shuffled)
	}
	o := testOracle(t)
	ov, err := ValidateJudge(o, a, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("colour oracle: truth %v; colour only %v; hue rotated %v", ov.Truth, ov.ColourOnly, ov.HueRotated)
	if ov.ColourOnly.Top1 < 2*v.ColourOnly.Top1+0.05 {
		t.Errorf("the colour oracle names colour-only blobs %v, the judge %v: the controls no longer tell them apart", ov.ColourOnly, v.ColourOnly)
	}
}

// TestShapeInputSeesOnlyLightness: shapeInput of an image equals that of
// the same image with every pixel replaced by the grey of its luma; and
// its channels are the luma, the luma against the border's, and edges
// (none on a flat image).
func TestShapeInputSeesOnlyLightness(t *testing.T) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(3, 3))
	for k := 0; k < 5; k++ {
		sc := a.RandomScene(rng, dataset.SceneOptions{FlipProb: 0.5, PatternProb: 0.5})
		x := render(r, sc).Pix
		grey := slices.Clone(x)
		for i := 0; i < 32*32; i++ {
			l := float32(lumaR*float64(x[3*i]) + lumaG*float64(x[3*i+1]) + lumaB*float64(x[3*i+2]))
			grey[3*i], grey[3*i+1], grey[3*i+2] = l, l, l
		}
		shapeInput(x, 32)
		shapeInput(grey, 32)
		for i := range x {
			if math.Abs(float64(x[i]-grey[i])) > 1e-5 {
				t.Fatalf("scene %d value %d: %v from the colours, %v from their greys", k, i, x[i], grey[i])
			}
		}
	}
	flat := make([]float32, 8*8*3)
	for i := range flat {
		flat[i] = 0.5
	}
	shapeInput(flat, 8)
	for i := 0; i < 64; i++ {
		if flat[3*i] != 0.5 || flat[3*i+1] != 0 || flat[3*i+2] != -1 {
			t.Fatalf("flat grey pixel %d: %v, want luma 0.5, contrast 0, no edge (-1)", i, flat[3*i:3*i+3])
		}
	}
}

// TestControlsRender: the colour-only control fills the sprite's box with
// an ellipse of its mean colour and leaves the background elsewhere; a hue
// turn of 0 is the render itself, a turn of 180° changes the sprite only;
// shuffled tiles keep every pixel value.
func TestControlsRender(t *testing.T) {
	a, r := testAtlas(t)
	sp := a.SpritesNamed("teddy bear")[0]
	p, err := a.PlaceSingle(nil, sp, "centre", "big", false)
	if err != nil {
		t.Fatal(err)
	}
	sc := dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: "blue"}}
	x := render(r, sc).Pix
	c := ColourOnly(r, sc, 32)
	m := a.Sprites[sp].Mean
	want := []float32{float32(m.R)/127.5 - 1, float32(m.G)/127.5 - 1, float32(m.B)/127.5 - 1}
	mid := 3 * (16*32 + 16)
	for ch := 0; ch < 3; ch++ {
		if math.Abs(float64(c[mid+ch]-want[ch])) > 1e-5 {
			t.Fatalf("ellipse centre %v, want the mean colour %v", c[mid:mid+3], want)
		}
		if c[ch] != x[ch] {
			t.Fatalf("corner %v, want the background %v", c[:3], x[:3])
		}
	}
	same := HueRotatedSprites(r, sc, 32, 0)
	for i := range x {
		if math.Abs(float64(same[i]-x[i])) > 2e-3 {
			t.Fatalf("a hue turn of 0 changed value %d: %v → %v", i, x[i], same[i])
		}
	}
	turned := HueRotatedSprites(r, sc, 32, math.Pi)
	if turned[0] != x[0] || turned[mid] == x[mid] {
		t.Errorf("a half turn: corner %v → %v (want the same), centre %v → %v (want changed)", x[:3], turned[:3], x[mid:mid+3], turned[mid:mid+3])
	}
	sh := ShuffleTiles(x, 32, 4, rand.New(rand.NewPCG(1, 1)))
	a1, a2 := slices.Clone(x), slices.Clone(sh)
	slices.Sort(a1)
	slices.Sort(a2)
	if !slices.Equal(a1, a2) || slices.Equal(x, sh) {
		t.Errorf("shuffled tiles must keep every value and move some")
	}
}

// TestFrechetDistance on cases with known answers: a set against itself
// is 0; shifting every vector by d adds |d|²; two 2-D Gaussians' samples
// with diagonal covariances give |Δμ|² + Σ(σa−σb)² (the closed form when
// the covariances commute).
func TestFrechetDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	sample := func(n int, mu, sd [2]float64) [][]float32 {
		var out [][]float32
		for i := 0; i < n; i++ {
			out = append(out, []float32{float32(mu[0] + sd[0]*rng.NormFloat64()), float32(mu[1] + sd[1]*rng.NormFloat64())})
		}
		return out
	}
	a := sample(400, [2]float64{0, 0}, [2]float64{1, 2})
	if d, err := FrechetDistance(a, a); err != nil || d > 1e-6 {
		t.Errorf("a set against itself: %v, %v", d, err)
	}
	shifted := make([][]float32, len(a))
	for i, v := range a {
		shifted[i] = []float32{v[0] + 3, v[1] - 4}
	}
	if d, err := FrechetDistance(a, shifted); err != nil || math.Abs(d-25) > 1e-3 {
		t.Errorf("shifted by (3, −4): %v, want 25 (%v)", d, err)
	}
	// Exact moments: build sets whose sample means and covariances are
	// known by symmetric construction.
	exact := func(mu, sd [2]float64) [][]float32 {
		var out [][]float32
		for _, s := range [][2]float64{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}} {
			out = append(out, []float32{float32(mu[0] + sd[0]*s[0]*math.Sqrt(0.75)), float32(mu[1] + sd[1]*s[1]*math.Sqrt(0.75))})
		}
		return out
	}
	d, err := FrechetDistance(exact([2]float64{1, 2}, [2]float64{1, 3}), exact([2]float64{0, 0}, [2]float64{2, 1}))
	want := 1.0 + 4 + 1 + 4
	if err != nil || math.Abs(d-want) > 1e-4 {
		t.Errorf("closed form: %v, want %v (%v)", d, want, err)
	}
	if _, err := FrechetDistance(a[:1], a); err == nil {
		t.Errorf("one vector: no error")
	}
}

// TestFrechetInfinity: two samples of 400 from one 32-dimensional
// Gaussian are a plain distance of about 1.5 apart (the finite-sample
// bias) and about 0 by FID∞; two distributions a known distance apart
// (the mean moved by 0.1 along every axis: 0.32) are overstated by the
// plain distance and recovered by FID∞. FID∞ must take out at least 85%
// of the bias (measured: 94% and 89%; its remaining error is the one
// sample's own luck, which no subset removes); the same seed gives the
// same value.
func TestFrechetInfinity(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const d, n = 32, 400
	sample := func(shift float64) [][]float32 {
		out := make([][]float32, n)
		for i := range out {
			out[i] = make([]float32, d)
			for j := range out[i] {
				out[i][j] = float32(shift + rng.NormFloat64())
			}
		}
		return out
	}
	a, b, c := sample(0), sample(0), sample(0.1)
	plainSame, _ := FrechetDistance(a, b)
	infSame, err := FrechetInfinity(a, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	plainShift, _ := FrechetDistance(a, c)
	infShift, _ := FrechetInfinity(a, c, 1)
	const want = d * 0.1 * 0.1
	t.Logf("one distribution: plain %.4f, FID∞ %.4f; mean moved (true %.2f): plain %.4f, FID∞ %.4f", plainSame, infSame, want, plainShift, infShift)
	if plainSame < 0.5 {
		t.Fatalf("the test needs a visible bias: plain distance %.4f between samples of one distribution", plainSame)
	}
	if math.Abs(infSame) > 0.15*plainSame {
		t.Errorf("one distribution: FID∞ %.4f, want within 15%% of the plain distance's bias %.4f of 0", infSame, plainSame)
	}
	if math.Abs(infShift-want) > 0.15*plainSame || plainShift-want < plainSame/2 {
		t.Errorf("mean moved: FID∞ %.4f, plain %.4f; want FID∞ within %.4f of %.2f", infShift, plainShift, 0.15*plainSame, want)
	}
	if again, _ := FrechetInfinity(a, c, 1); again != infShift {
		t.Errorf("same seed, another value: %v then %v", infShift, again)
	}
	if _, err := FrechetInfinity(a[:7], b, 1); err == nil {
		t.Errorf("seven vectors: no error")
	}
}

// TestTrainJudgeTiny: the judge's training (colour jitter, object views,
// colour-blind input) runs on a tiny network, lowers its loss and writes a
// judge that LoadJudge-style checks accept.
func TestTrainJudgeTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	opt := defaultJudgeTrainOptions()
	opt.Config = OracleConfig{ImageSize: 32, Channels: []int{8, 16, 16}, Groups: 4, Feature: 16, Blocks: 2, Input: InputShape}
	opt.Steps, opt.Batch, opt.Warmup, opt.ReportEvery, opt.HeldOut = 60, 16, 5, 10, 50
	a, _ := testAtlas(t)
	for _, n := range []string{"dog", "rocket"} {
		opt.Views.Sprites = append(opt.Views.Sprites, a.SpritesNamed(n)...)
	}
	opt.Views.Personal = 0
	dir := t.TempDir()
	var losses []float64
	if err := trainOracle(context.Background(), dir, opt, func(step int, loss, acc float64) {
		losses = append(losses, loss)
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("losses every 10 steps: %.3f", losses)
	if !(losses[len(losses)-1] < losses[0]-0.05) {
		t.Errorf("the loss did not fall: %v", losses)
	}
}
