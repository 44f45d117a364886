package eval

import (
	"cmp"
	"fmt"
	"image"
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"conceptstudio/engine/dataset"
)

// pairConcept is one example concept for the two-concept tests: its
// cut-outs, as drawable views, and the oracle features of its references
// drawn as the engine draws them (big, centred, on white).
type pairConcept struct {
	name  string
	set   *dataset.ConceptSet
	views []personalView
	refs  PairConcept
}

func loadPairConcept(t *testing.T, o *Oracle, short, class string) pairConcept {
	t.Helper()
	a, _ := testAtlas(t)
	var imgs []image.Image
	for i := 1; i <= 5; i++ {
		f, err := os.Open(filepath.Join("..", "..", "examples", short, fmt.Sprintf("%d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	cs, err := dataset.NewConceptSet(a, short, class, imgs)
	if err != nil {
		t.Fatal(err)
	}
	pc := pairConcept{name: short, set: cs, refs: PairConcept{Class: class}}
	var refImgs []image.Image
	for i, cut := range cs.Cutouts {
		pc.views = append(pc.views, toPersonal(cut))
		sc, err := cs.SingleScene(nil, i, "centre", "big", false, dataset.Background{Colour: "white"})
		if err != nil {
			t.Fatal(err)
		}
		refImgs = append(refImgs, cs.RenderImage(sc, 32))
	}
	if pc.refs.Refs, err = o.Features(refImgs); err != nil {
		t.Fatal(err)
	}
	return pc
}

// placed is one object of a synthetic picture: a cut-out view with its
// box's centre (pixels) and longest side.
type placed struct {
	v      *personalView
	cx, cy float64
	side   float64
}

// compose draws the objects over a plain background, 32×32, with the
// oracle's own area-filtered compositing.
func compose(t *testing.T, bg string, objs ...placed) *Float32Image {
	t.Helper()
	c, ok := dataset.ColourByName(bg)
	if !ok {
		t.Fatalf("no colour %q", bg)
	}
	const S = 32
	pix := make([]float32, S*S*3)
	for i := 0; i < S*S; i++ {
		pix[3*i], pix[3*i+1], pix[3*i+2] = float32(c.R)/127.5-1, float32(c.G)/127.5-1, float32(c.B)/127.5-1
	}
	for _, o := range objs {
		m := float64(max(o.v.w, o.v.h))
		w, h := o.side*float64(o.v.w)/m, o.side*float64(o.v.h)/m
		o.v.drawOver(pix, S, o.cx-w/2, o.cy-h/2, w, h, false)
	}
	return FromNHWC(pix, S)
}

// pairPlaces gives the box centres of the subject and the object for
// "subject <rel> object", each in its half of a 32-pixel image, their
// boxes side apart from the middle by gap pixels (negative: overlapping).
func pairPlaces(rel string, side, gap float64) (s, o [2]float64) {
	near := 16 - gap/2 - side/2 // centre of the box in the first half
	far := 16 + gap/2 + side/2
	switch rel {
	case dataset.RelLeftOf:
		return [2]float64{near, 16}, [2]float64{far, 16}
	case dataset.RelRightOf:
		return [2]float64{far, 16}, [2]float64{near, 16}
	case dataset.RelAbove:
		return [2]float64{16, near}, [2]float64{16, far}
	default: // below
		return [2]float64{16, far}, [2]float64{16, near}
	}
}

// commonBackground is a plain colour both concepts may be drawn on: the
// skip-th by contrast (the least ΔE from any cut-out's mean colour), as the
// engine's two-concept prompts pick them.
func commonBackground(t *testing.T, a, b pairConcept, skip int) string {
	type cand struct {
		colour string
		de     float64
	}
	var cs []cand
	for _, c := range dataset.Colours {
		if !a.set.BackgroundAllowed(c.Name) || !b.set.BackgroundAllowed(c.Name) {
			continue
		}
		de := math.Inf(1)
		for _, set := range []*dataset.ConceptSet{a.set, b.set} {
			for i := range set.Cutouts {
				de = math.Min(de, dataset.DeltaE(c.RGB, set.Mean(i)))
			}
		}
		cs = append(cs, cand{c.Name, de})
	}
	slices.SortStableFunc(cs, func(p, q cand) int { return cmp.Compare(q.de, p.de) })
	if skip >= len(cs) {
		t.Fatalf("no common background for %s and %s", a.name, b.name)
	}
	return cs[skip].colour
}

// TestScorePairOnCompositions draws the example concepts' own cut-outs in
// two-object pictures: "A <rel> B" drawn as stated passes, with the
// objects apart or touching; the same picture scored with the objects
// swapped fails on the relation, and so does the pair drawn along the
// other axis; A twice fails on identity; A alone is not two objects.
func TestScorePairOnCompositions(t *testing.T) {
	o := testOracle(t)
	pairs := [][2][2]string{
		{{"teddy", "teddy bear"}, {"teapot", "teapot"}},
		{{"dog", "dog"}, {"couch", "couch"}},
	}
	rels := []string{dataset.RelLeftOf, dataset.RelRightOf, dataset.RelAbove, dataset.RelBelow}
	var pass, n, cuts int
	for _, pr := range pairs {
		A := loadPairConcept(t, o, pr[0][0], pr[0][1])
		B := loadPairConcept(t, o, pr[1][0], pr[1][1])
		for k, rel := range rels {
			bg := commonBackground(t, A, B, k%2)
			va, vb := &A.views[k%len(A.views)], &B.views[(k+1)%len(B.views)]
			for _, gap := range []float64{2, -1.5} {
				pa, pb := pairPlaces(rel, 14, gap)
				img := compose(t, bg, placed{va, pa[0], pa[1], 14}, placed{vb, pb[0], pb[1], 14})
				name := fmt.Sprintf("%s %s %s on %s, gap %g", A.name, rel, B.name, bg, gap)

				right, err := ScorePair(img, rel, o, A.refs, B.refs)
				if err != nil {
					t.Fatal(err)
				}
				n++
				if right.OK {
					pass++
				} else {
					t.Errorf("%s: a right composition fails: %+v", name, right)
				}
				if right.Cut {
					cuts++
				}
				// The same picture for "B <rel> A": each object is still
				// itself, but they stand the other way round.
				swapped, err := ScorePair(img, rel, o, B.refs, A.refs)
				if err != nil {
					t.Fatal(err)
				}
				if swapped.OK || swapped.RelationOK {
					t.Errorf("%s: swapped objects pass: %+v", name, swapped)
				}
				if gap < 0 {
					continue
				}
				twice := compose(t, bg, placed{va, pa[0], pa[1], 14}, placed{&A.views[(k+2)%len(A.views)], pb[0], pb[1], 14})
				if s, err := ScorePair(twice, rel, o, A.refs, B.refs); err != nil || s.OK || s.IdentityOK {
					t.Errorf("%s: A twice passes: %+v %v", name, s, err)
				}
			}
			// Drawn along the other axis: not in the stated places.
			other := map[string]string{dataset.RelLeftOf: dataset.RelAbove, dataset.RelRightOf: dataset.RelBelow,
				dataset.RelAbove: dataset.RelRightOf, dataset.RelBelow: dataset.RelLeftOf}[rel]
			pa, pb := pairPlaces(other, 14, 2)
			across := compose(t, bg, placed{va, pa[0], pa[1], 14}, placed{vb, pb[0], pb[1], 14})
			if s, err := ScorePair(across, rel, o, A.refs, B.refs); err != nil || s.OK {
				t.Errorf("%s drawn %s %s passes as %s: %+v %v", A.name, other, B.name, rel, s, err)
			}
			alone := compose(t, bg, placed{va, 16, 16, 22})
			if s, err := ScorePair(alone, rel, o, A.refs, B.refs); err != nil || s.OK {
				t.Errorf("%s alone passes as %s %s %s: %+v %v", A.name, A.name, rel, B.name, s, err)
			}
		}
	}
	t.Logf("right compositions passed: %d of %d (%d of them cut apart)", pass, n, cuts)
	if cuts < 4 {
		t.Errorf("only %d touching pairs needed a cut: the cut path is barely tested", cuts)
	}
}

// TestScorePairRejectsNoise: blotchy noise (what an untrained model
// draws) is not two concepts, although one of two concepts is always the
// closer.
func TestScorePairRejectsNoise(t *testing.T) {
	o := testOracle(t)
	A := loadPairConcept(t, o, "teddy", "teddy bear")
	B := loadPairConcept(t, o, "teapot", "teapot")
	rng := rand.New(rand.NewPCG(3, 4))
	found, passed := 0, 0
	for k := 0; k < 40; k++ {
		// Noise at 8×8, upsampled: blobs of a few pixels.
		coarse := make([]float32, 8*8*3)
		for i := range coarse {
			coarse[i] = float32(max(-1, min(1, rng.NormFloat64()*0.7)))
		}
		pix := make([]float32, 32*32*3)
		for y := 0; y < 32; y++ {
			for x := 0; x < 32; x++ {
				copy(pix[3*(32*y+x):3*(32*y+x)+3], coarse[3*(8*(y/4)+x/4):])
			}
		}
		s, err := ScorePair(FromNHWC(pix, 32), dataset.Relations[k%4], o, A.refs, B.refs)
		if err != nil {
			t.Fatal(err)
		}
		if s.Found {
			found++
		}
		if s.OK {
			passed++
		}
	}
	t.Logf("noise: two objects found in %d of 40, passed %d", found, passed)
	if passed > 0 {
		t.Errorf("%d of 40 noise images pass as two concepts", passed)
	}
}

// TestCutAlong: a one-piece mask of two blobs joined by a thin bridge is
// cut at the bridge; a lone compact blob is cut too (it is told apart by
// identity, not here), but a sliver is refused.
func TestCutAlong(t *testing.T) {
	m := newMask(16, 16)
	set := func(x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				m.On[y*16+x] = true
			}
		}
	}
	set(1, 4, 7, 12)  // left blob
	set(9, 3, 15, 13) // right blob
	set(7, 7, 9, 8)   // bridge, one pixel high
	a, b, ok := cutAlong(m, false)
	if !ok {
		t.Fatal("no cut")
	}
	if ab, bb := a.Bounds(), b.Bounds(); ab.Max.X > 9 || bb.Min.X < 7 || math.Abs(float64(a.Count()-48)) > 2 {
		t.Errorf("cut at the wrong place: %v %v (%d, %d pixels)", ab, bb, a.Count(), b.Count())
	}
	if _, _, ok := cutAlong(newMask(16, 16), true); ok {
		t.Error("an empty mask was cut")
	}
	thin := newMask(16, 16)
	for x := 0; x < 16; x++ {
		thin.On[8*16+x] = true
	}
	if _, _, ok := cutAlong(thin, true); ok {
		t.Error("a one-row mask was cut across its row")
	}
}
