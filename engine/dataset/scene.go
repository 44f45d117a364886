package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Positions are where a single object can be, in caption order.
var Positions = []string{
	"left", "right", "top", "bottom", "centre",
	"top left", "top right", "bottom left", "bottom right",
}

// Sizes are the size words.
var Sizes = []string{"small", "big"}

// Relations between the two objects of a pair: Objects[0] <relation>
// Objects[1].
const (
	RelLeftOf  = "left of"  // "a cat on the left of a teapot"
	RelRightOf = "right of" // "a cat on the right of a teapot"
	RelAbove   = "above"
	RelBelow   = "below"
	RelNextTo  = "next to" // side by side, either order
)

// Relations lists the relations.
var Relations = []string{RelLeftOf, RelRightOf, RelAbove, RelBelow, RelNextTo}

// Scene geometry, as fractions of the image side. "Extent" is the longest
// side of a sprite's box (its trimmed visible rectangle, scaled).
//
//   - small: extent 0.28-0.40 (0.28-0.38 in pairs)
//   - big:   extent 0.50-0.58 at an edge or corner, 0.50-0.85 in the centre,
//     0.42-0.47 in pairs
//
// so any extent ≤ 0.40 is small and ≥ 0.42 is big. A position at an edge
// puts the box 0-3% from that edge (its centre lands in that third of the
// image); the other axis is centred ±6%. In a pair each box stays in its
// own half along the relation's axis, so "on the left of" is true of the
// boxes (left box's right edge < right box's left edge).
var (
	smallExtent     = [2]float64{0.28, 0.40}
	bigEdgeExtent   = [2]float64{0.50, 0.58}
	bigCentreExtent = [2]float64{0.50, 0.85}
	smallPairExtent = [2]float64{0.28, 0.38}
	bigPairExtent   = [2]float64{0.42, 0.47}
	edgeMargin      = [2]float64{0, 0.03}
	centreJitter    = 0.06
	pairCrossJitter = 0.08
	pairEdgeMargin  = [2]float64{0, 0.02}
)

// SmallBigThreshold separates the size words: an extent below it is
// "small", above it "big".
const SmallBigThreshold = 0.41

// Background is a scene's background: a named colour, plain or patterned.
type Background struct {
	Colour  string  // a Colours name
	Pattern string  // "" (plain) or a Patterns entry
	Phase   float64 // pattern offset in [0,1), as a fraction of its period
}

// String is the background's caption words: "blue", "striped blue",
// "blue gradient".
func (b Background) String() string {
	switch b.Pattern {
	case "":
		return b.Colour
	case "gradient":
		return b.Colour + " gradient"
	default:
		return b.Pattern + " " + b.Colour
	}
}

// Placed is one object in a scene. Position and Size are the words; CX, CY
// and Extent are the exact geometry (fractions of the image side, so the
// same scene renders alike at any size): the centre of the sprite's box and
// the box's longest side.
type Placed struct {
	Sprite   int
	Position string // a Positions entry
	Size     string // "small" or "big"
	Flip     bool   // the sprite is mirrored horizontally
	CX, CY   float64
	Extent   float64
}

// Scene is what one training image shows: one or two objects on a
// background. With two objects, Relation says how Objects[0] (the subject,
// named first in captions) stands to Objects[1].
type Scene struct {
	Objects    []Placed
	Relation   string // "" for one object
	Background Background
}

// Box returns a placed sprite's box in pixels for an image size×size:
// left, top, width, height (real numbers).
func (a *Atlas) Box(p Placed, size int) (x0, y0, w, h float64) {
	r := a.Sprites[p.Sprite].Rect
	m := float64(max(r.Dx(), r.Dy()))
	w = p.Extent * float64(size) * float64(r.Dx()) / m
	h = p.Extent * float64(size) * float64(r.Dy()) / m
	return p.CX*float64(size) - w/2, p.CY*float64(size) - h/2, w, h
}

// boxFrac is the box's width and height as fractions of the side.
func (a *Atlas) boxFrac(sprite int, extent float64) (w, h float64) {
	r := a.Sprites[sprite].Rect
	m := float64(max(r.Dx(), r.Dy()))
	return extent * float64(r.Dx()) / m, extent * float64(r.Dy()) / m
}

// uniform draws from [lo, hi]; with a nil rng it returns the midpoint, so
// hand-built scenes (tests, evaluation) can be exact.
func uniform(rng *rand.Rand, r [2]float64) float64 {
	if rng == nil {
		return (r[0] + r[1]) / 2
	}
	return r[0] + (r[1]-r[0])*rng.Float64()
}

func jitter(rng *rand.Rand, j float64) float64 {
	if rng == nil {
		return 0
	}
	return (2*rng.Float64() - 1) * j
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// PlaceSingle places one sprite at a named position and size. Jitter (the
// exact extent, the margin to the edge, the off-axis offset) comes from
// rng; a nil rng gives the middle of every range.
func (a *Atlas) PlaceSingle(rng *rand.Rand, sprite int, position, size string, flip bool) (Placed, error) {
	if sprite < 0 || sprite >= len(a.Sprites) {
		return Placed{}, fmt.Errorf("dataset: no sprite %d", sprite)
	}
	p, err := placeSingle(rng, func(ext float64) (float64, float64) { return a.boxFrac(sprite, ext) }, position, size)
	p.Sprite, p.Flip = sprite, flip
	return p, err
}

// PlanSingle is where PlaceSingle would put an object whose box is
// square, drawn from rng the same way: the layout a prompt's words ask
// for, before anything is drawn (a frames design's frames).
func PlanSingle(rng *rand.Rand, position, size string) (Placed, error) {
	return placeSingle(rng, func(ext float64) (float64, float64) { return ext, ext }, position, size)
}

// placeSingle places a box (its width and height for an extent from
// box) at a named position and size.
func placeSingle(rng *rand.Rand, box func(ext float64) (w, h float64), position, size string) (Placed, error) {
	if !slices.Contains(Positions, position) {
		return Placed{}, fmt.Errorf("dataset: unknown position %q", position)
	}
	var ext float64
	switch size {
	case "small":
		ext = uniform(rng, smallExtent)
	case "big":
		if position == "centre" {
			ext = uniform(rng, bigCentreExtent)
		} else {
			ext = uniform(rng, bigEdgeExtent)
		}
	default:
		return Placed{}, fmt.Errorf("dataset: unknown size %q", size)
	}
	w, h := box(ext)
	var horiz, vert string // "left"/"right"/"" and "top"/"bottom"/""
	switch position {
	case "left", "right":
		horiz = position
	case "top", "bottom":
		vert = position
	case "top left", "top right", "bottom left", "bottom right":
		vert, horiz, _ = strings.Cut(position, " ")
	}
	cx := 0.5 + jitter(rng, centreJitter)
	switch horiz {
	case "left":
		cx = uniform(rng, edgeMargin) + w/2
	case "right":
		cx = 1 - uniform(rng, edgeMargin) - w/2
	}
	cy := 0.5 + jitter(rng, centreJitter)
	switch vert {
	case "top":
		cy = uniform(rng, edgeMargin) + h/2
	case "bottom":
		cy = 1 - uniform(rng, edgeMargin) - h/2
	}
	return Placed{
		Position: position, Size: size,
		CX: clamp(cx, w/2, 1-w/2), CY: clamp(cy, h/2, 1-h/2), Extent: ext,
	}, nil
}

// PlacePair places subject and object so that "subject <relation> object"
// holds. For RelNextTo the left/right order is drawn from rng (subject on
// the left with a nil rng).
func (a *Atlas) PlacePair(rng *rand.Rand, subject, object int, relation string, sizes [2]string, flips [2]bool) ([2]Placed, error) {
	ids := [2]int{subject, object}
	for i := range 2 {
		if ids[i] < 0 || ids[i] >= len(a.Sprites) {
			return [2]Placed{}, fmt.Errorf("dataset: no sprite %d", ids[i])
		}
	}
	out, err := placePair(rng, func(i int, ext float64) (float64, float64) { return a.boxFrac(ids[i], ext) }, relation, sizes)
	for i := range out {
		out[i].Sprite, out[i].Flip = ids[i], flips[i]
	}
	return out, err
}

// PlanPair is where PlacePair would put two objects whose boxes are
// square, drawn from rng the same way (see PlanSingle).
func PlanPair(rng *rand.Rand, relation string, sizes [2]string) ([2]Placed, error) {
	return placePair(rng, func(_ int, ext float64) (float64, float64) { return ext, ext }, relation, sizes)
}

// placePair places two boxes (box gives each one's width and height for
// an extent) so that the first <relation> the second holds.
func placePair(rng *rand.Rand, box func(i int, ext float64) (w, h float64), relation string, sizes [2]string) ([2]Placed, error) {
	var out [2]Placed
	exts := [2]float64{}
	for i := range 2 {
		switch sizes[i] {
		case "small":
			exts[i] = uniform(rng, smallPairExtent)
		case "big":
			exts[i] = uniform(rng, bigPairExtent)
		default:
			return out, fmt.Errorf("dataset: unknown size %q", sizes[i])
		}
	}
	// first: which of the two goes left (or top).
	first, vertical := 0, false
	switch relation {
	case RelLeftOf:
	case RelRightOf:
		first = 1
	case RelAbove:
		vertical = true
	case RelBelow:
		first, vertical = 1, true
	case RelNextTo:
		if rng != nil && rng.IntN(2) == 1 {
			first = 1
		}
	default:
		return out, fmt.Errorf("dataset: unknown relation %q", relation)
	}
	for i := range 2 {
		w, h := box(i, exts[i])
		along, across := w, h
		if vertical {
			along, across = h, w
		}
		m := uniform(rng, pairEdgeMargin)
		var a0 float64 // centre along the relation's axis
		var pos string
		if i == first {
			a0 = m + along/2
			pos = "left"
			if vertical {
				pos = "top"
			}
		} else {
			a0 = 1 - m - along/2
			pos = "right"
			if vertical {
				pos = "bottom"
			}
		}
		c := clamp(0.5+jitter(rng, pairCrossJitter), across/2, 1-across/2)
		p := Placed{Position: pos, Size: sizes[i], Extent: exts[i]}
		if vertical {
			p.CX, p.CY = c, a0
		} else {
			p.CX, p.CY = a0, c
		}
		out[i] = p
	}
	return out, nil
}

// SceneOptions restricts RandomScene. The zero value means: any sprite of
// any style, one object only, plain backgrounds only; see
// DefaultSceneOptions.
type SceneOptions struct {
	Styles      []string // allowed styles (nil: all)
	Sprites     []int    // allowed sprite indices (nil: all), intersected with Styles
	PairProb    float64  // probability of two objects
	PatternProb float64  // probability of a patterned background
	FlipProb    float64  // probability that a sprite is mirrored
}

// DefaultSceneOptions are the base model's training distribution: 30% of
// scenes have two objects, 25% a patterned background, half the sprites
// mirrored.
func DefaultSceneOptions() SceneOptions {
	return SceneOptions{PairProb: 0.3, PatternProb: 0.25, FlipProb: 0.5}
}

func (a *Atlas) candidates(opt SceneOptions) []int {
	var out []int
	ok := func(i int) bool {
		return opt.Styles == nil || slices.Contains(opt.Styles, a.Sprites[i].Style)
	}
	if opt.Sprites != nil {
		for _, i := range opt.Sprites {
			if i >= 0 && i < len(a.Sprites) && ok(i) {
				out = append(out, i)
			}
		}
		return out
	}
	for i := range a.Sprites {
		if ok(i) {
			out = append(out, i)
		}
	}
	return out
}

// RandomScene draws a scene from the options, using only rng (the same rng
// state gives the same scene). The background colour is always one that
// BackgroundAllowed accepts for every object. It panics if the options
// allow no sprite at all (a programmer error).
func (a *Atlas) RandomScene(rng *rand.Rand, opt SceneOptions) Scene {
	cand := a.candidates(opt)
	if len(cand) == 0 {
		panic("dataset: RandomScene: the options allow no sprite")
	}
	pair := opt.PairProb > 0 && rng.Float64() < opt.PairProb
	s0 := cand[rng.IntN(len(cand))]
	objs := []int{s0}
	if pair {
		for try := 0; try < 32; try++ {
			s1 := cand[rng.IntN(len(cand))]
			if a.Sprites[s1].Name != a.Sprites[s0].Name && len(a.commonColours(s0, s1)) > 0 {
				objs = append(objs, s1)
				break
			}
		}
	}
	var colours []string
	if len(objs) == 2 {
		colours = a.commonColours(objs[0], objs[1])
	} else {
		colours = a.AllowedBackgrounds(s0)
	}
	bg := randomBackground(rng, colours, opt.PatternProb)
	flip := func() bool { return opt.FlipProb > 0 && rng.Float64() < opt.FlipProb }
	size := func() string { return Sizes[rng.IntN(len(Sizes))] }

	sc := Scene{Background: bg}
	if len(objs) == 1 {
		pos := Positions[rng.IntN(len(Positions))]
		sz, fl := size(), flip()
		p, err := a.PlaceSingle(rng, s0, pos, sz, fl)
		if err != nil {
			panic(err) // unreachable: the words come from our own lists
		}
		sc.Objects = []Placed{p}
		return sc
	}
	rel := Relations[rng.IntN(len(Relations))]
	sizes := [2]string{size(), size()}
	flips := [2]bool{flip(), flip()}
	ps, err := a.PlacePair(rng, objs[0], objs[1], rel, sizes, flips)
	if err != nil {
		panic(err)
	}
	sc.Objects = ps[:]
	sc.Relation = rel
	return sc
}

func (a *Atlas) commonColours(s0, s1 int) []string {
	var out []string
	for _, c := range a.AllowedBackgrounds(s0) {
		if a.BackgroundAllowed(s1, c) {
			out = append(out, c)
		}
	}
	return out
}

// randomBackground draws a background: one of colours, patterned with
// probability patternProb (random pattern and phase). Scenes and concept
// scenes share it, so both draw from rng in the same order.
func randomBackground(rng *rand.Rand, colours []string, patternProb float64) Background {
	bg := Background{Colour: colours[rng.IntN(len(colours))]}
	if patternProb > 0 && rng.Float64() < patternProb {
		bg.Pattern = Patterns[rng.IntN(len(Patterns))]
		bg.Phase = rng.Float64()
	}
	return bg
}
