package dataset

// Personal concepts: the training data for a pseudo-word "name*".
//
// A user gives 1-MaxConceptImages images of their own object. ExtractObject
// cuts the object out of each (its alpha channel, or a background estimated
// from the border), and a ConceptSet turns the cut-outs into extra sprites
// of a private copy of the atlas, so concept scenes are drawn by the same
// scene sampler, placement rules, Renderer and caption grammar as the base
// model's scenes: only the object's name is the pseudo-word ("a teddy* on
// the left, on a blue background", "a cup above a big teddy*", "a teddy*").
// The base atlas is never changed.

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ExtractObject errors (errors.Is).
var (
	// ErrNoObject: nothing in the image stands out from its background (or
	// an alpha channel with nothing visible).
	ErrNoObject = errors.New("no object found")
	// ErrBusyBackground: the image's border is too varied to be a plain
	// background (a busy photo).
	ErrBusyBackground = errors.New("the background is not plain")
	// ErrObjectFillsFrame: the object touches most of the image border (or
	// covers nearly all of it), so it cannot be told from the background.
	ErrObjectFillsFrame = errors.New("the object touches most of the image border")
)

// Cut-out extraction parameters. Colour distances are CIE76 ΔE.
const (
	// MaxExtractSide: larger images are reduced (area filter) to this
	// longest side before the object is cut out; the model draws objects
	// at a few dozen pixels.
	MaxExtractSide = 512

	opaqueAlpha   = 250  // an alpha below this is "not opaque"
	minAlphaShare = 0.01 // this share of non-opaque pixels means "use the alpha channel"
	frameWidth    = 2    // the border frame the background is estimated from
	bgMatchDeltaE = 10   // a frame pixel this close to the background model matches it
	minFrameMatch = 0.5  // at least this share of the frame must match
	// plainFrameMatch: below this share of the frame matching one
	// background, the background is textured and GrabCut cuts the object.
	plainFrameMatch = 0.9
	// texturedNoise: a background whose frame varies this much (ΔE, 90th
	// percentile of the matching pixels) around its model is a textured
	// surface, cut by GrabCut too.
	texturedNoise  = 4.0
	maskLoDeltaE   = 10   // smoothstep from here (mask 0) ...
	maskBandDeltaE = 15   // ... over this width (mask 1)
	maxBorderTouch = 0.4  // the object may touch at most this share of the outer ring
	maxObjectShare = 0.9  // ... and cover at most this share of the image
	cutoutMargin   = 1    // transparent-ish pixels kept around the trimmed box
	groupRadius    = 0.02 // parts this close (fraction of the side) are one object
	weakMask       = 0.1  // pixels with at least this mask link parts of one object
)

// ExtractObject cuts the main object out of a photo-like image and returns
// it trimmed to its visible box (plus a one-pixel margin) as an RGBA image
// at the origin. Images larger than MaxExtractSide are reduced first.
//
// If the image has a meaningful alpha channel (at least 1% of its pixels
// have alpha below 250), the alpha is the mask. Otherwise the background is
// estimated from a 2-pixel frame around the border: the median colour,
// refined by a robust fit of a linear gradient (so the soft gradients of
// studio-like photos are modelled exactly); if less than half of the frame
// matches it, the image is refused (ErrBusyBackground, or
// ErrObjectFillsFrame when the rest of the frame is one coherent colour).
// The mask is a smoothstep of each pixel's colour distance to the
// background (ΔE 10 to 25, raised with the background's noise), closed
// with a 3×3 window; enclosed holes that are not background-coloured (a
// white belly on a light backdrop) are filled, and only the largest
// connected object is kept (parts linked through faint pixels, or within
// 2% of the side, count as one). The colours of soft edge pixels are
// replaced by those of nearby solid pixels, so no background halo is
// carried into new scenes. Errors: ErrNoObject,
// ErrBusyBackground, ErrObjectFillsFrame, each wrapped with an explanation.
// The result depends only on the pixels.
func ExtractObject(img image.Image) (*image.NRGBA, error) {
	ex, err := extractObject(img)
	if err != nil {
		return nil, err
	}
	return ex.cut, nil
}

// ExtractObjectBox is ExtractObject that also returns where the cut-out's
// box (margin included) lies in img's coordinates.
func ExtractObjectBox(img image.Image) (*image.NRGBA, image.Rectangle, error) {
	ex, err := extractObject(img)
	if err != nil {
		return nil, image.Rectangle{}, err
	}
	return ex.cut, ex.box, nil
}

// extraction is ExtractObject's result with what NewConceptSet warns about.
type extraction struct {
	cut       *image.NRGBA
	box       image.Rectangle // in the input's coordinates
	usedAlpha bool
	atEdge    bool // (background path) the object touches the image edge
	// src is the image as it was cut (reduced to MaxExtractSide) and mask
	// the object's soft mask over it, for the colours a set's other
	// photos learn from (setColours).
	src  *image.NRGBA
	mask []float32
	// fromSet: nothing stood out by itself; the cut weighed the thing's
	// colours in the set's other photos (extractSet).
	fromSet bool
}

// ExtractObjectHinted cuts the object out as a person marked it (Hints,
// in img's pixel coordinates), with GrabCut whatever the background.
func ExtractObjectHinted(img image.Image, h Hints) (*image.NRGBA, error) {
	if img == nil {
		return nil, errors.New("no image")
	}
	// To the pixel grid's own coordinates (origin at the top left).
	o := img.Bounds().Min
	h.Box = h.Box.Sub(o)
	h.Keep = shifted(h.Keep, o)
	h.Remove = shifted(h.Remove, o)
	ex, err := extractObjectWith(img, &h)
	if err != nil {
		return nil, err
	}
	return ex.cut, nil
}

func shifted(pts []image.Point, o image.Point) []image.Point {
	out := make([]image.Point, len(pts))
	for i, p := range pts {
		out[i] = p.Sub(o)
	}
	return out
}

func extractObject(img image.Image) (extraction, error) { return extractObjectWith(img, nil) }

func extractObjectWith(img image.Image, hints *Hints) (extraction, error) {
	return extractObjectUsing(img, hints, nil)
}

// extractObjectUsing is extractObjectWith that, without hints, also
// weighs the colours of the thing in a set's other photos (nil: none).
func extractObjectUsing(img image.Image, hints *Hints, set *setColours) (extraction, error) {
	var ex extraction
	if img == nil {
		return ex, errors.New("no image")
	}
	b := img.Bounds()
	if b.Dx() < 8 || b.Dy() < 8 {
		return ex, fmt.Errorf("the image is %dx%d; it must be at least 8x8", b.Dx(), b.Dy())
	}
	src := toNRGBA(img)
	if s := max(b.Dx(), b.Dy()); s > MaxExtractSide {
		w := max(1, int(math.Round(float64(b.Dx())*MaxExtractSide/float64(s))))
		h := max(1, int(math.Round(float64(b.Dy())*MaxExtractSide/float64(s))))
		src = resizeArea(src, src.Rect, w, h)
	}
	W, H := src.Rect.Dx(), src.Rect.Dy()
	n := W * H

	var mask []float32
	var colours []uint8 // straight RGB per pixel for the output
	if hints != nil {
		var err error
		mask, colours, ex.atEdge, err = grabCut(src, hints.scaled(float64(W)/float64(b.Dx())))
		if err != nil {
			return ex, err
		}
	} else if hasAlpha(src) {
		ex.usedAlpha = true
		mask = make([]float32, n)
		colours = make([]uint8, 3*n)
		for i := 0; i < n; i++ {
			p := src.Pix[4*i : 4*i+4]
			mask[i] = float32(p[3]) / 255
			copy(colours[3*i:], p[:3])
		}
	} else {
		var err error
		mask, colours, ex.atEdge, err = backgroundMask(src, set)
		if err != nil {
			return ex, err
		}
	}

	// Trim: the box of the visible pixels, plus the margin.
	box := image.Rectangle{}
	first := true
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			if mask[y*W+x]*255 > trimAlpha {
				if first {
					box, first = image.Rect(x, y, x+1, y+1), false
				} else {
					box = box.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
	}
	if first {
		if ex.usedAlpha {
			return ex, fmt.Errorf("%w: the alpha channel has no visible pixels", ErrNoObject)
		}
		return ex, fmt.Errorf("%w: nothing in the image differs clearly from its background", ErrNoObject)
	}
	box = box.Inset(-cutoutMargin).Intersect(src.Rect)
	out := image.NewNRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			i := y*W + x
			a := unit8(mask[i])
			if a == 0 {
				continue
			}
			q := out.Pix[out.PixOffset(x-box.Min.X, y-box.Min.Y):]
			q[0], q[1], q[2], q[3] = colours[3*i], colours[3*i+1], colours[3*i+2], a
		}
	}
	ex.cut, ex.src, ex.mask = out, src, mask
	// The box in the input's coordinates.
	sx, sy := float64(b.Dx())/float64(W), float64(b.Dy())/float64(H)
	ex.box = image.Rect(
		b.Min.X+int(math.Floor(float64(box.Min.X)*sx)), b.Min.Y+int(math.Floor(float64(box.Min.Y)*sy)),
		b.Min.X+int(math.Ceil(float64(box.Max.X)*sx)), b.Min.Y+int(math.Ceil(float64(box.Max.Y)*sy)),
	).Intersect(b)
	return ex, nil
}

// hasAlpha: at least minAlphaShare of the pixels are not opaque.
func hasAlpha(img *image.NRGBA) bool {
	n := img.Rect.Dx() * img.Rect.Dy()
	k := 0
	for i := 0; i < n; i++ {
		if img.Pix[4*i+3] < opaqueAlpha {
			k++
		}
	}
	return k > 0 && float64(k) >= minAlphaShare*float64(n)
}

// bgModel is a background that varies linearly over the image, per sRGB
// channel: c(u, v) = k[0] + k[1]·u + k[2]·v, with u, v in [-0.5, 0.5].
type bgModel [3][3]float64

func (m *bgModel) at(x, y, w, h int) (r, g, b float64) {
	u := (float64(x)+0.5)/float64(w) - 0.5
	v := (float64(y)+0.5)/float64(h) - 0.5
	c := func(k [3]float64) float64 { return clamp(k[0]+k[1]*u+k[2]*v, 0, 1) }
	return c(m[0]), c(m[1]), c(m[2])
}

type labPx struct{ l, a, b float64 }

func labDist(p, q labPx) float64 {
	return math.Sqrt((p.l-q.l)*(p.l-q.l) + (p.a-q.a)*(p.a-q.a) + (p.b-q.b)*(p.b-q.b))
}

// backgroundMask estimates the background from the border frame and
// returns the object's soft mask, the (edge-decontaminated) colours and
// whether the object touches the image edge. set (nil: none) is the
// thing's colours in a set's other photos, which a cut by colour models
// weighs.
func backgroundMask(img *image.NRGBA, set *setColours) (mask []float32, colours []uint8, atEdge bool, err error) {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	n := W * H
	lab := make([]labPx, n)
	for i := 0; i < n; i++ {
		p := img.Pix[4*i:]
		l, a, bb := labFromRGB(float64(p[0])/255, float64(p[1])/255, float64(p[2])/255)
		lab[i] = labPx{l, a, bb}
	}

	// The frame and its per-channel median colour.
	var frame []int
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			if x < frameWidth || x >= W-frameWidth || y < frameWidth || y >= H-frameWidth {
				frame = append(frame, y*W+x)
			}
		}
	}
	var med [3]float64
	for c := 0; c < 3; c++ {
		var hist [256]int
		for _, i := range frame {
			hist[img.Pix[4*i+c]]++
		}
		k, half := 0, (len(frame)+1)/2
		for v := 0; v < 256; v++ {
			k += hist[v]
			if k >= half {
				med[c] = float64(v) / 255
				break
			}
		}
	}
	var model bgModel
	for c := 0; c < 3; c++ {
		model[c] = [3]float64{med[c], 0, 0}
	}
	resid := make([]float64, len(frame))
	residuals := func() {
		for k, i := range frame {
			r, g, bb := model.at(i%W, i/W, W, H)
			l, a, b2 := labFromRGB(r, g, bb)
			resid[k] = labDist(lab[i], labPx{l, a, b2})
		}
	}
	// Robust refinement: fit the gradient to the frame pixels near the
	// current model, tightening the threshold.
	thr := 30.0
	for it := 0; it < 4; it++ {
		residuals()
		var in []int
		var inRes []float64
		for k, i := range frame {
			if resid[k] < thr {
				in = append(in, i)
				inRes = append(inRes, resid[k])
			}
		}
		if len(in) < 16 {
			break
		}
		if m, ok := fitPlane(img, in); ok {
			model = m
		}
		thr = max(6, 3*median(inRes))
	}
	residuals()
	var matched []float64
	var unmatched []int
	for k, i := range frame {
		if resid[k] < bgMatchDeltaE {
			matched = append(matched, resid[k])
		} else {
			unmatched = append(unmatched, i)
		}
	}
	share := float64(len(matched)) / float64(len(frame))
	if share < plainFrameMatch {
		// A textured or cluttered background (wood, a rug, a wall behind
		// the table) or none: cut by colour models (GrabCut) instead of a
		// threshold on the distance to one colour. When that finds no
		// object and the rest of the border is one colour, it is an object
		// that fills the frame.
		mask, colours, atEdge, err := grabCutMask(img, set)
		if err != nil && !errors.Is(err, ErrObjectFillsFrame) && coherent(lab, unmatched) {
			return nil, nil, false, fmt.Errorf("%w: only %.0f%% of the image's border looks like background, the rest is one colour; leave space around the object",
				ErrObjectFillsFrame, 100*share)
		}
		return mask, colours, atEdge, err
	}
	sort.Float64s(matched)
	noise := matched[int(0.9*float64(len(matched)-1))]
	if noise >= texturedNoise {
		// A grainy surface (a photo's floor or table, not a studio
		// backdrop): the distance to one colour cannot tell the object's
		// dull parts from it; colour models can.
		return grabCutMask(img, set)
	}
	lo := max(maskLoDeltaE, 2.5*noise)
	hi := lo + maskBandDeltaE
	holeDeltaE := max(4, 3*noise)

	// Soft mask from the distance to the background.
	dist := make([]float64, n)
	mask = make([]float32, n)
	bgRGB := make([]float64, 3*n)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			i := y*W + x
			r, g, bb := model.at(x, y, W, H)
			bgRGB[3*i], bgRGB[3*i+1], bgRGB[3*i+2] = r, g, bb
			l, a, b2 := labFromRGB(r, g, bb)
			dist[i] = labDist(lab[i], labPx{l, a, b2})
			mask[i] = float32(smoothstep(lo, hi, dist[i]))
		}
	}
	mask = closing3(mask, W, H)

	// Fill enclosed holes unless they are background seen through the
	// object.
	hard := make([]bool, n)
	for i, m := range mask {
		hard[i] = m >= 0.5
	}
	notHard := make([]bool, n)
	for i := range hard {
		notHard[i] = !hard[i]
	}
	labels, count := components(notHard, W, H, false)
	outside := make([]bool, count)
	members := make([][]int, count)
	for i, l := range labels {
		if l < 0 {
			continue
		}
		x, y := i%W, i/W
		if x == 0 || y == 0 || x == W-1 || y == H-1 {
			outside[l] = true
		}
		members[l] = append(members[l], i)
	}
	for l := 0; l < count; l++ {
		if outside[l] {
			continue
		}
		ds := make([]float64, len(members[l]))
		for k, i := range members[l] {
			ds[k] = dist[i]
		}
		if median(ds) >= holeDeltaE {
			for _, i := range members[l] {
				mask[i], hard[i] = 1, true
			}
		}
	}

	// Keep the largest object. Parts are linked through faint pixels too
	// (hysteresis: a thin, low-contrast lamp pole holds the shade to the
	// couch), and parts within the group radius are one.
	r := max(1, int(math.Round(groupRadius*float64(max(W, H)))))
	weak := make([]bool, n)
	for i, m := range mask {
		weak[i] = m >= weakMask
	}
	grown := dilate(weak, W, H, r)
	labels, count = components(grown, W, H, true)
	mass := make([]float64, count)
	for i, l := range labels {
		if l >= 0 {
			mass[l] += float64(mask[i])
		}
	}
	best := -1
	for l := range mass {
		if best < 0 || mass[l] > mass[best] {
			best = l
		}
	}
	if best < 0 || mass[best] < max(9, 0.0005*float64(n)) {
		return nil, nil, false, fmt.Errorf("%w: nothing in the image differs clearly from its background", ErrNoObject)
	}
	for i, l := range labels {
		if int(l) != best {
			mask[i] = 0
		}
	}
	if mass[best] > maxObjectShare*float64(n) {
		return nil, nil, false, fmt.Errorf("%w: the object covers %.0f%% of the image; leave space around it",
			ErrObjectFillsFrame, 100*mass[best]/float64(n))
	}
	ring, touch := 0, 0
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			if x == 0 || y == 0 || x == W-1 || y == H-1 {
				ring++
				if mask[y*W+x] >= 0.5 {
					touch++
				}
			}
		}
	}
	if float64(touch) > maxBorderTouch*float64(ring) {
		return nil, nil, false, fmt.Errorf("%w (%.0f%% of it); the object is cropped or fills the frame, leave space around it",
			ErrObjectFillsFrame, 100*float64(touch)/float64(ring))
	}
	atEdge = touch > 0

	// Colours: soft pixels take the mean colour of the solid pixels within
	// two pixels, so the old background does not fringe the object.
	colours = make([]uint8, 3*n)
	for i := 0; i < n; i++ {
		copy(colours[3*i:], img.Pix[4*i:4*i+3])
	}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			i := y*W + x
			if mask[i] <= 0 || mask[i] >= 0.98 {
				continue
			}
			var s [3]int
			k := 0
			for yy := max(0, y-2); yy <= min(H-1, y+2); yy++ {
				for xx := max(0, x-2); xx <= min(W-1, x+2); xx++ {
					j := yy*W + xx
					if mask[j] >= 0.98 {
						s[0] += int(img.Pix[4*j])
						s[1] += int(img.Pix[4*j+1])
						s[2] += int(img.Pix[4*j+2])
						k++
					}
				}
			}
			if k > 0 {
				for c := 0; c < 3; c++ {
					colours[3*i+c] = uint8((s[c] + k/2) / k)
				}
			}
		}
	}
	return mask, colours, atEdge, nil
}

// fitPlane fits bgModel to the pixels idx by least squares.
func fitPlane(img *image.NRGBA, idx []int) (bgModel, bool) {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	var A [3][3]float64
	var rhs [3][3]float64 // [channel][row]
	for _, i := range idx {
		u := (float64(i%W)+0.5)/float64(W) - 0.5
		v := (float64(i/W)+0.5)/float64(H) - 0.5
		f := [3]float64{1, u, v}
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				A[r][c] += f[r] * f[c]
			}
			for ch := 0; ch < 3; ch++ {
				rhs[ch][r] += f[r] * float64(img.Pix[4*i+ch]) / 255
			}
		}
	}
	var m bgModel
	for ch := 0; ch < 3; ch++ {
		k, ok := solve3(A, rhs[ch])
		if !ok {
			return m, false
		}
		m[ch] = k
	}
	return m, true
}

// solve3 solves A·x = b by Cramer's rule.
func solve3(A [3][3]float64, b [3]float64) ([3]float64, bool) {
	det := func(M [3][3]float64) float64 {
		return M[0][0]*(M[1][1]*M[2][2]-M[1][2]*M[2][1]) -
			M[0][1]*(M[1][0]*M[2][2]-M[1][2]*M[2][0]) +
			M[0][2]*(M[1][0]*M[2][1]-M[1][1]*M[2][0])
	}
	d := det(A)
	if math.Abs(d) < 1e-9 {
		return [3]float64{}, false
	}
	var x [3]float64
	for c := 0; c < 3; c++ {
		M := A
		for r := 0; r < 3; r++ {
			M[r][c] = b[r]
		}
		x[c] = det(M) / d
	}
	return x, true
}

// coherent reports whether most of the pixels idx lie close to their
// median colour (one object filling the frame, not a busy scene).
func coherent(lab []labPx, idx []int) bool {
	if len(idx) == 0 {
		return false
	}
	var ch [3][]float64
	for _, i := range idx {
		ch[0] = append(ch[0], lab[i].l)
		ch[1] = append(ch[1], lab[i].a)
		ch[2] = append(ch[2], lab[i].b)
	}
	m := labPx{median(ch[0]), median(ch[1]), median(ch[2])}
	k := 0
	for _, i := range idx {
		if labDist(lab[i], m) < 15 {
			k++
		}
	}
	return float64(k) > 0.6*float64(len(idx))
}

// median of xs (xs is reordered).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

func smoothstep(e0, e1, x float64) float64 {
	t := clamp((x-e0)/(e1-e0), 0, 1)
	return t * t * (3 - 2*t)
}

// closing3 is a grayscale closing (3×3 max, then 3×3 min).
func closing3(m []float32, w, h int) []float32 {
	f := func(src []float32, better func(a, b float32) bool) []float32 {
		tmp := make([]float32, len(src))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := src[y*w+x]
				for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
					if better(src[y*w+xx], v) {
						v = src[y*w+xx]
					}
				}
				tmp[y*w+x] = v
			}
		}
		out := make([]float32, len(src))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := tmp[y*w+x]
				for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
					if better(tmp[yy*w+x], v) {
						v = tmp[yy*w+x]
					}
				}
				out[y*w+x] = v
			}
		}
		return out
	}
	dil := f(m, func(a, b float32) bool { return a > b })
	return f(dil, func(a, b float32) bool { return a < b })
}

// dilate grows a binary mask by a (2r+1)² square.
func dilate(on []bool, w, h, r int) []bool {
	tmp := make([]bool, len(on))
	for y := 0; y < h; y++ {
		last := -1 << 30 // the last "on" column seen
		for x := 0; x < w+r; x++ {
			if x < w && on[y*w+x] {
				last = x
			}
			if xo := x - r; xo >= 0 && xo < w {
				// on within [xo-r, xo+r]: the last on column ≥ xo-r.
				tmp[y*w+xo] = last >= xo-r
			}
		}
	}
	out := make([]bool, len(on))
	for x := 0; x < w; x++ {
		last := -1 << 30
		for y := 0; y < h+r; y++ {
			if y < h && tmp[y*w+x] {
				last = y
			}
			if yo := y - r; yo >= 0 && yo < h {
				out[yo*w+x] = last >= yo-r
			}
		}
	}
	return out
}

// components labels the connected regions of on (4- or 8-connected) in
// scan order; labels are -1 off the mask.
func components(on []bool, w, h int, conn8 bool) ([]int32, int) {
	labels := make([]int32, len(on))
	for i := range labels {
		labels[i] = -1
	}
	var queue []int
	count := 0
	for start, v := range on {
		if !v || labels[start] >= 0 {
			continue
		}
		l := int32(count)
		count++
		labels[start] = l
		queue = append(queue[:0], start)
		for len(queue) > 0 {
			i := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			x, y := i%w, i/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if dx == 0 && dy == 0 || !conn8 && dx != 0 && dy != 0 {
						continue
					}
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					j := yy*w + xx
					if on[j] && labels[j] < 0 {
						labels[j] = l
						queue = append(queue, j)
					}
				}
			}
		}
	}
	return labels, count
}

// MaxConceptImages is the most images a concept is learned from.
const MaxConceptImages = 20

// StyleConcept is the Style of the concept's sprites in a ConceptSet.
const StyleConcept = "concept"

// Near-duplicate detection: two images whose 8×8 thumbnails (over mid
// gray) differ by less than this mean absolute difference (0-255 scale),
// as they are or one mirrored, are near-duplicates.
const nearDuplicateDiff = 4.0

// minCutoutSide: an object smaller than this (its longest side, pixels)
// is upscaled when drawn big, so it gets a warning.
const minCutoutSide = 24

// ConceptSet is the training data of one personal concept: the objects cut
// out of the user's images, drawn into scenes like the base model's and
// captioned with the pseudo-word. It is read-only after NewConceptSet and
// safe for concurrent use.
type ConceptSet struct {
	Name     string         // the pseudo-word, without '*'
	Class    string         // the super-category words, e.g. "teddy bear"
	Cutouts  []*image.NRGBA // ExtractObject of each image, in order
	Warnings []string       // things worth telling the user; none stop training

	base   *Atlas
	atlas  *Atlas // base sprites (same indices) + one sprite per cut-out
	first  int    // index of the first concept sprite in atlas
	render *Renderer
}

// ImageError is a problem with one of a concept's images (Index counts
// from 0); its message counts from 1.
type ImageError struct {
	Index int
	Err   error
}

func (e *ImageError) Error() string { return fmt.Sprintf("image %d: %v", e.Index+1, e.Err) }
func (e *ImageError) Unwrap() error { return e.Err }

// NewConceptSet cuts the object out of each image (ExtractObjects: an
// image in which nothing stands out by itself is cut with the thing's
// colours in the others; an image that fails is an error naming it) and prepares a private copy of atlas
// in which each cut-out is an extra sprite named "name*" (fitted like the
// atlas's sprites, longest side at most CellSize). Its background colours
// follow BackgroundAllowed's rule applied to the cut-outs (a colour is
// refused if it is within MinMeanDeltaE of a cut-out's mean colour or
// covers too much of it). name is the bare pseudo-word (a trailing '*' is
// dropped), class the super-category words. a is not changed.
func NewConceptSet(a *Atlas, name, class string, images []image.Image) (*ConceptSet, error) {
	if a == nil {
		return nil, errors.New("dataset: NewConceptSet: no atlas")
	}
	name = strings.TrimSuffix(strings.TrimSpace(name), "*")
	if !validPseudo(name) || len(name) > 32 {
		return nil, fmt.Errorf("concept name %q: %w (at most 32 characters)", name, ErrBadPseudo)
	}
	class = strings.Join(strings.Fields(strings.ToLower(class)), " ")
	if !validName(class) {
		return nil, fmt.Errorf("concept class %q: the class is one or more lower-case words, e.g. \"teddy bear\"", class)
	}
	switch {
	case len(images) == 0:
		return nil, errors.New("a concept needs at least one image")
	case len(images) > MaxConceptImages:
		return nil, fmt.Errorf("a concept is learned from at most %d images, not %d", MaxConceptImages, len(images))
	}
	cs := &ConceptSet{Name: name, Class: class, base: a}
	if len(a.SpritesNamed(class)) == 0 {
		cs.Warnings = append(cs.Warnings, fmt.Sprintf("the class %q is not one of the base model's objects, so the concept has no known super-category to start from", class))
	}
	var sprites []*image.NRGBA
	exs, errs := extractSet(images)
	for i := range images {
		ex, err := exs[i], errs[i]
		if err != nil {
			return nil, &ImageError{Index: i, Err: err}
		}
		if ex.fromSet {
			cs.Warnings = append(cs.Warnings, fmt.Sprintf("image %d: nothing stood out from its background by itself, so it was cut out with the colours of the thing in the other images; check its cut-out", i+1))
		}
		cs.Cutouts = append(cs.Cutouts, ex.cut)
		fitted, err := trimAndShrink(ex.cut, CellSize)
		if err != nil {
			return nil, &ImageError{Index: i, Err: err}
		}
		sprites = append(sprites, fitted)
		b := alphaBounds(ex.cut, trimAlpha)
		if side := max(b.Dx(), b.Dy()); side < minCutoutSide {
			cs.Warnings = append(cs.Warnings, fmt.Sprintf("image %d: the object is only %d pixels across; big scenes will draw it blurred", i+1, side))
		}
		if ex.atEdge {
			cs.Warnings = append(cs.Warnings, fmt.Sprintf("image %d: the object touches the image edge and may be cut off", i+1))
		}
	}
	if len(images) < 3 {
		cs.Warnings = append(cs.Warnings, fmt.Sprintf("only %d image(s): with fewer than 3 views the concept tends to copy them", len(images)))
	}
	thumbs := make([][]float64, len(images))
	for i, img := range images {
		thumbs[i] = thumb8(img)
	}
	for i := range thumbs {
		for j := i + 1; j < len(thumbs); j++ {
			if d := thumbDiff(thumbs[i], thumbs[j]); d < nearDuplicateDiff {
				cs.Warnings = append(cs.Warnings, fmt.Sprintf("images %d and %d are near-duplicates (8×8 thumbnails differ by %.1f/255); a duplicate adds no information and weighs that view twice", i+1, j+1, d))
			}
		}
	}
	cs.atlas, cs.first = a.withExtra(name+"*", sprites)
	cs.render = NewRenderer(cs.atlas)
	return cs, nil
}

// trimAndShrink trims a cut-out to its visible box and shrinks it (area
// filter) so its longest side is at most side; smaller ones are kept.
func trimAndShrink(img *image.NRGBA, side int) (*image.NRGBA, error) {
	b := alphaBounds(img, trimAlpha)
	if b.Empty() {
		return nil, fmt.Errorf("%w: the cut-out is empty", ErrNoObject)
	}
	if max(b.Dx(), b.Dy()) <= side {
		return trimTo(img, b), nil
	}
	return trimAndFit(img, side)
}

// thumb8 is an image reduced to 8×8 over mid gray, 192 values in 0-255.
func thumb8(img image.Image) []float64 {
	small := resizeArea(img, img.Bounds(), 8, 8)
	out := make([]float64, 0, 192)
	for i := 0; i < 64; i++ {
		p := small.Pix[4*i:]
		a := float64(p[3]) / 255
		for c := 0; c < 3; c++ {
			out = append(out, float64(p[c])*a+128*(1-a))
		}
	}
	return out
}

// thumbDiff is the mean absolute difference of two thumbnails, the smaller
// of as-is and one mirrored.
func thumbDiff(p, q []float64) float64 {
	var d, dm float64
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			for c := 0; c < 3; c++ {
				v := p[3*(8*y+x)+c]
				d += math.Abs(v - q[3*(8*y+x)+c])
				dm += math.Abs(v - q[3*(8*y+7-x)+c])
			}
		}
	}
	return min(d, dm) / 192
}

// withExtra returns a copy of the atlas with extra sprites, all called
// name, appended after the atlas's own (which keep their indices), and the
// index of the first. Their mean colours and allowed backgrounds follow
// the atlas's rule, the extras counting as styles of one name. a is not
// changed. The copy is private to this package: its names are not caption
// vocabulary (a pseudo-word has a '*'), so it must not make a Tokenizer.
func (a *Atlas) withExtra(name string, sprites []*image.NRGBA) (*Atlas, int) {
	bw, bh := a.Image.Rect.Dx(), a.Image.Rect.Dy()
	stripW, stripH := 0, 0
	for _, s := range sprites {
		stripW += s.Rect.Dx()
		stripH = max(stripH, s.Rect.Dy())
	}
	img := image.NewNRGBA(image.Rect(0, 0, max(bw, stripW), bh+stripH))
	draw.Draw(img, a.Image.Rect, a.Image, a.Image.Rect.Min, draw.Src)
	d := &Atlas{
		Image: img, CellPx: a.CellPx, Sprites: slices.Clone(a.Sprites),
		names: append(slices.Clone(a.names), name), byName: make(map[string][]int, len(a.byName)+1),
		allowed: slices.Clone(a.allowed),
	}
	for k, v := range a.byName {
		d.byName[k] = v // never appended to: shared read-only
	}
	first := len(d.Sprites)
	extra := &Atlas{Image: img, byName: map[string][]int{}, names: []string{name}}
	x := 0
	for k, s := range sprites {
		r := image.Rect(x, bh, x+s.Rect.Dx(), bh+s.Rect.Dy())
		draw.Draw(img, r, s, s.Rect.Min, draw.Src)
		x += s.Rect.Dx()
		sp := Sprite{Index: first + k, Name: name, Style: StyleConcept, Rect: r, Cell: r}
		d.Sprites = append(d.Sprites, sp)
		d.byName[name] = append(d.byName[name], first+k)
		sp.Index = k
		extra.Sprites = append(extra.Sprites, sp)
		extra.byName[name] = append(extra.byName[name], k)
	}
	extra.computeColours()
	for k := range sprites {
		d.Sprites[first+k].Mean = extra.Sprites[k].Mean
		d.allowed = append(d.allowed, extra.allowed[k])
	}
	return d, first
}

// Token is the pseudo-word as captions write it: "name*".
func (cs *ConceptSet) Token() string { return cs.Name + "*" }

// Base returns the atlas the set was made from.
func (cs *ConceptSet) Base() *Atlas { return cs.base }

// Images is the number of cut-outs.
func (cs *ConceptSet) Images() int { return len(cs.Cutouts) }

// Backgrounds lists the background colours concept scenes use, in Colours
// order.
func (cs *ConceptSet) Backgrounds() []string { return cs.atlas.AllowedBackgrounds(cs.first) }

// BackgroundAllowed reports whether the concept may be drawn on the
// background (a colour, or a pattern and colour, as Atlas.BackgroundAllowed).
func (cs *ConceptSet) BackgroundAllowed(bg string) bool {
	return cs.atlas.BackgroundAllowed(cs.first, bg)
}

// Mean is the alpha-weighted mean colour of cut-out i (as drawn).
func (cs *ConceptSet) Mean(i int) color.NRGBA { return cs.atlas.Sprites[cs.first+i].Mean }

// IsConcept reports whether a placed object in a ConceptScene is the
// concept (and which cut-out it shows).
func (cs *ConceptSet) IsConcept(p Placed) (img int, ok bool) {
	if p.Sprite >= cs.first && p.Sprite < len(cs.atlas.Sprites) {
		return p.Sprite - cs.first, true
	}
	return -1, false
}

// Box is Atlas.Box for the objects of a ConceptScene (the concept or a
// base sprite): left, top, width, height in pixels for a size×size image.
func (cs *ConceptSet) Box(p Placed, size int) (x0, y0, w, h float64) { return cs.atlas.Box(p, size) }

// ConceptScene is one concept training image: a Scene whose objects are
// the concept and possibly one base-atlas sprite. Base sprites keep their
// atlas index; the concept's Sprite index is private to its ConceptSet
// (see IsConcept).
type ConceptScene struct {
	Scene
	Concept int // index in Objects of the concept
	Image   int // which cut-out (user image) the concept shows
}

// ConceptSceneOptions shape RandomScene. See DefaultConceptSceneOptions.
type ConceptSceneOptions struct {
	PairProb    float64  // probability of a second (base-atlas) object
	PatternProb float64  // probability of a patterned background
	FlipProb    float64  // probability that a sprite is mirrored
	ScaleJitter float64  // the concept's extent is scaled by 1±ScaleJitter, kept within its size word's range
	Images      []int    // which cut-outs may be drawn (nil: all, uniformly)
	Styles      []string // styles of the second object (nil: all)
	Others      []int    // base sprites allowed as the second object (nil: all but the class)
}

// DefaultConceptSceneOptions: a second object in 20% of scenes, patterns
// as often as in base training (25%), half the sprites mirrored, no extra
// scale jitter (the size words' ranges already vary the size).
func DefaultConceptSceneOptions() ConceptSceneOptions {
	return ConceptSceneOptions{PairProb: 0.2, PatternProb: 0.25, FlipProb: 0.5}
}

// RandomScene draws a concept scene the way Atlas.RandomScene draws base
// scenes (named position, size, flip, background colour the concept and
// the other object both allow, pattern, relation), using only rng. The
// cut-out is uniformly random among opt.Images. In a pair the concept is
// the subject or the object with equal odds; the second object is never of
// the concept's class. It panics if opt.Images allows no cut-out.
func (cs *ConceptSet) RandomScene(rng *rand.Rand, opt ConceptSceneOptions) ConceptScene {
	imgs := opt.Images
	if imgs == nil {
		for i := range cs.Cutouts {
			imgs = append(imgs, i)
		}
	} else {
		imgs = slices.DeleteFunc(slices.Clone(imgs), func(i int) bool { return i < 0 || i >= len(cs.Cutouts) })
	}
	if len(imgs) == 0 {
		panic("dataset: ConceptSet.RandomScene: the options allow no image")
	}
	k := imgs[rng.IntN(len(imgs))]
	cp := cs.first + k
	a := cs.atlas

	other := -1
	if opt.PairProb > 0 && rng.Float64() < opt.PairProb {
		cand := cs.base.candidates(SceneOptions{Styles: opt.Styles, Sprites: opt.Others})
		for try := 0; try < 32 && len(cand) > 0; try++ {
			s1 := cand[rng.IntN(len(cand))]
			if cs.base.Sprites[s1].Name != cs.Class && len(a.commonColours(cp, s1)) > 0 {
				other = s1
				break
			}
		}
	}
	var colours []string
	if other >= 0 {
		colours = a.commonColours(cp, other)
	} else {
		colours = a.AllowedBackgrounds(cp)
	}
	bg := randomBackground(rng, colours, opt.PatternProb)
	flip := func() bool { return opt.FlipProb > 0 && rng.Float64() < opt.FlipProb }
	size := func() string { return Sizes[rng.IntN(len(Sizes))] }

	sc := ConceptScene{Scene: Scene{Background: bg}, Image: k}
	if other < 0 {
		pos := Positions[rng.IntN(len(Positions))]
		sz, fl := size(), flip()
		p, err := a.PlaceSingle(rng, cp, pos, sz, fl)
		if err != nil {
			panic(err) // unreachable: the words come from our own lists
		}
		sc.Objects = []Placed{p}
	} else {
		rel := Relations[rng.IntN(len(Relations))]
		sizes := [2]string{size(), size()}
		flips := [2]bool{flip(), flip()}
		ids := [2]int{cp, other}
		if rng.IntN(2) == 1 {
			ids = [2]int{other, cp}
			sc.Concept = 1
		}
		ps, err := a.PlacePair(rng, ids[0], ids[1], rel, sizes, flips)
		if err != nil {
			panic(err)
		}
		sc.Objects = ps[:]
		sc.Relation = rel
	}
	if opt.ScaleJitter > 0 {
		p := &sc.Objects[sc.Concept]
		*p = a.rescale(*p, p.Extent*(1+jitter(rng, opt.ScaleJitter)), len(sc.Objects) == 2)
	}
	return sc
}

// rescale changes a placed sprite's extent, clamped to its size word's
// range, keeping the edges its position anchors it to (a "left" box keeps
// its left edge, a centred axis its centre), so every word stays true.
func (a *Atlas) rescale(p Placed, ext float64, pair bool) Placed {
	var r [2]float64
	switch {
	case pair && p.Size == "small":
		r = smallPairExtent
	case pair:
		r = bigPairExtent
	case p.Size == "small":
		r = smallExtent
	case p.Position == "centre":
		r = bigCentreExtent
	default:
		r = bigEdgeExtent
	}
	ext = clamp(ext, r[0], r[1])
	w0, h0 := a.boxFrac(p.Sprite, p.Extent)
	w1, h1 := a.boxFrac(p.Sprite, ext)
	axis := func(c, s0, s1 float64, low, high bool) float64 {
		switch {
		case low:
			c = c - s0/2 + s1/2
		case high:
			c = c + s0/2 - s1/2
		}
		return clamp(c, s1/2, 1-s1/2)
	}
	pos := p.Position
	p.CX = axis(p.CX, w0, w1, strings.Contains(pos, "left"), strings.Contains(pos, "right"))
	p.CY = axis(p.CY, h0, h1, strings.Contains(pos, "top"), strings.Contains(pos, "bottom"))
	p.Extent = ext
	return p
}

// SingleScene builds a one-object concept scene by hand from cut-out
// image (a nil rng: the middle of every range, as Atlas.PlaceSingle).
func (cs *ConceptSet) SingleScene(rng *rand.Rand, img int, position, size string, flip bool, bg Background) (ConceptScene, error) {
	if img < 0 || img >= len(cs.Cutouts) {
		return ConceptScene{}, fmt.Errorf("dataset: no concept image %d", img)
	}
	p, err := cs.atlas.PlaceSingle(rng, cs.first+img, position, size, flip)
	if err != nil {
		return ConceptScene{}, err
	}
	return ConceptScene{Scene: Scene{Objects: []Placed{p}, Background: bg}, Image: img}, nil
}

// PairScene builds "concept <relation> other" by hand (other is a base
// atlas sprite; sizes and flips are the concept's, then the other's).
func (cs *ConceptSet) PairScene(rng *rand.Rand, img, other int, relation string, sizes [2]string, flips [2]bool, bg Background) (ConceptScene, error) {
	if img < 0 || img >= len(cs.Cutouts) {
		return ConceptScene{}, fmt.Errorf("dataset: no concept image %d", img)
	}
	if other < 0 || other >= cs.first {
		return ConceptScene{}, fmt.Errorf("dataset: no atlas sprite %d", other)
	}
	ps, err := cs.atlas.PlacePair(rng, cs.first+img, other, relation, sizes, flips)
	if err != nil {
		return ConceptScene{}, err
	}
	return ConceptScene{Scene: Scene{Objects: ps[:], Relation: relation, Background: bg}, Image: img}, nil
}

// Render draws s at size×size into dst exactly as Renderer.Render draws
// base scenes (NHWC float32 in [-1, 1], at least size*size*3 values).
func (cs *ConceptSet) Render(s ConceptScene, size int, dst []float32) {
	cs.render.Render(s.Scene, size, dst)
}

// RenderImage draws s as an image, for looking at.
func (cs *ConceptSet) RenderImage(s ConceptScene, size int) *image.NRGBA {
	return cs.render.RenderImage(s.Scene, size)
}

// RenderMask writes the concept's soft mask at size×size into dst (at
// least size*size values, row-major, in [0, 1]): its coverage as drawn by
// Render, less anything drawn over it.
func (cs *ConceptSet) RenderMask(s ConceptScene, size int, dst []float32) {
	if len(dst) < size*size {
		panic(fmt.Sprintf("dataset: RenderMask: dst holds %d values, need %d", len(dst), size*size))
	}
	m := dst[:size*size]
	clear(m)
	buf := make([]float32, 4*size*size)
	seen := false
	for _, p := range s.Objects {
		_, isConcept := cs.IsConcept(p)
		if !isConcept && !seen {
			continue // below the concept: irrelevant
		}
		clear(buf)
		x0, y0, w, h := cs.atlas.Box(p, size)
		cs.render.sprites[p.Sprite].drawOver(buf, size, size, x0, y0, w, h, p.Flip)
		for i := range m {
			a := min(1, max(0, buf[4*i+3]))
			if isConcept {
				m[i] = a + m[i]*(1-a)
			} else {
				m[i] *= 1 - a
			}
		}
		seen = true
	}
}

// Caption describes s with the base caption grammar and proportions
// (Describe), the concept named by its pseudo-word: "a teddy* on the left,
// on a blue background", "a cup above a big teddy*", "a teddy*".
func (cs *ConceptSet) Caption(s ConceptScene, rng *rand.Rand) string {
	c, _ := Describe(cs.atlas, s.Scene, rng)
	return c
}

// Describe is Caption that also says which attributes the caption states.
func (cs *ConceptSet) Describe(s ConceptScene, rng *rand.Rand) (string, Stated) {
	return Describe(cs.atlas, s.Scene, rng)
}

// ConceptSampler draws concept training samples; it satisfies the
// engine's ConceptData (Sample).
type ConceptSampler struct {
	Set     *ConceptSet
	Size    int // image side
	Options ConceptSceneOptions
}

// Sampler returns a sampler of size×size scenes.
func (cs *ConceptSet) Sampler(size int, opt ConceptSceneOptions) *ConceptSampler {
	return &ConceptSampler{Set: cs, Size: size, Options: opt}
}

// Sample draws a random scene, renders it into dst and returns its caption.
func (s *ConceptSampler) Sample(rng *rand.Rand, dst []float32) string {
	sc := s.Set.RandomScene(rng, s.Options)
	s.Set.Render(sc, s.Size, dst)
	return s.Set.Caption(sc, rng)
}

// SampleScene is Sample that also returns the scene (where its objects
// are: a frames base trains on their frames).
func (s *ConceptSampler) SampleScene(rng *rand.Rand, dst []float32) (string, Scene) {
	sc := s.Set.RandomScene(rng, s.Options)
	s.Set.Render(sc, s.Size, dst)
	return s.Set.Caption(sc, rng), sc.Scene
}

// Renderer draws the sampler's scenes, the concept's cut-outs among the
// sprites (a reference-taking base trains on their layers).
func (s *ConceptSampler) Renderer() *Renderer { return s.Set.render }

// SampleMasked is Sample that also writes the concept's mask (RenderMask).
func (s *ConceptSampler) SampleMasked(rng *rand.Rand, dst, mask []float32) string {
	sc := s.Set.RandomScene(rng, s.Options)
	s.Set.Render(sc, s.Size, dst)
	s.Set.RenderMask(sc, s.Size, mask)
	return s.Set.Caption(sc, rng)
}

// SampleGrid renders rows×cols random concept scenes (size pixels, zoomed)
// with their captions, like the package's SampleGrid; zero arguments take
// 4×4, DefaultSize and 4.
func (cs *ConceptSet) SampleGrid(rng *rand.Rand, rows, cols, size, zoom int, opt ConceptSceneOptions) (*image.NRGBA, []string) {
	rows, cols = cmpOr(rows, 4), cmpOr(cols, 4)
	size, zoom = cmpOr(size, DefaultSize), cmpOr(zoom, 4)
	pics := make([]*image.NRGBA, 0, rows*cols)
	caps := make([]string, 0, rows*cols)
	for i := 0; i < rows*cols; i++ {
		s := cs.RandomScene(rng, opt)
		caps = append(caps, cs.Caption(s, rng))
		pics = append(pics, cs.RenderImage(s, size))
	}
	return captionGrid(pics, caps, cols, zoom), caps
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// captionGrid lays pictures out in a grid, zoomed (nearest neighbour), each
// with its caption under it, in SampleGrid's layout.
func captionGrid(pics []*image.NRGBA, caps []string, cols, zoom int) *image.NRGBA {
	const pad, lineH, lines = 6, 13, 5
	if len(pics) == 0 {
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	rows := (len(pics) + cols - 1) / cols
	side := pics[0].Rect.Dx()
	pic := side * zoom
	cellW := max(pic, 22*7) + 2*pad
	cellH := pic + lines*lineH + 2*pad
	img := image.NewNRGBA(image.Rect(0, 0, cols*cellW, rows*cellH))
	draw.Draw(img, img.Rect, image.NewUniform(color.NRGBA{R: 250, G: 250, B: 250, A: 255}), image.Point{}, draw.Src)
	for k, small := range pics {
		row, col := k/cols, k%cols
		ox, oy := col*cellW+(cellW-pic)/2, row*cellH+pad
		for y := 0; y < pic; y++ {
			for x := 0; x < pic; x++ {
				img.SetNRGBA(ox+x, oy+y, small.NRGBAAt(x/zoom, y/zoom))
			}
		}
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{R: 20, G: 20, B: 20, A: 255}), Face: basicfont.Face7x13}
		for i, line := range wrap(caps[k], (cellW-4)/7) {
			if i == lines {
				break
			}
			d.Dot = fixed.P(col*cellW+2, oy+pic+(i+1)*lineH)
			d.DrawString(line)
		}
	}
	return img
}

// ConceptPrompt is one evaluation prompt and what it states, so that an
// evaluation checks exactly those attributes. The concept is always the
// subject.
type ConceptPrompt struct {
	Text     string // "a big teddy* on the left, on a blue background"
	Kind     string // "name", "background", "pattern", "position", "size", "combined", "relation"
	Colour   string // the stated background colour ("" if none)
	Pattern  string // the stated pattern ("" if none or plain)
	Position string // a Positions entry ("" if none)
	Size     string // "small", "big" or ""
	Other    string // the second object's name ("" if none)
	Relation string // how the concept stands to Other (a Relations entry)
}

// conceptPromptColours is the order evaluation prompts pick background
// colours in.
var conceptPromptColours = []string{"blue", "green", "red", "yellow", "purple", "pink", "teal", "white", "black", "gray", "orange", "brown"}

// conceptPromptOthers are the second objects of relation prompts (all
// RequiredNames, so every base world has them), in order of use.
var conceptPromptOthers = []string{"cup", "tree", "house", "flower", "dog", "boat", "car", "guitar"}

var defaultAtlas = sync.OnceValues(LoadAtlas)

// ConceptPrompts is the fixed evaluation prompt set for a concept (24
// prompts): the pseudo-word alone, on five background colours and three
// patterns, at five positions, at both sizes, three combinations, and one
// prompt per relation with a second object. When class is an object of
// the embedded atlas, every background is one BackgroundAllowed accepts
// for it (and for the second object). name is the bare pseudo-word.
func ConceptPrompts(name, class string) []ConceptPrompt {
	a, err := defaultAtlas()
	if err != nil {
		a = nil
	}
	return conceptPrompts(a, name, func(c string) bool {
		if a == nil {
			return true
		}
		ids := a.SpritesNamed(class)
		return len(ids) == 0 || a.BackgroundAllowed(ids[0], c)
	}, class)
}

// Prompts is ConceptPrompts with this concept's own background rule (the
// colours its cut-outs allow, see Backgrounds).
func (cs *ConceptSet) Prompts() []ConceptPrompt {
	return conceptPrompts(cs.base, cs.Name, cs.BackgroundAllowed, cs.Class)
}

func conceptPrompts(a *Atlas, name string, allowed func(colour string) bool, class string) []ConceptPrompt {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), "*")
	tok := name + "*"
	np := func(size string) string {
		w := tok
		if size != "" {
			w = size + " " + tok
		}
		return article(w, false) + " " + w
	}
	var cols []string
	for _, c := range conceptPromptColours {
		if allowed(c) {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 { // cannot happen with the atlas's rule (≥ MinAllowedColours)
		cols = conceptPromptColours
	}
	next := 0
	colour := func() string { c := cols[next%len(cols)]; next++; return c }
	bgp := func(c, pattern string) string { return backgroundPhrase(Background{Colour: c, Pattern: pattern}) }

	out := []ConceptPrompt{{Text: np(""), Kind: "name"}}
	for range 5 {
		c := colour()
		out = append(out, ConceptPrompt{Text: np("") + " " + bgp(c, ""), Kind: "background", Colour: c})
	}
	for _, pat := range []string{"striped", "checkered", "gradient"} {
		c := colour()
		out = append(out, ConceptPrompt{Text: np("") + " " + bgp(c, pat), Kind: "pattern", Colour: c, Pattern: pat})
	}
	for _, pos := range []string{"left", "right", "top", "bottom", "top right"} {
		out = append(out, ConceptPrompt{Text: np("") + " " + PositionPhrase(pos), Kind: "position", Position: pos})
	}
	for _, sz := range Sizes {
		out = append(out, ConceptPrompt{Text: np(sz), Kind: "size", Size: sz})
	}
	c1, c2, c3 := colour(), colour(), colour()
	out = append(out,
		ConceptPrompt{Text: np("big") + " " + PositionPhrase("left") + ", " + bgp(c1, ""), Kind: "combined", Colour: c1, Position: "left", Size: "big"},
		ConceptPrompt{Text: PositionPhrase("bottom right") + ", " + np("small") + " " + bgp(c2, ""), Kind: "combined", Colour: c2, Position: "bottom right", Size: "small"},
		ConceptPrompt{Text: bgp(c3, "dotted") + ", " + np("") + " " + PositionPhrase("centre"), Kind: "combined", Colour: c3, Pattern: "dotted", Position: "centre"},
	)
	var others []string
	for _, o := range conceptPromptOthers {
		if o != class {
			others = append(others, o)
		}
	}
	for k, rel := range Relations {
		o := others[k]
		p := ConceptPrompt{Text: np("") + " " + RelationPhrase(rel) + " " + article(o, false) + " " + o, Kind: "relation", Other: o, Relation: rel}
		if k >= 3 { // the last two also state a background both allow
			for j := range cols {
				c := cols[(next+j)%len(cols)]
				ok := true
				if a != nil {
					if ids := a.SpritesNamed(o); len(ids) > 0 {
						ok = a.BackgroundAllowed(ids[0], c)
					}
				}
				if ok {
					p.Text += ", " + bgp(c, "")
					p.Colour = c
					next += j + 1
					break
				}
			}
		}
		out = append(out, p)
	}
	return out
}
