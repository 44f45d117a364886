package eval

import (
	"cmp"
	"image"
	"math"
	"slices"

	"conceptstudio/engine/dataset"
)

// fgThreshold is the ΔE (CIE76) from the background above which a pixel
// belongs to the foreground. The dataset keeps every object's mean colour
// at least 30 ΔE from its background (dataset.MinMeanDeltaE) and at most
// 30% of its area within 22 ΔE, so most of an object clears this easily,
// while the background itself renders within 1 ΔE.
const fgThreshold = 14

// Mask is a set of pixels of a W×H image (row-major).
type Mask struct {
	W, H int
	On   []bool
	// Strength is each pixel's ΔE from the background (0 for a mask built
	// by hand); Box uses it to place the box's edges to a fraction of a
	// pixel.
	Strength []float64
}

func newMask(w, h int) *Mask {
	return &Mask{W: w, H: h, On: make([]bool, w*h), Strength: make([]float64, w*h)}
}

// Count is the number of pixels set.
func (m *Mask) Count() int {
	n := 0
	for _, on := range m.On {
		if on {
			n++
		}
	}
	return n
}

// Bounds is the smallest rectangle holding every pixel set (empty for an
// empty mask).
func (m *Mask) Bounds() image.Rectangle {
	r := image.Rectangle{}
	first := true
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			if !m.On[y*m.W+x] {
				continue
			}
			p := image.Rect(x, y, x+1, y+1)
			if first {
				r, first = p, false
			} else {
				r = r.Union(p)
			}
		}
	}
	return r
}

// Box is the object's box as fractions of the image side: centre (cx, cy)
// and width and height. An edge row or column of the pixel box that the
// object covers only partly (an antialiased edge, weaker than the rows
// inside) counts for its share, so a box's size is read to a fraction of a
// pixel.
func (m *Mask) Box() (cx, cy, w, h float64) {
	b := m.Bounds()
	if b.Empty() {
		return 0.5, 0.5, 0, 0
	}
	x0, x1 := float64(b.Min.X), float64(b.Max.X)
	y0, y1 := float64(b.Min.Y), float64(b.Max.Y)
	if m.Strength != nil {
		col := func(x int) float64 {
			s := 0.0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				if m.On[y*m.W+x] {
					s = math.Max(s, m.Strength[y*m.W+x])
				}
			}
			return s
		}
		row := func(y int) float64 {
			s := 0.0
			for x := b.Min.X; x < b.Max.X; x++ {
				if m.On[y*m.W+x] {
					s = math.Max(s, m.Strength[y*m.W+x])
				}
			}
			return s
		}
		// share of an edge line: its strength against the next line in.
		share := func(edge, inner float64) float64 {
			if inner <= 0 {
				return 1
			}
			return math.Max(0, math.Min(1, edge/inner))
		}
		if b.Dx() > 2 {
			x0 += 1 - share(col(b.Min.X), col(b.Min.X+1))
			x1 -= 1 - share(col(b.Max.X-1), col(b.Max.X-2))
		}
		if b.Dy() > 2 {
			y0 += 1 - share(row(b.Min.Y), row(b.Min.Y+1))
			y1 -= 1 - share(row(b.Max.Y-1), row(b.Max.Y-2))
		}
	}
	fw, fh := float64(m.W), float64(m.H)
	return (x0 + x1) / 2 / fw, (y0 + y1) / 2 / fh, (x1 - x0) / fw, (y1 - y0) / fh
}

// Extent is the longest side of the object's box as a fraction of the
// image side, the quantity the dataset's size words are defined on: the
// mask's box plus edgeAllowance pixels.
func (m *Mask) Extent() float64 {
	_, _, w, h := m.Box()
	if w == 0 && h == 0 {
		return 0
	}
	return math.Max(w+edgeAllowance/float64(m.W), h+edgeAllowance/float64(m.H))
}

// edgeAllowance (pixels) is what a foreground mask misses of a sprite's
// box: the dataset trims a sprite to the pixels with alpha above 12/255, so
// its outermost rows are often faint, and scaled down they fall under
// fgThreshold. Measured on dataset renders (TestExtentCalibration), the
// mask's box is short by about 0.5 px at the median and 1 px at the 10th
// percentile.
const edgeAllowance = 0.5

// ForegroundMask marks the pixels that the background of colour bgName
// does not explain: farther than fgThreshold ΔE from the colour as the
// image draws it (drawnColour) or, when
// the border shows a pattern, from every mix of the colour and its tone.
// A noisy image (frame more than 4 ΔE from its background) is 3×3
// median-filtered first. The mask is then cleaned: specks (connected pieces
// under 3 pixels at 32×32, or under a tenth of the largest piece) are
// dropped.
func ForegroundMask(img image.Image, bgName string) *Mask {
	return foregroundMask(toRGB(img), bgName)
}

func foregroundMask(r *rgb, bgName string) *Mask {
	m := newMask(r.w, r.h)
	bm, ok := modelByName(bgName)
	if !ok {
		return m
	}
	patterned := backgroundPattern(r, &bm) != PatternPlain
	// A noisy image (a sampler's leftovers) is median-filtered first, so
	// that noise alone does not cross the threshold; the median keeps the
	// object's edges where they are.
	if noiseLevel(r, &bm) > noisyFrame {
		r = median3(r)
	}
	ref := bm.lab
	if !patterned {
		ref = drawnColour(r, &bm)
	}
	for i := 0; i < r.w*r.h; i++ {
		var d float64
		if patterned {
			_, d = bm.explain(r.pix[3*i:3*i+3], r.lab[3*i:3*i+3])
		} else {
			d = dist3(r.lab[3*i:3*i+3], ref[:])
		}
		m.Strength[i] = d
		m.On[i] = d > fgThreshold
	}
	comps := m.Components()
	if len(comps) == 0 {
		return m
	}
	minArea := max(3*r.w*r.h/1024, comps[0].Count()/10)
	clear(m.On)
	for _, c := range comps {
		if c.Count() < minArea {
			break
		}
		for i, on := range c.On {
			if on {
				m.On[i] = true
			}
		}
	}
	return m
}

// drawnColour is a plain background's colour as the image draws it: the
// mean (CIE Lab) of the frame's pixels that the named colour explains
// best (frameKeep of them, as BackgroundColour judges it; an object may
// cover the rest). A render draws the colour itself; a model may draw it
// a little off (its "black" a dark blue ΔE 12 away, its teal greener),
// and measured from the named colour such a background is half
// foreground: the mask would grow to the whole picture and put a thing on
// the left in the middle.
func drawnColour(r *rgb, bm *bgModel) [3]float64 {
	fr := r.frame()
	ds := make([]float64, len(fr))
	for j, i := range fr {
		ds[j] = dist3(r.lab[3*i:3*i+3], bm.lab[:])
	}
	order := make([]int, len(fr))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ds[a], ds[b]) })
	k := keepCount(frameKeep, len(fr))
	var sum [3]float64
	for _, j := range order[:k] {
		for c := range sum {
			sum[c] += r.lab[3*fr[j]+c]
		}
	}
	for c := range sum {
		sum[c] /= float64(k)
	}
	return sum
}

// noisyFrame is the frame's typical ΔE from its background (see
// noiseLevel) above which ForegroundMask denoises: a render is within 1,
// Gaussian noise of σ 0.05 in [-1, 1] gives about 3.
const noisyFrame = 4

// noiseLevel is the mean ΔE from the background model of the frame's
// best-explained 60% of pixels.
func noiseLevel(r *rgb, bm *bgModel) float64 {
	fr := r.frame()
	ds := make([]float64, len(fr))
	for j, i := range fr {
		_, ds[j] = bm.explain(r.pix[3*i:3*i+3], r.lab[3*i:3*i+3])
	}
	return lowMean(ds, frameKeep)
}

// median3 is r with each channel replaced by its 3×3 median (edges
// replicated).
func median3(r *rgb) *rgb {
	out := &rgb{w: r.w, h: r.h, pix: make([]float64, len(r.pix)), lab: make([]float64, len(r.lab))}
	var win [9]float64
	for y := 0; y < r.h; y++ {
		for x := 0; x < r.w; x++ {
			for c := 0; c < 3; c++ {
				k := 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := max(0, min(r.w-1, x+dx)), max(0, min(r.h-1, y+dy))
						win[k] = r.pix[3*(yy*r.w+xx)+c]
						k++
					}
				}
				slices.Sort(win[:])
				out.pix[3*(y*r.w+x)+c] = win[4]
			}
			i := 3 * (y*r.w + x)
			out.lab[i], out.lab[i+1], out.lab[i+2] = lab3(out.pix[i], out.pix[i+1], out.pix[i+2])
		}
	}
	return out
}

// Components splits the mask into 8-connected pieces, largest first.
func (m *Mask) Components() []*Mask {
	label := make([]int, len(m.On))
	var out []*Mask
	stack := []int{}
	for s, on := range m.On {
		if !on || label[s] != 0 {
			continue
		}
		c := &Mask{W: m.W, H: m.H, On: make([]bool, len(m.On)), Strength: m.Strength}
		label[s] = len(out) + 1
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c.On[i] = true
			x, y := i%m.W, i/m.W
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= m.W || ny >= m.H {
						continue
					}
					j := ny*m.W + nx
					if m.On[j] && label[j] == 0 {
						label[j] = label[s]
						stack = append(stack, j)
					}
				}
			}
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b *Mask) int { return b.Count() - a.Count() })
	return out
}

// Position names where the object is, with the dataset's words
// (dataset.Positions): the box's centre, across each axis, is on the left
// (top) side, in the middle or on the right (bottom) side.
//
// The dataset places an object at an edge with its box 0-3% from that edge,
// so its centre lies within 0.32 of the edge (half the largest edge extent,
// 0.58, plus 0.03); and it centres the other axis ±6% (±7.5% at the
// largest centred extent, after clamping). The boundaries sit between, at
// 3/8 and 5/8 of the side. An empty mask is "centre".
func Position(mask *Mask) string {
	cx, cy, _, _ := mask.Box()
	return positionOf(cx, cy)
}

// Position boundaries (fractions of the side): see Position.
const (
	posLow  = 3.0 / 8
	posHigh = 5.0 / 8
)

func positionOf(cx, cy float64) string {
	h, v := "", ""
	switch {
	case cx < posLow:
		h = "left"
	case cx > posHigh:
		h = "right"
	}
	switch {
	case cy < posLow:
		v = "top"
	case cy > posHigh:
		v = "bottom"
	}
	switch {
	case h == "" && v == "":
		return "centre"
	case h == "":
		return v
	case v == "":
		return h
	}
	return v + " " + h
}

// Size is "small" or "big": the box's extent (its longest side, as a
// fraction of the image side) below or above dataset.SmallBigThreshold.
func Size(mask *Mask) string {
	return sizeOf(mask.Extent())
}

func sizeOf(extent float64) string {
	if extent < dataset.SmallBigThreshold {
		return "small"
	}
	return "big"
}

// Split divides a foreground mask into two objects: the two largest
// connected pieces, with every smaller piece joined to the one whose box it
// is nearer (so an object drawn in separate parts stays whole). ok is false
// when the mask has fewer than two pieces.
func Split(mask *Mask) (a, b *Mask, ok bool) {
	comps := mask.Components()
	if len(comps) < 2 {
		return nil, nil, false
	}
	a, b = comps[0].clone(), comps[1].clone()
	for _, c := range comps[2:] {
		dst := a
		if boxGap(c.Bounds(), b.Bounds()) < boxGap(c.Bounds(), a.Bounds()) {
			dst = b
		}
		for i, on := range c.On {
			if on {
				dst.On[i] = true
			}
		}
	}
	return a, b, true
}

func (m *Mask) clone() *Mask {
	return &Mask{W: m.W, H: m.H, On: slices.Clone(m.On), Strength: m.Strength}
}

// boxGap is the distance between two rectangles (0 when they touch or
// overlap).
func boxGap(p, q image.Rectangle) float64 {
	dx := max(0, max(p.Min.X-q.Max.X, q.Min.X-p.Max.X))
	dy := max(0, max(p.Min.Y-q.Max.Y, q.Min.Y-p.Max.Y))
	return math.Hypot(float64(dx), float64(dy))
}

// Relation says how the object in mask a stands to the one in mask b, with
// the dataset's words (dataset.Relations, but never dataset.RelNextTo,
// which any side-by-side answer satisfies; see RelationHolds): "left of",
// "right of", "above" or "below", from the axis along which their boxes are
// farther apart.
func Relation(a, b *Mask) string {
	ax, ay, aw, ah := a.Box()
	bx, by, bw, bh := b.Box()
	// Gap between the boxes along each axis (negative: overlap).
	gx := math.Abs(ax-bx) - (aw+bw)/2
	gy := math.Abs(ay-by) - (ah+bh)/2
	if gx >= gy {
		if ax < bx {
			return dataset.RelLeftOf
		}
		return dataset.RelRightOf
	}
	if ay < by {
		return dataset.RelAbove
	}
	return dataset.RelBelow
}

// RelationHolds says whether "a <rel> b" is true of the two masks: the
// relation Relation reads, where "next to" accepts left of and right of.
func RelationHolds(a, b *Mask, rel string) bool {
	got := Relation(a, b)
	if rel == dataset.RelNextTo {
		return got == dataset.RelLeftOf || got == dataset.RelRightOf
	}
	return got == rel
}
