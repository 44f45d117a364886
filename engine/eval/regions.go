package eval

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/region"
)

// RegionThing is what ScoreRegions knows of one thing asked for in a box:
// its class as the judge names it ("" when the judge does not know it)
// and, for a personal concept, the judge's Features of its reference
// images (nil for a plain word of the world).
type RegionThing struct {
	Class string
	Refs  [][]float32
}

// RegionScore is how far one image holds each thing in its box.
type RegionScore struct {
	// Found: a piece of the foreground was claimed by the thing and is it
	// (its class among the judge's regionTopK likeliest names for the
	// piece, when the judge knows the class).
	Found []bool
	// InBox: found, and the centre of mass of the pieces it claimed lies
	// in its box (with a margin of regionMargin of the picture).
	InBox []bool
	// Centre is the centre of mass of its pieces (fractions; NaN when
	// none).
	Centre [][2]float64
	// OwnBest (bleeding): what the image holds inside the thing's box (the
	// foreground outside it painted over) is more like the thing than
	// like any other thing of the picture — closer to its references for
	// concepts, likelier as its class for plain words.
	OwnBest []bool
	// AllInBox: every thing in its box.
	AllInBox bool
}

// regionTopK is how high a piece's class must rank among the judge's 120
// names for it to count as that thing (chance: 1 in 12).
const regionTopK = 10

// regionMargin is how far outside its box a thing's centre may fall and
// still count as inside (a sixteenth of the picture: two pixels at 32).
const regionMargin = 1.0 / 16

// regionSameThing is the similarity of a piece to a concept's references
// (judge features, cosine) above which a concept of a class the judge does
// not know claims it ahead of the known classes.
const regionSameThing = 0.5

// minPieceShare is the least share of the picture a foreground piece must
// cover to be a thing (smaller specks are noise).
const minPieceShare = 0.01

// ScoreRegions scores an image against the boxes its things were asked
// into. The foreground (ForegroundMask on the border's background colour)
// is parted into connected pieces; each piece alone (the rest painted over
// in the background colour) goes through the judge, and is claimed by the
// thing it is most like (the judge's probability of its class; among
// things of one class, the similarity to their references). A thing's centre is the centre of
// mass of the pieces it claimed. Touching things are one piece and so one
// thing: the other is then not found, which counts against the image.
func ScoreRegions(img image.Image, boxes []region.Region, things []RegionThing, judge *Oracle) (RegionScore, error) {
	n := len(things)
	s := RegionScore{Found: make([]bool, n), InBox: make([]bool, n), Centre: make([][2]float64, n), OwnBest: make([]bool, n)}
	if len(boxes) != n || n == 0 {
		return s, fmt.Errorf("eval: ScoreRegions needs one box per thing (%d boxes, %d things)", len(boxes), n)
	}
	r := toRGB(img)
	bgName, _ := backgroundColour(r)
	bm, _ := modelByName(bgName)
	mask := foregroundMask(r, bgName)
	var pieces []*Mask
	for _, c := range mask.Components() {
		if float64(c.Count()) >= minPieceShare*float64(r.w*r.h) {
			pieces = append(pieces, c)
		}
	}
	// Views: each piece alone, then each box's foreground alone.
	var views []image.Image
	for _, p := range pieces {
		views = append(views, paintOver(r, minus(mask, p), &bm))
	}
	for _, b := range boxes {
		views = append(views, paintOver(r, outside(mask, b), &bm))
	}
	logits, raw, err := judge.run(judge.inputs(views), 2*len(views))
	if err != nil {
		return s, err
	}
	_, probs, err := judge.labels(logits)
	if err != nil {
		return s, err
	}
	feats := pairFeatures(raw)
	// A piece is claimed by the thing whose class the judge finds
	// likeliest in it; things of one class (two concepts of the same
	// class, or a concept and its class word) are told apart by the
	// similarity of the piece to each concept's references (a plain word
	// counts as a concept none is like). A thing whose class the judge
	// does not know competes by its references alone, ahead of the rest
	// when its similarity is above regionSameThing.
	classProb := func(v, i int) float64 {
		if k := slices.Index(judge.Record.Classes, things[i].Class); k >= 0 {
			return float64(probs[v][k])
		}
		return -1
	}
	sim := func(v, i int) float64 {
		if things[i].Refs == nil {
			return -1
		}
		return Identity([][]float32{feats[v]}, things[i].Refs)
	}
	better := func(v, i, b int) bool {
		pi, pb := classProb(v, i), classProb(v, b)
		switch {
		case pi < 0 && pb < 0, things[i].Class == things[b].Class:
			return sim(v, i) > sim(v, b)
		case pi < 0:
			return sim(v, i) > regionSameThing
		case pb < 0:
			return sim(v, b) <= regionSameThing && pi > 0
		}
		return pi > pb
	}
	best := func(v int) int {
		b := 0
		for i := 1; i < len(things); i++ {
			if better(v, i, b) {
				b = i
			}
		}
		return b
	}
	var sx, sy, sw = make([]float64, n), make([]float64, n), make([]float64, n)
	for pi, p := range pieces {
		i := best(pi)
		if rank := rankOf(judge, probs[pi], things[i].Class); things[i].Class != "" && (rank == 0 || rank > regionTopK) {
			continue // not a likely one of it: noise or another thing's debris
		}
		s.Found[i] = true
		for y := 0; y < p.H; y++ {
			for x := 0; x < p.W; x++ {
				if p.On[y*p.W+x] {
					sx[i] += float64(x) + 0.5
					sy[i] += float64(y) + 0.5
					sw[i]++
				}
			}
		}
	}
	s.AllInBox = true
	for i := range things {
		s.Centre[i] = [2]float64{math.NaN(), math.NaN()}
		if sw[i] > 0 {
			cx, cy := sx[i]/sw[i]/float64(r.w), sy[i]/sw[i]/float64(r.h)
			s.Centre[i] = [2]float64{cx, cy}
			b := boxes[i]
			grown := region.Region{X: b.X - regionMargin, Y: b.Y - regionMargin, W: b.W + 2*regionMargin, H: b.H + 2*regionMargin}
			s.InBox[i] = grown.Contains(cx, cy)
		}
		s.AllInBox = s.AllInBox && s.InBox[i]
		v := len(pieces) + i
		s.OwnBest[i] = classProb(v, i) >= 0 || sim(v, i) >= 0
		for j := range things {
			if j != i && !better(v, i, j) {
				s.OwnBest[i] = false
			}
		}
	}
	return s, nil
}

// minus is m without p's pixels.
func minus(m, p *Mask) *Mask {
	out := m.clone()
	for i, on := range p.On {
		if on {
			out.On[i] = false
		}
	}
	return out
}

// outside is the part of m outside the box.
func outside(m *Mask, b region.Region) *Mask {
	out := m.clone()
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			if b.Contains((float64(x)+0.5)/float64(m.W), (float64(y)+0.5)/float64(m.H)) {
				out.On[y*m.W+x] = false
			}
		}
	}
	return out
}

// RegionLayouts are the box sets of the region evaluation, by number of
// things: halves, stacked, diagonal corners, a corner overlapping the
// middle; three in a triangle and a tall one beside two; four quadrants.
var RegionLayouts = map[int][][]region.Region{
	2: {
		{{X: 0.02, Y: 0.25, W: 0.46, H: 0.5}, {X: 0.52, Y: 0.25, W: 0.46, H: 0.5}},
		{{X: 0.25, Y: 0.02, W: 0.5, H: 0.46}, {X: 0.25, Y: 0.52, W: 0.5, H: 0.46}},
		{{X: 0, Y: 0, W: 0.45, H: 0.45}, {X: 0.55, Y: 0.55, W: 0.45, H: 0.45}},
		{{X: 0, Y: 0, W: 0.5, H: 0.5}, {X: 0.4, Y: 0.4, W: 0.6, H: 0.6}},
	},
	3: {
		{{X: 0, Y: 0, W: 0.45, H: 0.45}, {X: 0.55, Y: 0, W: 0.45, H: 0.45}, {X: 0.275, Y: 0.55, W: 0.45, H: 0.45}},
		{{X: 0, Y: 0.2, W: 0.5, H: 0.6}, {X: 0.55, Y: 0, W: 0.45, H: 0.45}, {X: 0.55, Y: 0.55, W: 0.45, H: 0.45}},
	},
	4: {
		{{X: 0, Y: 0, W: 0.45, H: 0.45}, {X: 0.55, Y: 0, W: 0.45, H: 0.45}, {X: 0, Y: 0.55, W: 0.45, H: 0.45}, {X: 0.55, Y: 0.55, W: 0.45, H: 0.45}},
	},
}

// RegionScene is one scene of the region evaluation: its classes in
// order, their boxes (named by class's last word) and a ground-truth
// scene with each class's sprite filling its box.
type RegionScene struct {
	Classes    []string
	Boxes      []region.Region
	Background string // a colour every sprite of the scene may stand on
	Truth      dataset.Scene
}

// RegionScenes draws perLayout scenes for each layout of n things (n 0:
// every layout): distinct classes, one of each class's sprites, on a
// plain background all of them may stand on (white when it can be).
func RegionScenes(a *dataset.Atlas, n, perLayout int, seed uint64) []RegionScene {
	rng := rand.New(rand.NewPCG(seed, 0x2E61))
	names := a.Names()
	var out []RegionScene
	for _, k := range []int{2, 3, 4} {
		if n != 0 && k != n {
			continue
		}
		for _, layout := range RegionLayouts[k] {
			for s := 0; s < perLayout; s++ {
				var sc RegionScene
				var allowed map[string]int
				for _, ci := range rng.Perm(len(names))[:k] {
					sprites := a.SpritesNamed(names[ci])
					sp := sprites[rng.IntN(len(sprites))]
					if allowed == nil {
						allowed = map[string]int{}
					}
					for _, c := range a.AllowedBackgrounds(sp) {
						allowed[c]++
					}
					b := layout[len(sc.Classes)]
					words := strings.Fields(names[ci])
					b.Name = words[len(words)-1]
					sc.Classes = append(sc.Classes, names[ci])
					sc.Boxes = append(sc.Boxes, b)
					cx, cy := b.Centre()
					sc.Truth.Objects = append(sc.Truth.Objects, dataset.Placed{Sprite: sp, CX: cx, CY: cy, Extent: 0.85 * min(b.W, b.H), Size: "big"})
				}
				sc.Background = "white"
				if allowed["white"] < k {
					for _, c := range dataset.Colours {
						if allowed[c.Name] == k {
							sc.Background = c.Name
							break
						}
					}
				}
				sc.Truth.Background = dataset.Background{Colour: sc.Background}
				out = append(out, sc)
			}
		}
	}
	return out
}

// RegionRates are ScoreRegions' rates over a set of images.
type RegionRates struct {
	Images int     `json:"images"`
	Found  float64 `json:"found"`      // things found, of all things
	InBox  float64 `json:"in_box"`     // things in their boxes, of all things
	All    float64 `json:"all_in_box"` // images with every thing in its box
	// OwnBest: things whose box holds more of them than of any other
	// thing of the picture (bleeding's opposite), of all things.
	OwnBest float64 `json:"own_best"`
	// InBoxOfFound: things in their boxes, of the things found (where
	// the found ones are, whatever the judge could name).
	InBoxOfFound float64 `json:"in_box_of_found"`
	found, inBox int
}

// Add counts one image's score.
func (r *RegionRates) Add(s RegionScore) {
	n := float64(r.Images)
	things := func(v []bool) float64 {
		k := 0
		for _, b := range v {
			if b {
				k++
			}
		}
		return float64(k) / float64(len(v))
	}
	all := 0.0
	if s.AllInBox {
		all = 1
	}
	for i := range s.Found {
		if s.Found[i] {
			r.found++
			if s.InBox[i] {
				r.inBox++
			}
		}
	}
	if r.found > 0 {
		r.InBoxOfFound = float64(r.inBox) / float64(r.found)
	}
	r.Found = (r.Found*n + things(s.Found)) / (n + 1)
	r.InBox = (r.InBox*n + things(s.InBox)) / (n + 1)
	r.OwnBest = (r.OwnBest*n + things(s.OwnBest)) / (n + 1)
	r.All = (r.All*n + all) / (n + 1)
	r.Images++
}

// Merge adds another set's counts (weighted by images).
func (r *RegionRates) Merge(o RegionRates) {
	n, m := float64(r.Images), float64(o.Images)
	if n+m == 0 {
		return
	}
	mix := func(a, b float64) float64 { return (a*n + b*m) / (n + m) }
	r.Found, r.InBox, r.All, r.OwnBest = mix(r.Found, o.Found), mix(r.InBox, o.InBox), mix(r.All, o.All), mix(r.OwnBest, o.OwnBest)
	r.found, r.inBox = r.found+o.found, r.inBox+o.inBox
	if r.found > 0 {
		r.InBoxOfFound = float64(r.inBox) / float64(r.found)
	}
	r.Images += o.Images
}

// RegionValidation is ScoreRegions on renders no model made: the ground
// truth (the ceiling), the same images against boxes handed to the wrong
// things (must fail), and the colour-only control (each sprite an ellipse
// of its mean colour: must not be found).
type RegionValidation struct {
	Truth, WrongBoxes, ColourOnly RegionRates
}

// ValidateRegions scores the region scenes' ground truth and controls at
// the given image size.
func ValidateRegions(judge *Oracle, a *dataset.Atlas, scenes []RegionScene, size int) (RegionValidation, error) {
	var v RegionValidation
	rd := dataset.NewRenderer(a)
	for _, sc := range scenes {
		x := make([]float32, size*size*3)
		rd.Render(sc.Truth, size, x)
		truth := FromNHWC(x, size)
		things := make([]RegionThing, len(sc.Classes))
		for i, c := range sc.Classes {
			things[i] = RegionThing{Class: c}
		}
		s, err := ScoreRegions(truth, sc.Boxes, things, judge)
		if err != nil {
			return v, err
		}
		v.Truth.Add(s)
		wrong := append(sc.Boxes[1:len(sc.Boxes):len(sc.Boxes)], sc.Boxes[0])
		if s, err = ScoreRegions(truth, wrong, things, judge); err != nil {
			return v, err
		}
		v.WrongBoxes.Add(s)
		if s, err = ScoreRegions(FromNHWC(ColourOnly(rd, sc.Truth, size), size), sc.Boxes, things, judge); err != nil {
			return v, err
		}
		v.ColourOnly.Add(s)
	}
	return v, nil
}
