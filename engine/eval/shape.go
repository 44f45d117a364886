package eval

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"conceptstudio/engine/dataset"
)

// ShapeScore is how well a classifier names the objects of a set of
// images: the share whose class is its first answer (Top1) or among its
// five likeliest (Top5), and the median rank of the true class (1: first).
type ShapeScore struct {
	Images     int     `json:"images"`
	Top1       float64 `json:"top1"`
	Top5       float64 `json:"top5"`
	MedianRank float64 `json:"median_rank"`
}

// String is "top-1 0.812, top-5 0.950, median rank 1 (240 images)".
func (s ShapeScore) String() string {
	return fmt.Sprintf("top-1 %.3f, top-5 %.3f, median rank %g (%d images)", s.Top1, s.Top5, s.MedianRank, s.Images)
}

// ScoreShapes classifies imgs with o and scores the answers against the
// true class names (a class o does not know counts as last).
func ScoreShapes(o *Oracle, imgs []image.Image, classes []string) (ShapeScore, error) {
	if len(imgs) != len(classes) {
		return ShapeScore{}, fmt.Errorf("eval: %d images for %d classes", len(imgs), len(classes))
	}
	if len(imgs) == 0 {
		return ShapeScore{}, nil
	}
	_, probs, err := o.Classify(imgs)
	if err != nil {
		return ShapeScore{}, err
	}
	ranks := make([]float64, len(imgs))
	var s ShapeScore
	for i, p := range probs {
		r := rankOf(o, p, classes[i])
		ranks[i] = float64(r)
		if r == 1 {
			s.Top1++
		}
		if r <= 5 {
			s.Top5++
		}
	}
	n := float64(len(imgs))
	s.Images, s.Top1, s.Top5 = len(imgs), s.Top1/n, s.Top5/n
	s.MedianRank = median(ranks)
	return s, nil
}

// rankOf is the rank of class among p's answers (1: the likeliest), or the
// number of classes plus one when o does not know it.
func rankOf(o *Oracle, p []float32, class string) int {
	k := slices.Index(o.Record.Classes, class)
	if k < 0 {
		return len(p) + 1
	}
	r := 1
	for j, v := range p {
		if j != k && v > p[k] {
			r++
		}
	}
	return r
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// JudgeValidation is the shape judge measured on renders no model made,
// each with the same scenes: the ground truth (the ceiling any model's
// images can reach), the same scenes with each sprite replaced by an
// ellipse of its mean colour in its box (ColourOnly: what a blob of the
// right colour scores; it must be near Chance), with hues turned by 90°,
// 180° and 270° (HueRotated: a colour-blind judge stays near the
// ceiling), and with the image's 4×4-pixel tiles shuffled (Shuffled: the
// colours kept, the shape gone).
type JudgeValidation struct {
	Classes    int        `json:"classes"`
	Chance     float64    `json:"chance_top1"`
	Truth      ShapeScore `json:"ground_truth"`
	ColourOnly ShapeScore `json:"colour_only"`
	HueRotated ShapeScore `json:"hue_rotated"`
	Shuffled   ShapeScore `json:"shuffled"`
}

// ValidationScenes are the judge's check scenes: perClass single-object
// scenes of every class of a (its sprites in turn, so both styles), at
// the dataset's positions and sizes, mirrored half the time, on an
// allowed plain background (a quarter patterned), from a fixed seed.
func ValidationScenes(a *dataset.Atlas, perClass int, seed uint64) ([]dataset.Scene, []string) {
	rng := rand.New(rand.NewPCG(seed, 0x5A9E))
	var scenes []dataset.Scene
	var classes []string
	for _, name := range a.Names() {
		sprites := a.SpritesNamed(name)
		for k := 0; k < perClass; k++ {
			sp := sprites[k%len(sprites)]
			pos := dataset.Positions[rng.IntN(len(dataset.Positions))]
			size := dataset.Sizes[rng.IntN(len(dataset.Sizes))]
			p, err := a.PlaceSingle(rng, sp, pos, size, rng.Float64() < 0.5)
			if err != nil {
				panic(err) // unreachable: the dataset's own words
			}
			allowed := a.AllowedBackgrounds(sp)
			bg := dataset.Background{Colour: allowed[rng.IntN(len(allowed))]}
			if rng.Float64() < 0.25 {
				bg.Pattern = dataset.Patterns[rng.IntN(len(dataset.Patterns))]
				bg.Phase = rng.Float64()
			}
			scenes = append(scenes, dataset.Scene{Objects: []dataset.Placed{p}, Background: bg})
			classes = append(classes, name)
		}
	}
	return scenes, classes
}

// ValidateJudge measures o (normally the shape judge) on the validation
// scenes (perClass per class) and their controls.
func ValidateJudge(o *Oracle, a *dataset.Atlas, perClass int, seed uint64) (JudgeValidation, error) {
	scenes, classes := ValidationScenes(a, perClass, seed)
	rd := dataset.NewRenderer(a)
	S := o.Record.Config.ImageSize
	v := JudgeValidation{Classes: len(o.Record.Classes), Chance: 1 / float64(len(o.Record.Classes))}
	var truth, colour, hue, shuffled []image.Image
	var hueClasses []string
	rng := rand.New(rand.NewPCG(seed, 0x5F1E))
	for i, sc := range scenes {
		x := make([]float32, S*S*3)
		rd.Render(sc, S, x)
		truth = append(truth, FromNHWC(x, S))
		colour = append(colour, FromNHWC(ColourOnly(rd, sc, S), S))
		hue = append(hue, FromNHWC(HueRotatedSprites(rd, sc, S, float64(1+i%3)*math.Pi/2), S))
		hueClasses = append(hueClasses, classes[i])
		shuffled = append(shuffled, FromNHWC(ShuffleTiles(x, S, 4, rng), S))
	}
	var err error
	if v.Truth, err = ScoreShapes(o, truth, classes); err != nil {
		return v, err
	}
	if v.ColourOnly, err = ScoreShapes(o, colour, classes); err != nil {
		return v, err
	}
	if v.HueRotated, err = ScoreShapes(o, hue, hueClasses); err != nil {
		return v, err
	}
	v.Shuffled, err = ScoreShapes(o, shuffled, classes)
	return v, err
}

// ColourOnly renders a scene with each sprite replaced by an ellipse of
// the sprite's mean colour filling the sprite's box (4×4 supersampled
// edges): the colour and the place of each object, none of its shape. It
// returns NHWC in [-1, 1].
func ColourOnly(rd *dataset.Renderer, sc dataset.Scene, size int) []float32 {
	a := rd.Atlas()
	x := make([]float32, size*size*3)
	rd.Render(dataset.Scene{Background: sc.Background}, size, x)
	const ss = 4
	for _, p := range sc.Objects {
		x0, y0, w, h := a.Box(p, size)
		cx, cy, rx, ry := x0+w/2, y0+h/2, w/2, h/2
		m := a.Sprites[p.Sprite].Mean
		col := [3]float64{float64(m.R)/127.5 - 1, float64(m.G)/127.5 - 1, float64(m.B)/127.5 - 1}
		for y := max(0, int(y0)); y < min(size, int(math.Ceil(y0+h))); y++ {
			for xx := max(0, int(x0)); xx < min(size, int(math.Ceil(x0+w))); xx++ {
				hits := 0
				for sy := 0; sy < ss; sy++ {
					for sx := 0; sx < ss; sx++ {
						u := (float64(xx) + (float64(sx)+0.5)/ss - cx) / rx
						v := (float64(y) + (float64(sy)+0.5)/ss - cy) / ry
						if u*u+v*v <= 1 {
							hits++
						}
					}
				}
				f := float32(hits) / (ss * ss)
				q := x[3*(y*size+xx):]
				for c := 0; c < 3; c++ {
					q[c] = q[c]*(1-f) + float32(col[c])*f
				}
			}
		}
	}
	return x
}

// HueRotatedSprites renders a scene with its sprites' hues turned by
// angle radians (hueRotation on their premultiplied colours) and the
// background as it is: the same shapes, other colours. NHWC in [-1, 1].
func HueRotatedSprites(rd *dataset.Renderer, sc dataset.Scene, size int, angle float64) []float32 {
	x := make([]float32, size*size*3)
	rd.Render(dataset.Scene{Background: sc.Background}, size, x)
	layer := rd.RenderLayer(sc, size)
	m := hueRotation(angle)
	for i := 0; i < size*size; i++ {
		l := layer[4*i : 4*i+4]
		a := float64(l[3])
		if a == 0 {
			continue
		}
		for c := 0; c < 3; c++ {
			v := m[3*c]*float64(l[0]) + m[3*c+1]*float64(l[1]) + m[3*c+2]*float64(l[2])
			v = math.Max(0, math.Min(a, v))
			bg := (float64(x[3*i+c]) + 1) / 2
			x[3*i+c] = float32(2*(v+(1-a)*bg) - 1)
		}
	}
	return x
}

// ShuffleTiles returns a copy of an NHWC image (size×size×3) whose
// tile×tile blocks are put in a random order: every colour kept, the
// shapes cut up.
func ShuffleTiles(x []float32, size, tile int, rng *rand.Rand) []float32 {
	n := size / tile
	perm := rng.Perm(n * n)
	out := slices.Clone(x)
	for t, from := range perm {
		ty, tx := t/n, t%n
		fy, fx := from/n, from%n
		for y := 0; y < tile; y++ {
			src := 3 * ((fy*tile+y)*size + fx*tile)
			dst := 3 * ((ty*tile+y)*size + tx*tile)
			copy(out[dst:dst+3*tile], x[src:src+3*tile])
		}
	}
	return out
}

// FrechetDistance is the Fréchet distance between Gaussians fitted to two
// sets of feature vectors (as FID does with Inception features):
// |μa − μb|² + tr(Σa + Σb − 2(Σa^½ Σb Σa^½)^½). Each set needs two
// vectors or more, all of one length.
func FrechetDistance(a, b [][]float32) (float64, error) {
	if len(a) < 2 || len(b) < 2 {
		return math.NaN(), fmt.Errorf("eval: a Fréchet distance needs two or more vectors a side (got %d and %d)", len(a), len(b))
	}
	d := len(a[0])
	for _, set := range [][][]float32{a, b} {
		for _, v := range set {
			if len(v) != d {
				return math.NaN(), fmt.Errorf("eval: feature vectors of lengths %d and %d", d, len(v))
			}
		}
	}
	ma, ca := meanCov(a, d)
	mb, cb := meanCov(b, d)
	var dist float64
	for i := range ma {
		dist += (ma[i] - mb[i]) * (ma[i] - mb[i])
	}
	sa, err := sqrtSym(ca)
	if err != nil {
		return math.NaN(), err
	}
	var m mat.Dense
	m.Mul(sa, cb)
	m.Mul(&m, sa)
	// Symmetrise against rounding before the eigen decomposition.
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return math.NaN(), fmt.Errorf("eval: Fréchet distance: eigen decomposition failed")
	}
	var trSqrt float64
	for _, l := range eig.Values(nil) {
		trSqrt += math.Sqrt(math.Max(0, l))
	}
	return math.Max(0, dist+mat.Trace(ca)+mat.Trace(cb)-2*trSqrt), nil
}

// meanCov is the mean and the (n−1) covariance of vectors of length d.
func meanCov(v [][]float32, d int) ([]float64, *mat.SymDense) {
	mu := make([]float64, d)
	for _, x := range v {
		for i, e := range x {
			mu[i] += float64(e)
		}
	}
	for i := range mu {
		mu[i] /= float64(len(v))
	}
	c := mat.NewSymDense(d, nil)
	for _, x := range v {
		for i := 0; i < d; i++ {
			di := float64(x[i]) - mu[i]
			for j := i; j < d; j++ {
				c.SetSym(i, j, c.At(i, j)+di*(float64(x[j])-mu[j]))
			}
		}
	}
	c.ScaleSym(1/float64(len(v)-1), c)
	return mu, c
}

// sqrtSym is the symmetric square root of a positive semi-definite matrix
// (negative eigenvalues from rounding count as 0).
func sqrtSym(c *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(c, true) {
		return nil, fmt.Errorf("eval: Fréchet distance: eigen decomposition failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	d := len(vals)
	diag := mat.NewDiagDense(d, nil)
	for i, l := range vals {
		diag.SetDiag(i, math.Sqrt(math.Max(0, l)))
	}
	var out mat.Dense
	out.Mul(&vecs, diag)
	out.Mul(&out, vecs.T())
	return &out, nil
}

// FrechetInfinity is the Fréchet distance with its finite-sample bias
// taken out ("FID∞", Chong & Forsyth 2020, "Effectively Unbiased FID and
// Inception Score and where to find them"): the plain distance between
// two samples of N vectors overstates the distance between their
// distributions by about k/N (two samples of one distribution are 0.044
// apart at N = 240 here), so it is measured on random subsets of
// frechetInfSizes sizes from n/4 to n (n the smaller set; frechetInfDraws
// draws each, seeded) and extrapolated linearly in 1/N to 1/N = 0. The
// extrapolation can fall a little below zero for two samples of one
// distribution; it is returned as measured. Each set needs 8 vectors or
// more.
func FrechetInfinity(a, b [][]float32, seed uint64) (float64, error) {
	n := min(len(a), len(b))
	if n < 8 {
		return math.NaN(), fmt.Errorf("eval: FID∞ needs 8 or more vectors a side (got %d and %d)", len(a), len(b))
	}
	rng := rand.New(rand.NewPCG(seed, 0xF1D))
	var xs, ys []float64
	for k := range frechetInfSizes {
		size := n/4 + (n-n/4)*k/(frechetInfSizes-1)
		for range frechetInfDraws {
			sa, sb := subset(rng, a, size), subset(rng, b, size)
			d, err := FrechetDistance(sa, sb)
			if err != nil {
				return math.NaN(), err
			}
			xs = append(xs, 1/float64(size))
			ys = append(ys, d)
		}
	}
	// least squares y = c + k·x
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	return my - sxy/sxx*mx, nil
}

// frechetInfSizes and frechetInfDraws: the subset sizes and the draws per
// size FrechetInfinity fits its line to (as in Chong & Forsyth, 15 sizes).
const (
	frechetInfSizes = 15
	frechetInfDraws = 3
)

// subset is size vectors of v drawn without replacement.
func subset(rng *rand.Rand, v [][]float32, size int) [][]float32 {
	idx := rng.Perm(len(v))[:size]
	out := make([][]float32, size)
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}
