package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"conceptstudio/engine/dataset"
)

var (
	atlasOnce sync.Once
	atlasVal  *dataset.Atlas
	atlasErr  error
)

func testAtlas(t testing.TB) (*dataset.Atlas, *dataset.Renderer) {
	t.Helper()
	atlasOnce.Do(func() { atlasVal, atlasErr = dataset.LoadAtlas() })
	if atlasErr != nil {
		t.Fatalf("LoadAtlas: %v", atlasErr)
	}
	return atlasVal, dataset.NewRenderer(atlasVal)
}

func render(r *dataset.Renderer, sc dataset.Scene) *Float32Image {
	buf := make([]float32, 32*32*3)
	r.Render(sc, 32, buf)
	return FromNHWC(buf, 32)
}

// singleAccuracy renders n random single-object scenes and returns the
// share right of: background colour, pattern, position, size.
func singleAccuracy(t *testing.T, seed uint64, n int, opt dataset.SceneOptions, noise float64) (bg, pat, pos, size float64) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < n; i++ {
		sc := a.RandomScene(rng, opt)
		img := render(r, sc)
		for j := range img.Pix {
			img.Pix[j] = float32(math.Max(-1, math.Min(1, float64(img.Pix[j])+noise*rng.NormFloat64())))
		}
		name, _ := BackgroundColour(img)
		if name == sc.Background.Colour {
			bg++
		}
		if BackgroundPattern(img, sc.Background.Colour) == sc.Background.Pattern {
			pat++
		}
		m := ForegroundMask(img, sc.Background.Colour)
		p := sc.Objects[0]
		if Position(m) == p.Position {
			pos++
		}
		if Size(m) == p.Size {
			size++
		}
	}
	f := float64(n)
	return bg / f, pat / f, pos / f, size / f
}

// TestAttributesOnPlainRenders: on 500 random single-object scenes with
// plain backgrounds (where the truth is known) the checks agree with the
// scene: background ≥ 99%, position ≥ 95%, size ≥ 90%.
func TestAttributesOnPlainRenders(t *testing.T) {
	bg, pat, pos, size := singleAccuracy(t, 11, 500, dataset.SceneOptions{FlipProb: 0.5}, 0)
	t.Logf("plain backgrounds, 500 scenes: background %.1f%%, pattern (plain) %.1f%%, position %.1f%%, size %.1f%%", 100*bg, 100*pat, 100*pos, 100*size)
	if bg < 0.99 || pos < 0.95 || size < 0.90 || pat < 0.98 {
		t.Errorf("below the bar (background 99%%, position 95%%, size 90%%, pattern 98%%)")
	}
}

// TestAttributesOnPatternedRenders: the same on patterned backgrounds
// (striped, dotted, checkered, gradient), with a lower bar.
func TestAttributesOnPatternedRenders(t *testing.T) {
	bg, pat, pos, size := singleAccuracy(t, 12, 500, dataset.SceneOptions{FlipProb: 0.5, PatternProb: 1}, 0)
	t.Logf("patterned backgrounds, 500 scenes: background %.1f%%, pattern %.1f%%, position %.1f%%, size %.1f%%", 100*bg, 100*pat, 100*pos, 100*size)
	if bg < 0.95 || pat < 0.90 || pos < 0.90 || size < 0.85 {
		t.Errorf("below the bar (background 95%%, pattern 90%%, position 90%%, size 85%%)")
	}
}

// TestAttributesOnNoisyRenders: with Gaussian noise (σ 0.05 and 0.1 in
// [-1, 1], about 6/255 and 13/255), as a stand-in for a sampler's
// leftovers, the checks still mostly hold (reported; a loose bar).
func TestAttributesOnNoisyRenders(t *testing.T) {
	for _, sigma := range []float64{0.05, 0.1} {
		bg, pat, pos, size := singleAccuracy(t, 13, 200, dataset.SceneOptions{FlipProb: 0.5, PatternProb: 0.25}, sigma)
		t.Logf("noisy renders (σ %.2f), 200 scenes, 25%% patterned: background %.1f%%, pattern %.1f%%, position %.1f%%, size %.1f%%", sigma, 100*bg, 100*pat, 100*pos, 100*size)
		if bg < 0.95 || pos < 0.9 || size < 0.85 {
			t.Errorf("σ %.2f: below the loose bar (background 95%%, position 90%%, size 85%%)", sigma)
		}
	}
}

// TestPositionsAndSizesExact: every position and size word, at the middle
// of the dataset's ranges (nil rng) and at random, for sprites of several
// shapes, reads back as placed.
func TestPositionsAndSizesExact(t *testing.T) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(5, 5))
	names := []string{"dog", "teapot", "guitar", "rocket", "banana", "bus"}
	bad := 0
	total := 0
	for _, name := range names {
		for _, style := range dataset.Styles {
			sp, _ := a.Sprite(name, style)
			bgc := a.AllowedBackgrounds(sp)[0]
			for _, pos := range dataset.Positions {
				for _, size := range dataset.Sizes {
					for k, g := range []*rand.Rand{nil, rng} {
						p, err := a.PlaceSingle(g, sp, pos, size, k == 1)
						if err != nil {
							t.Fatal(err)
						}
						m := ForegroundMask(render(r, dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: bgc}}), bgc)
						total++
						if Position(m) != pos || Size(m) != size {
							bad++
							t.Logf("%s %s %s %s: read %s %s (extent %.3f, true %.3f)", name, style, pos, size, Position(m), Size(m), m.Extent(), p.Extent)
						}
					}
				}
			}
		}
	}
	if bad > total/50 {
		t.Errorf("%d of %d placements misread", bad, total)
	}
}

// TestExtentCalibration: the mask's extent (with edgeAllowance) is unbiased
// against the dataset's box: the median error over random scenes is within
// a quarter pixel.
func TestExtentCalibration(t *testing.T) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(21, 1))
	var errs []float64
	for i := 0; i < 300; i++ {
		sc := a.RandomScene(rng, dataset.SceneOptions{FlipProb: 0.5})
		m := ForegroundMask(render(r, sc), sc.Background.Colour)
		_, _, w, h := a.Box(sc.Objects[0], 32)
		errs = append(errs, (m.Extent()-max(w, h)/32)*32)
	}
	slices.Sort(errs)
	med := errs[len(errs)/2]
	t.Logf("extent error in pixels: 10%% %.2f, median %.2f, 90%% %.2f", errs[len(errs)/10], med, errs[len(errs)*9/10])
	if math.Abs(med) > 0.25 {
		t.Errorf("median extent error %.2f px", med)
	}
}

// TestPairsOnRenders: two-object scenes split into their objects, and the
// relation holds for the object matched to the subject (by the truth's
// centres) ≥ 95%.
func TestPairsOnRenders(t *testing.T) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(31, 1))
	var n, split, rel, sizes int
	for n < 300 {
		sc := a.RandomScene(rng, dataset.SceneOptions{FlipProb: 0.5, PairProb: 1, PatternProb: 0.25})
		if len(sc.Objects) != 2 {
			continue
		}
		n++
		m := ForegroundMask(render(r, sc), sc.Background.Colour)
		x, y, ok := Split(m)
		if !ok {
			continue
		}
		split++
		cx, cy, _, _ := x.Box()
		d := func(p dataset.Placed) float64 { return math.Hypot(cx-p.CX, cy-p.CY) }
		if d(sc.Objects[1]) < d(sc.Objects[0]) {
			x, y = y, x
		}
		if RelationHolds(x, y, sc.Relation) {
			rel++
		}
		if Size(x) == sc.Objects[0].Size && Size(y) == sc.Objects[1].Size {
			sizes++
		}
	}
	t.Logf("pairs, %d scenes: split %.1f%%, relation %.1f%%, both sizes %.1f%%", n, 100*float64(split)/float64(n), 100*float64(rel)/float64(n), 100*float64(sizes)/float64(n))
	if rel < n*95/100 {
		t.Errorf("relation right in %d of %d", rel, n)
	}
}

// TestRelationWords: hand-made masks.
func TestRelationWords(t *testing.T) {
	box := func(x0, y0, x1, y1 int) *Mask {
		m := newMask(32, 32)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				m.On[y*32+x] = true
				m.Strength[y*32+x] = 50
			}
		}
		return m
	}
	left, right := box(2, 10, 12, 20), box(20, 12, 30, 22)
	top, bottom := box(10, 1, 20, 10), box(11, 20, 21, 30)
	for _, c := range []struct {
		a, b *Mask
		rel  string
		want bool
	}{
		{left, right, dataset.RelLeftOf, true},
		{left, right, dataset.RelRightOf, false},
		{right, left, dataset.RelRightOf, true},
		{left, right, dataset.RelNextTo, true},
		{right, left, dataset.RelNextTo, true},
		{top, bottom, dataset.RelAbove, true},
		{bottom, top, dataset.RelBelow, true},
		{top, bottom, dataset.RelNextTo, false},
	} {
		if got := RelationHolds(c.a, c.b, c.rel); got != c.want {
			t.Errorf("RelationHolds(%v, %v, %q) = %v (Relation says %q)", c.a.Bounds(), c.b.Bounds(), c.rel, got, Relation(c.a, c.b))
		}
	}
	whole := newMask(32, 32)
	for i := range whole.On {
		whole.On[i] = left.On[i] || right.On[i]
	}
	if a, b, ok := Split(whole); !ok || a.Count() != 100 || b.Count() != 100 {
		t.Errorf("Split of two boxes: ok %v", ok)
	}
}

// TestEmptyScene: a background alone reads as its colour, with an empty
// mask.
func TestEmptyScene(t *testing.T) {
	_, r := testAtlas(t)
	for _, c := range dataset.Colours {
		for _, p := range append([]string{""}, dataset.Patterns...) {
			img := render(r, dataset.Scene{Background: dataset.Background{Colour: c.Name, Pattern: p, Phase: 0.3}})
			name, d := BackgroundColour(img)
			if name != c.Name || d > 2 {
				t.Errorf("%s %s background read as %s (ΔE %.1f)", p, c.Name, name, d)
			}
			if got := BackgroundPattern(img, c.Name); got != p {
				t.Errorf("%s %s background: pattern read as %q", p, c.Name, got)
			}
			if n := ForegroundMask(img, c.Name).Count(); n != 0 {
				t.Errorf("%s %s background: %d foreground pixels", p, c.Name, n)
			}
		}
	}
}

// TestImageKindsAgree: an image.Image and the NHWC floats of the same
// render read the same.
func TestImageKindsAgree(t *testing.T) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(41, 1))
	for i := 0; i < 20; i++ {
		sc := a.RandomScene(rng, dataset.DefaultSceneOptions())
		f := render(r, sc)
		im := r.RenderImage(sc, 32)
		n1, _ := BackgroundColour(f)
		n2, _ := BackgroundColour(im)
		m1, m2 := ForegroundMask(f, n1), ForegroundMask(im, n2)
		if n1 != n2 || Position(m1) != Position(m2) || m1.Bounds() != m2.Bounds() {
			t.Errorf("scene %d: float %s %s %v, image %s %s %v", i, n1, Position(m1), m1.Bounds(), n2, Position(m2), m2.Bounds())
		}
	}
	// At 64×64 the same scene reads alike.
	sc := a.RandomScene(rng, dataset.SceneOptions{})
	big := r.RenderImage(sc, 64)
	name, _ := BackgroundColour(big)
	m := ForegroundMask(big, name)
	if name != sc.Background.Colour || Position(m) != sc.Objects[0].Position {
		t.Errorf("64×64: read %s %s, scene %s %s", name, Position(m), sc.Background.Colour, sc.Objects[0].Position)
	}
}

// TestPositionOnABackgroundDrawnOffColour: a model draws a plain
// background a little off its named colour (the embedded model's black a
// dark blue about 12 ΔE away): on 300 plain single-object renders whose
// background pixels are drawn in such a cast (12 ΔE from the colour in a
// random direction of sRGB, with noise of σ 0.03 in [-1, 1]; scenes whose
// background is then named another colour are skipped), the
// mask still finds the object where it is: position ≥ 95% and size ≥ 90%,
// the bar of plain renders. Measured from the named colour instead of
// the drawn one, the cast background itself becomes foreground.
func TestPositionOnABackgroundDrawnOffColour(t *testing.T) {
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(13, 1))
	var n, pos, size int
	for n < 300 {
		sc := a.RandomScene(rng, dataset.SceneOptions{FlipProb: 0.5})
		clean := render(r, sc)
		bm, _ := modelByName(sc.Background.Colour)
		var dir [3]float64
		for c := range dir {
			dir[c] = rng.NormFloat64()
		}
		// the cast: the step along dir that moves the colour 12 ΔE
		castAt := func(step float64) (c [3]float64) {
			for k := range c {
				c[k] = math.Max(0, math.Min(1, bm.c[k]+step*dir[k]))
			}
			return c
		}
		lo, hi := 0.0, 1.0
		for range 40 {
			mid := (lo + hi) / 2
			c := castAt(mid)
			l, aa, bb := lab3(c[0], c[1], c[2])
			if dist3([]float64{l, aa, bb}, bm.lab[:]) < 12 {
				lo = mid
			} else {
				hi = mid
			}
		}
		cast := castAt(lo)
		img := &Float32Image{Size: clean.Size, Pix: slices.Clone(clean.Pix)}
		rgb := toRGB(clean)
		for i := 0; i < len(img.Pix)/3; i++ {
			if dist3(rgb.lab[3*i:3*i+3], bm.lab[:]) > 1 {
				continue // the object, and its antialiased edge
			}
			for c := range 3 {
				v := 2*cast[c] - 1 + 0.03*rng.NormFloat64()
				img.Pix[3*i+c] = float32(math.Max(-1, math.Min(1, v)))
			}
		}
		if name, _ := BackgroundColour(img); name != sc.Background.Colour {
			continue
		}
		n++
		m := ForegroundMask(img, sc.Background.Colour)
		if Position(m) == sc.Objects[0].Position {
			pos++
		}
		if Size(m) == sc.Objects[0].Size {
			size++
		}
	}
	t.Logf("plain backgrounds drawn off-colour, %d scenes: position %.1f%%, size %.1f%%", n, 100*float64(pos)/float64(n), 100*float64(size)/float64(n))
	if float64(pos) < 0.95*float64(n) || float64(size) < 0.90*float64(n) {
		t.Errorf("below the bar (position 95%%, size 90%%)")
	}
}
