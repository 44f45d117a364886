package eval

import (
	"image"
	"math"
	"slices"
	"sync"

	"conceptstudio/engine/dataset"
)

// FrameWidth is the width in pixels (at 32×32; scaled with the image) of
// the border frame the background colour is read from.
const FrameWidth = 2

// tonePenalty is added (in ΔE, times the share of the tone) when a pixel
// is explained as part of a pattern rather than the plain colour, so that
// a plain background prefers its own colour to the pattern of a colour
// whose tone lies near it (gray is 7 ΔE from black's tone).
const tonePenalty = 2

// frameKeep is the share of the frame's pixels (the best explained) that
// the background colour is judged on: an object may cover the rest.
const frameKeep = 0.6

// bgModel is one named background colour and its pattern tone, as the
// dataset draws them: every background pixel is a mix of the colour and
// its tone (plain: the colour alone), mixed in sRGB.
type bgModel struct {
	name      string
	c, tone   [3]float64 // sRGB in [0, 1]
	lab, tlab [3]float64
}

var bgModels = func() []bgModel {
	out := make([]bgModel, len(dataset.Colours))
	for i, nc := range dataset.Colours {
		tn := dataset.Tone(nc.RGB)
		out[i] = bgModel{
			name: nc.Name,
			c:    [3]float64{float64(nc.RGB.R) / 255, float64(nc.RGB.G) / 255, float64(nc.RGB.B) / 255},
			tone: [3]float64{float64(tn.R) / 255, float64(tn.G) / 255, float64(tn.B) / 255},
			lab:  labOf(nc.RGB), tlab: labOf(tn),
		}
	}
	return out
}()

func modelByName(name string) (bgModel, bool) {
	for _, m := range bgModels {
		if m.name == name {
			return m, true
		}
	}
	return bgModel{}, false
}

// explain is how well the background explains pixel p (sRGB, with its Lab
// coordinates pl): the share t of the tone in the closest mix of colour
// and tone, and the ΔE to that mix.
func (m *bgModel) explain(p, pl []float64) (t, d float64) {
	var dot, nn float64
	for c := 0; c < 3; c++ {
		v := m.tone[c] - m.c[c]
		dot += (p[c] - m.c[c]) * v
		nn += v * v
	}
	t = math.Max(0, math.Min(1, dot/nn))
	switch {
	case t == 0:
		return 0, dist3(pl, m.lab[:])
	case t == 1:
		return 1, dist3(pl, m.tlab[:])
	}
	l, a, b := lab3(m.c[0]+t*(m.tone[0]-m.c[0]), m.c[1]+t*(m.tone[1]-m.c[1]), m.c[2]+t*(m.tone[2]-m.c[2]))
	return t, dist3(pl, []float64{l, a, b})
}

// frame lists the pixel indices of the border frame (FrameWidth at 32,
// scaled, at least 1).
func (r *rgb) frame() []int {
	fw := max(1, int(math.Round(float64(FrameWidth*min(r.w, r.h))/32)))
	var out []int
	for y := 0; y < r.h; y++ {
		for x := 0; x < r.w; x++ {
			if x < fw || y < fw || x >= r.w-fw || y >= r.h-fw {
				out = append(out, y*r.w+x)
			}
		}
	}
	return out
}

// keepCount is how many of n values a share keeps (at least one).
func keepCount(share float64, n int) int {
	return max(1, int(math.Round(share*float64(n))))
}

// lowMean is the mean of the smallest share of the values.
func lowMean(v []float64, share float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	k := keepCount(share, len(s))
	var sum float64
	for _, x := range s[:k] {
		sum += x
	}
	return sum / float64(k)
}

// BackgroundColour reads the background colour from the border frame (2
// pixels wide at 32×32) and names the closest of the dataset's colours
// (dataset.Colours). Each frame pixel is scored by its CIE76 ΔE to the
// closest mix of the colour and its pattern tone (dataset.Tone), plus a
// small penalty for using the tone, so striped, dotted, checkered and
// gradient backgrounds read as their colour too; dist is the mean score of
// the best-explained 60% of the frame (a robust median: an object covering
// up to 40% of the frame does not move it). A background rendered by the
// dataset reads back with dist ≈ 0-1; a dist above ~15 means the border
// matches none of the colours well.
func BackgroundColour(img image.Image) (name string, dist float64) {
	return backgroundColour(toRGB(img))
}

func backgroundColour(r *rgb) (string, float64) {
	fr := r.frame()
	best, bestD := "", math.Inf(1)
	ds := make([]float64, len(fr))
	for mi := range bgModels {
		m := &bgModels[mi]
		for j, i := range fr {
			t, d := m.explain(r.pix[3*i:3*i+3], r.lab[3*i:3*i+3])
			ds[j] = d + tonePenalty*t
		}
		if d := lowMean(ds, frameKeep); d < bestD {
			best, bestD = m.name, d
		}
	}
	return best, bestD
}

// Background patterns as BackgroundPattern names them ("" is plain).
const (
	PatternPlain     = ""
	PatternStriped   = "striped"
	PatternDotted    = "dotted"
	PatternCheckered = "checkered"
	PatternGradient  = "gradient"
)

// BackgroundPattern says how the background of colour bgName is drawn:
// plain (""), or one of dataset.Patterns. Every pixel that the background
// explains (the object's are left out) gives the share of the tone in it;
// the answer is the pattern, at its best-fitting phase, whose own map of
// tone shares (drawn by the dataset's renderer) is closest on average, or
// plain (no tone anywhere) when nothing fits better.
func BackgroundPattern(img image.Image, bgName string) string {
	r := toRGB(img)
	m, ok := modelByName(bgName)
	if !ok {
		return PatternPlain
	}
	return backgroundPattern(r, &m)
}

// patternMargin is how much better (in mean tone share) a pattern must fit
// than plain before it is believed.
const patternMargin = 0.02

func backgroundPattern(r *rgb, m *bgModel) string {
	if r.w != r.h {
		return PatternPlain
	}
	n := r.w * r.h
	t := make([]float64, n)
	bg := make([]bool, n)
	cnt := 0
	for i := 0; i < n; i++ {
		ti, d := m.explain(r.pix[3*i:3*i+3], r.lab[3*i:3*i+3])
		t[i] = ti
		if d < fgThreshold {
			bg[i] = true
			cnt++
		}
	}
	if cnt < n/8 {
		return PatternPlain
	}
	fit := func(tm []float32) float64 {
		var s float64
		for i, ok := range bg {
			if ok {
				s += math.Abs(t[i] - float64(tm[i]))
			}
		}
		return s / float64(cnt)
	}
	best, bestS := PatternPlain, fit(make([]float32, n))-patternMargin
	for _, pm := range toneMaps(r.w) {
		if s := fit(pm.t); s < bestS {
			best, bestS = pm.pattern, s
		}
	}
	return best
}

// toneMap is the share of the tone in each pixel of one pattern at one
// phase, as the dataset draws it.
type toneMap struct {
	pattern string
	t       []float32
}

// patternPhases is how many phases of each pattern BackgroundPattern
// tries.
const patternPhases = 32

var (
	toneMu    sync.Mutex
	toneCache = map[int][]toneMap{}
)

// toneMaps draws every pattern at patternPhases phases (the gradient has
// none) with the dataset's renderer, size×size, once per size.
func toneMaps(size int) []toneMap {
	toneMu.Lock()
	defer toneMu.Unlock()
	if tm, ok := toneCache[size]; ok {
		return tm
	}
	rd := dataset.NewRenderer(&dataset.Atlas{})
	m := bgModels[0]
	ch := 0 // the channel where colour and tone differ most
	for c := 1; c < 3; c++ {
		if math.Abs(m.tone[c]-m.c[c]) > math.Abs(m.tone[ch]-m.c[ch]) {
			ch = c
		}
	}
	buf := make([]float32, size*size*3)
	var out []toneMap
	for _, p := range dataset.Patterns {
		phases := patternPhases
		if p == PatternGradient {
			phases = 1
		}
		for k := 0; k < phases; k++ {
			rd.Render(dataset.Scene{Background: dataset.Background{Colour: m.name, Pattern: p, Phase: float64(k) / patternPhases}}, size, buf)
			tm := toneMap{pattern: p, t: make([]float32, size*size)}
			for i := range tm.t {
				v := (float64(buf[3*i+ch]) + 1) / 2
				tm.t[i] = float32(math.Max(0, math.Min(1, (v-m.c[ch])/(m.tone[ch]-m.c[ch]))))
			}
			out = append(out, tm)
		}
	}
	toneCache[size] = out
	return out
}
