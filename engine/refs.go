package engine

import (
	"image"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// A refs design (model.Config.Refs) is given a reference picture of each
// thing, drawn into the thing's frame: training draws the thing's own
// sprite there, a little moved and scaled (refJitter) so that the network
// learns to draw the thing from the picture rather than to copy pixels in
// place, and leaves it out of dropRefs of the pictures; drawing takes the
// sprite of the class the prompt names for each thing (a style and a
// mirroring drawn from the seed), so what the network is shown is what a
// user's words pick, never the picture it is judged against.

// dropRefs is the share of framed training pictures a refs design sees
// without references, so that it still draws from the words alone.
const dropRefs = 0.15

// refJitter is how far a training reference is moved (fractions of the
// thing's extent, each way) and scaled (±) from where the thing is.
const refJitter = 0.08

// sharedRenderer draws the atlas's sprites for references.
var sharedRenderer = sync.OnceValues(func() (*dataset.Renderer, error) {
	a, err := sharedAtlas()
	if err != nil {
		return nil, err
	}
	return dataset.NewRenderer(a), nil
})

// refsFromLayer turns a layer drawn over nothing (dataset.Renderer.
// RenderLayer: premultiplied RGBA in [0, 1]) into the reference input
// (model.Net.SetRefs): colour in [−1, 1] times alpha, then alpha.
func refsFromLayer(layer, dst []float32) {
	for i := 0; i+3 < len(layer); i += 4 {
		a := layer[i+3]
		dst[i], dst[i+1], dst[i+2], dst[i+3] = 2*layer[i]-a, 2*layer[i+1]-a, 2*layer[i+2]-a, a
	}
}

// trainingRefs draws a training scene's things into dst (size×size×4) as
// their references: each its own sprite, moved and scaled by up to
// refJitter, recoloured by m where it is given (as the picture's things
// are: refAugment).
func trainingRefs(rd *dataset.Renderer, sc dataset.Scene, size int, rng *rand.Rand, m *dataset.Recolour, dst []float32) {
	ref := dataset.Scene{Objects: make([]dataset.Placed, len(sc.Objects))}
	for i, o := range sc.Objects {
		j := func() float64 { return (2*rng.Float64() - 1) * refJitter }
		o.CX += j() * o.Extent
		o.CY += j() * o.Extent
		o.Extent *= 1 + j()
		ref.Objects[i] = o
	}
	layer := rd.RenderLayer(ref, size)
	if m != nil {
		m.Apply(layer)
	}
	refsFromLayer(layer, dst)
}

// refSwap is the share of things an augmented training picture
// (refAugment) draws as a sprite of another class than its caption
// names, with that sprite as its reference.
const refSwap = 0.3

// refAugment makes a training picture whose things can only be drawn
// from their references, as a user's thing must be: the things turned to
// one random hue (the picture and the references alike), and each, with
// probability refSwap, drawn as a sprite of another class (one of cand,
// on a background it may stand on) while the caption still names its
// own. A network that draws a "teddy bear" from memory where the
// reference shows a green rocket is then wrong, so it learns to copy what
// the reference shows: the handle of a user's cup, the crest of a user's
// bird, that no sprite of the class has.
func refAugment(atlas *dataset.Atlas, sc dataset.Scene, cand []int, rng *rand.Rand) (dataset.Scene, dataset.Recolour) {
	m := dataset.HueRotation(30 + 300*rng.Float64())
	out := sc
	out.Objects = slices.Clone(sc.Objects)
	for i, o := range out.Objects {
		if rng.Float64() >= refSwap {
			continue
		}
		s := cand[rng.IntN(len(cand))]
		if atlas.Sprites[s].Name != atlas.Sprites[o.Sprite].Name && atlas.BackgroundAllowed(s, sc.Background.Colour) {
			out.Objects[i].Sprite = s
		}
	}
	return out, m
}

// slotClass is the class of the sprite world a frame's words name (the
// longest class name among them; "" when none does: a pseudo-word, a
// word the world does not draw).
func slotClass(atlas *dataset.Atlas, words []string, tokens uint32) string {
	var mine []string
	for j, w := range words {
		if j+1 < 32 && tokens&(1<<(j+1)) != 0 {
			mine = append(mine, w)
		}
	}
	text := " " + strings.Join(mine, " ") + " "
	best := ""
	for _, name := range atlas.Names() {
		if len(name) > len(best) && strings.Contains(text, " "+name+" ") {
			best = name
		}
	}
	return best
}

// planRefs draws the references of one picture for a prompt's words and
// its frames into dst (size×size×4): each framed thing gets a picture
// filling its frame — a concept's own (concepts, by pseudo-word), else one
// of the sprites of the class its words name (its style and mirroring
// drawn from rng); a thing that is neither gets none.
func planRefs(atlas *dataset.Atlas, rd *dataset.Renderer, concepts map[string]dataset.Layer, words []string, frames []model.Frame, size int, rng *rand.Rand, dst []float32) {
	marks := frameTokens(words)
	var sc dataset.Scene
	type placedLayer struct {
		l    dataset.Layer
		f    model.Frame
		flip bool
	}
	var own []placedLayer
	for s, f := range frames {
		if f.Extent <= 0 {
			continue
		}
		tokens := f.Tokens
		if tokens == 0 && s < model.FrameSlots {
			tokens = marks[s]
		}
		// Draw the choices whatever the slot holds, so each slot's
		// choice does not depend on the others'.
		pick, flip := rng.IntN(1<<20), rng.Float64() < 0.5
		if l, ok := slotConcept(concepts, words, tokens); ok {
			own = append(own, placedLayer{l, f, flip})
			continue
		}
		sprites := atlas.SpritesNamed(slotClass(atlas, words, tokens))
		if len(sprites) == 0 {
			continue
		}
		sc.Objects = append(sc.Objects, dataset.Placed{Sprite: sprites[pick%len(sprites)], Flip: flip, CX: f.CX, CY: f.CY, Extent: f.Extent})
	}
	clear(dst[:size*size*model.RefPixelChannels])
	if len(sc.Objects) == 0 && len(own) == 0 {
		return
	}
	layer := rd.RenderLayer(sc, size)
	for _, p := range own {
		p.l.DrawOver(layer, size, p.f.CX, p.f.CY, p.f.Extent, p.flip)
	}
	refsFromLayer(layer, dst)
}

// referencePictures are the reference pictures a refs design is given
// for opt's images (opt.frames set): N×ImageSize²×RefPixelChannels, drawn
// from the seed, so the same seed gives the same references.
func (b *Base) referencePictures(opt GenerateOptions) ([]float32, error) {
	atlas, err := sharedAtlas()
	if err != nil {
		return nil, err
	}
	rd, err := sharedRenderer()
	if err != nil {
		return nil, err
	}
	S := b.Cfg.ImageSize
	per := S * S * model.RefPixelChannels
	out := make([]float32, len(opt.frames)*per)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5EF5))
	words := dataset.Words(opt.Prompt)
	for i, f := range opt.frames {
		planRefs(atlas, rd, opt.thingRefs, words, refPlaces(words, opt.Regions, f), S, rng, out[i*per:(i+1)*per])
	}
	return out, nil
}

// refPlaces are where a picture's references are drawn: each box's thing
// when the prompt has boxes (all of them, where frames place only the
// first FrameSlots), else the frames.
func refPlaces(words []string, regions []region.Region, frames [model.FrameSlots]model.Frame) []model.Frame {
	if len(regions) > 0 {
		if things, err := regionThings(words, regions); err == nil {
			out := make([]model.Frame, len(regions))
			for ri, r := range regions {
				out[ri] = regionFrame(r, things[ri])
			}
			return out
		}
	}
	return frames[:]
}

// refImage shows one picture's references for looking at: over a grey
// checkerboard where none reaches.
func refImage(refs []float32, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			i := (y*size + x) * model.RefPixelChannels
			bg := float32(0.55)
			if (x/4+y/4)%2 == 0 {
				bg = 0.75
			}
			a := refs[i+3]
			for c := 0; c < 3; c++ {
				v := (refs[i+c]+a)/2 + bg*(1-a) // premultiplied [0, 1] colour over the board
				img.Pix[(y*size+x)*4+c] = uint8(max(0, min(255, v*255+0.5)))
			}
			img.Pix[(y*size+x)*4+3] = 255
		}
	}
	return img
}

// slotConcept is the reference picture of the concept a frame's words
// name, if any.
func slotConcept(concepts map[string]dataset.Layer, words []string, tokens uint32) (dataset.Layer, bool) {
	for j, w := range words {
		if l, ok := concepts[w]; ok && j+1 < 32 && tokens&(1<<(j+1)) != 0 {
			return l, true
		}
	}
	return dataset.Layer{}, false
}
