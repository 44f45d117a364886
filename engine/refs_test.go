package engine

import (
	"bytes"
	"context"
	"image/png"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// atlasAndRenderer are the shared atlas and its renderer, for tests.
func atlasAndRenderer(t *testing.T) (*dataset.Atlas, *dataset.Renderer) {
	t.Helper()
	atlas, err := sharedAtlas()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := sharedRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return atlas, rd
}

// TestReferencePictures: drawing, each framed thing whose words name a
// class gets one of that class's sprites (a style, mirrored or not)
// filling its frame and nothing outside the frames; a pseudo-word or a
// prompt without things gets none; the longest class name wins ("teddy
// bear", not a shorter name inside it). Training moves and scales each
// thing's own sprite by up to refJitter, and does move it.
func TestReferencePictures(t *testing.T) {
	atlas, rd := atlasAndRenderer(t)
	const size = 32
	per := size * size * model.RefPixelChannels
	words := dataset.Words("a big teddy bear on the left of a small cat on a white background")
	marks := frameTokens(words)
	if got := slotClass(atlas, words, marks[0]); got != "teddy bear" {
		t.Errorf("the first thing's class is %q, want teddy bear", got)
	}
	if got := slotClass(atlas, words, marks[1]); got != "cat" {
		t.Errorf("the second thing's class is %q, want cat", got)
	}
	frng := rand.New(rand.NewPCG(1, 2))
	frames := planFrames(words, nil, frng)
	refs := make([]float32, per)
	planRefs(atlas, rd, nil, words, frames[:], size, rand.New(rand.NewPCG(3, 4)), refs)
	for s, class := range []string{"teddy bear", "cat"} {
		f := frames[s]
		// Exactly one of the class's sprites, in one of two mirrorings,
		// drawn alone where the frame is, is what the slot shows.
		matches := 0
		for _, sp := range atlas.SpritesNamed(class) {
			for _, flip := range []bool{false, true} {
				one := make([]float32, per)
				refsFromLayer(rd.RenderLayer(dataset.Scene{Objects: []dataset.Placed{{Sprite: sp, Flip: flip, CX: f.CX, CY: f.CY, Extent: f.Extent}}}, size), one)
				same, any := true, false
				for i := 0; i < size*size; i++ {
					if one[4*i+3] > 0.99 {
						any = true
						for c := 0; c < 4; c++ {
							same = same && math.Abs(float64(one[4*i+c]-refs[4*i+c])) < 1e-5
						}
					}
				}
				if any && same {
					matches++
				}
			}
		}
		if matches != 1 {
			t.Errorf("slot %d (%s): %d of its sprites and mirrorings match the reference, want 1", s, class, matches)
		}
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			inside := false
			for _, f := range frames {
				u, v := (float64(x)+0.5)/size-f.CX, (float64(y)+0.5)/size-f.CY
				inside = inside || (f.Extent > 0 && math.Abs(u) < f.Extent/2+1.0/size && math.Abs(v) < f.Extent/2+1.0/size)
			}
			if a := refs[(y*size+x)*4+3]; !inside && a != 0 {
				t.Fatalf("a reference reaches (%d, %d), outside every frame (alpha %.3f)", x, y, a)
			}
		}
	}
	for _, prompt := range []string{"a big teddy* on a white background", "a white background"} {
		w := dataset.Words(prompt)
		got := slices.Repeat([]float32{7}, per)
		pf := planFrames(w, nil, frng)
		planRefs(atlas, rd, nil, w, pf[:], size, frng, got)
		if slices.ContainsFunc(got, func(v float32) bool { return v != 0 }) {
			t.Errorf("%q got a reference picture", prompt)
		}
	}

	// Training: the thing's own sprite, moved by at most refJitter.
	sp, _ := atlas.Sprite("cat", dataset.StyleNoto)
	sc := dataset.Scene{Objects: []dataset.Placed{{Sprite: sp, CX: 0.5, CY: 0.5, Extent: 0.6}}}
	centre := func(r []float32) (cx, cy, mass float64) {
		for i := 0; i < size*size; i++ {
			a := float64(r[4*i+3])
			cx += a * (float64(i%size) + 0.5) / size
			cy += a * (float64(i/size) + 0.5) / size
			mass += a
		}
		return cx / mass, cy / mass, mass
	}
	rng := rand.New(rand.NewPCG(5, 6))
	exact := make([]float32, per)
	refsFromLayer(rd.RenderLayer(sc, size), exact)
	x0, y0, m0 := centre(exact)
	movedAny := false
	for k := 0; k < 20; k++ {
		tr := make([]float32, per)
		trainingRefs(rd, sc, size, rng, nil, tr)
		x, y, m := centre(tr)
		if d := math.Hypot(x-x0, y-y0); d > 1.5*refJitter*0.6+0.01 {
			t.Errorf("a training reference moved %.3f, more than its jitter allows", d)
		}
		if r := m / m0; r < 0.8 || r > 1.25 {
			t.Errorf("a training reference's area is %.2f× the thing's", r)
		}
		movedAny = movedAny || !slices.Equal(tr, exact)
	}
	if !movedAny {
		t.Error("training references are never moved or scaled")
	}
}

// TestRefsDesign: a model grown into reference pictures draws what it drew
// (their convolution starts at zero), and once that convolution moves the
// pictures change, so the sampler does hand it the named class's sprite;
// the same seed draws the same picture, and drawing without references
// draws another. Pretraining the design trains the convolution off zero.
func TestRefsDesign(t *testing.T) {
	a := tinyBase(t)
	rng := rand.New(rand.NewPCG(8, 13))
	perturb(a, rng)
	cfg := a.Cfg
	cfg.Frames, cfg.Refs = true, true
	g, fresh, added := growInto(t, a, cfg)
	if len(fresh)+len(added) != 0 {
		t.Errorf("fresh %v, added %v: frames and references are gained silently", fresh, added)
	}
	drawsTheSame(t, a, g, model.RefsScope+".w", rng)
	opt := GenerateOptions{Prompt: "a big cat", N: 2, Seed: 4, Steps: 3, Guidance: 3}
	draw := func(o GenerateOptions) [][]uint8 {
		imgs, err := g.Generate(context.Background(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]uint8
		for _, im := range imgs {
			out = append(out, im.Pix)
		}
		return out
	}
	one, two := draw(opt), draw(opt)
	if !slices.EqualFunc(one, two, slices.Equal[[]uint8]) {
		t.Error("the same seed drew different pictures")
	}
	opt.noRefs = true
	if slices.EqualFunc(one, draw(opt), slices.Equal[[]uint8]) {
		t.Error("drawing without references drew the same pictures")
	}
	if testing.Short() {
		return
	}
	run := tinyPretrain(t.TempDir())
	c := *run.Config
	c.Frames, c.Refs = true, true
	run.Config, run.StopAfter, run.ShapeSeeds, run.LR, run.RefAugment = &c, 6, -1, 1e-2, 0.5
	if err := Pretrain(context.Background(), run, nil); err != nil {
		t.Fatalf("pretraining with reference pictures: %v", err)
	}
	w := weightsOf(t, filepath.Join(run.Dir, emaModelFile))
	if !slices.ContainsFunc(w[model.RefsScope+".w"], func(v float32) bool { return v != 0 }) {
		t.Error("the reference convolution is still zero after training: no batch had a reference")
	}
}

// TestConceptsOnARefsBase: on a base that takes reference pictures a
// concept trains with its own cut-outs as references (in most of its
// framed samples, inside the frames), and draws with its thumbnail as
// its reference: without the thumbnail the same seed draws another
// picture, with it the same picture twice.
func TestConceptsOnARefsBase(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	b := tinyRefsBase(t, rng, 0.5)
	cs := rexConcept(t)
	data := cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions())
	S := b.PictureSize()
	withRefs := 0
	for k := 0; k < 40; k++ {
		x := make([]float32, S*S*3)
		refs := slices.Repeat([]float32{9}, S*S*model.RefPixelChannels)
		_, f := b.sampleFramed(data, rng, x, refs)
		if !slices.ContainsFunc(refs, func(v float32) bool { return v != 0 }) {
			continue
		}
		withRefs++
		if f[0].Extent <= 0 {
			t.Fatal("a sample without frames got references")
		}
	}
	if withRefs < 22 || withRefs == 40 {
		t.Errorf("%d of 40 concept samples had references, want about 75%%", withRefs)
	}
	ctx := context.Background()
	con, err := b.TrainConcept(ctx, TrainOptions{Method: TI, Name: "rex", Class: "dog", Steps: 2, Batch: 2, Seed: 1, Data: data, Images: 2}, nil)
	if err != nil {
		t.Fatalf("a concept on a refs base: %v", err)
	}
	var thumb bytes.Buffer
	if err := png.Encode(&thumb, cs.Cutouts[0]); err != nil {
		t.Fatal(err)
	}
	gen := func() []byte {
		imgs, err := b.GenerateWith(ctx, GenerateOptions{Prompt: "a rex* next to a small car", N: 1, Seed: 1, Steps: 2, Guidance: 2}, []ConceptUse{{Concept: con}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	without := gen()
	con.Thumbnail = thumb.Bytes()
	with := gen()
	if !slices.Equal(with, gen()) {
		t.Error("the same seed drew different images")
	}
	if slices.Equal(with, without) {
		t.Error("the concept's thumbnail changed nothing: it is not its reference")
	}
}

// TestEveryBoxGetsItsReference: with boxes, each box's thing is drawn
// into the references — all of them, though frames place only the first
// FrameSlots — inside its box's square, and nothing far from the boxes.
func TestEveryBoxGetsItsReference(t *testing.T) {
	b := tinyBase(t)
	const prompt = "a cat and a car and a tree on a white background"
	regions := []region.Region{{Name: "cat", X: 0, Y: 0, W: 0.3, H: 0.3}, {Name: "car", X: 0.7, Y: 0, W: 0.3, H: 0.3}, {Name: "tree", X: 0.35, Y: 0.65, W: 0.3, H: 0.3}}
	words := dataset.Words(prompt)
	if n := len(refPlaces(words, regions, [model.FrameSlots]model.Frame{})); n != 3 {
		t.Fatalf("%d places for three boxes", n)
	}
	opt := GenerateOptions{Prompt: prompt, Seed: 2, Regions: regions}
	opt.frames = append(opt.frames, planFrames(words, regions, rand.New(rand.NewPCG(1, 1))))
	refs, err := b.referencePictures(opt)
	if err != nil {
		t.Fatal(err)
	}
	S := b.Cfg.ImageSize
	mass := make([]float64, len(regions)+1) // per box, and outside them all
	for y := 0; y < S; y++ {
		for x := 0; x < S; x++ {
			a := float64(refs[(y*S+x)*4+3])
			u, v := (float64(x)+0.5)/float64(S), (float64(y)+0.5)/float64(S)
			k := len(regions)
			for ri, r := range regions {
				if u >= r.X-0.02 && u <= r.X+r.W+0.02 && v >= r.Y-0.02 && v <= r.Y+r.H+0.02 {
					k = ri
				}
			}
			mass[k] += a
		}
	}
	for ri, r := range regions {
		if mass[ri] < 1 {
			t.Errorf("the %s box got no reference (alpha %.2f)", r.Name, mass[ri])
		}
	}
	if mass[len(regions)] > 0.5 {
		t.Errorf("references reach %.2f of alpha outside every box", mass[len(regions)])
	}
}

// tinyRefsBase is a tiny refs design (frames and references), perturbed
// off its grown start, with its reference path's weights drawn at the
// given scale (0: left at zero, so references change nothing).
func tinyRefsBase(t *testing.T, rng *rand.Rand, refScale float64) *Base {
	t.Helper()
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
	c := model.Tiny()
	c.ImageSize, c.Unshuffle, c.Channels, c.Frames, c.Refs = 16, true, []int{8, 16}, true, true
	c.Vocab, c.MaxLen = len(tok.Vocab()), dataset.MaxCaptionTokens
	b, err := NewBase(c, tok, diffusion.VPrediction, 3)
	if err != nil {
		t.Fatal(err)
	}
	perturb(b, rng)
	w, _ := b.W.Lookup(model.RefsScope + ".w")
	for i, d := 0, w.Data().([]float32); i < len(d); i++ {
		d[i] = float32(refScale * rng.NormFloat64())
	}
	b.id = ""
	return b
}

// TestEncoderSeesReferences: on a refs base the encoder's pretraining
// gives the frozen base each picture's frames and references, as concept
// training does: the same run on the same base with its reference path
// at zero trains another encoder (were the references never given, the
// path would add nothing and the two would be equal).
func TestEncoderSeesReferences(t *testing.T) {
	// Both with the picture alone and with E4T's other halves (the UNet's
	// reading of the picture, which gets its frame and reference too, and
	// the value head).
	for _, halves := range []bool{false, true} {
		train := func(refScale float64) *Encoder {
			b := tinyRefsBase(t, rand.New(rand.NewPCG(5, 7)), refScale)
			dir := t.TempDir()
			opt := EncoderTrainOptions{Dir: dir, Config: TinyEncoderConfig(b.Cfg.TextDim), Steps: 3, Batch: 4, LR: 3e-3, ValueHead: halves, UNetInput: halves}
			if err := b.TrainEncoder(context.Background(), opt, nil); err != nil {
				t.Fatal(err)
			}
			e, err := LoadEncoder(filepath.Join(dir, EncoderFile))
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		with, without := train(0.5), train(0)
		if encoderDiff(with, without) == "" {
			t.Errorf("halves %v: the encoder trained the same with and without a reference path: the frozen base got no references", halves)
		}
		if halves && (with.Record.Config.UNet == 0 || with.Record.Config.Values == 0) {
			t.Errorf("config %+v", with.Record.Config)
		}
	}
}

// TestRefAugment: an augmented training picture keeps its scene's places
// and caption (the scene handed in is not changed), swaps about refSwap
// of its things for sprites of other classes that may stand on its
// background, turns hues at random, and its references show the things
// as the picture draws them: their mean colour is the picture's things'.
func TestRefAugment(t *testing.T) {
	atlas, rd := atlasAndRenderer(t)
	cand := make([]int, len(atlas.Sprites))
	for i := range cand {
		cand[i] = i
	}
	rng := rand.New(rand.NewPCG(21, 4))
	const size = 32
	things, swapped := 0, 0
	hues := map[[3]int]bool{}
	var same, other float64
	compared := 0
	for k := 0; k < 300; k++ {
		sc := atlas.RandomScene(rng, dataset.DefaultSceneOptions())
		was := slices.Clone(sc.Objects)
		out, m := refAugment(atlas, sc, cand, rng)
		if !slices.Equal(sc.Objects, was) {
			t.Fatal("refAugment changed the scene it was given")
		}
		if out.Background != sc.Background || len(out.Objects) != len(sc.Objects) {
			t.Fatal("refAugment changed the background or the number of things")
		}
		for i, o := range out.Objects {
			things++
			p := sc.Objects[i]
			if o.CX != p.CX || o.CY != p.CY || o.Extent != p.Extent || o.Flip != p.Flip {
				t.Fatal("refAugment moved a thing")
			}
			if o.Sprite != p.Sprite {
				swapped++
				if atlas.Sprites[o.Sprite].Name == atlas.Sprites[p.Sprite].Name {
					t.Error("a thing was swapped for a sprite of its own class")
				}
				if !atlas.BackgroundAllowed(o.Sprite, sc.Background.Colour) {
					t.Errorf("a %s was put on a %s background it may not stand on", atlas.Sprites[o.Sprite].Name, sc.Background.Colour)
				}
			}
		}
		red := []float32{0.8, 0.1, 0.1, 1}
		m.Apply(red)
		hues[[3]int{int(red[0] * 4), int(red[1] * 4), int(red[2] * 4)}] = true
		if len(out.Objects) != 1 || k%10 != 0 {
			continue
		}
		// The reference's colour is the picture's things': inside the
		// thing (opaque), the picture's mean colour against the
		// reference's, and against a reference left in its own colours.
		pic := make([]float32, size*size*3)
		rd.RenderRecoloured(out, size, m, pic)
		layer := rd.RenderLayer(out, size)
		// opaqueMean is the mean of colour (ch values a pixel) where the
		// alpha of alpha (4 values a pixel, alpha last) is opaque.
		opaqueMean := func(colour []float32, ch int, alpha []float32) (v [3]float64, n float64) {
			for i := 0; i < size*size; i++ {
				if alpha[4*i+3] > 0.99 {
					for c := 0; c < 3; c++ {
						v[c] += float64(colour[ch*i+c])
					}
					n++
				}
			}
			for c := range v {
				v[c] /= max(n, 1)
			}
			return v, n
		}
		pv, n := opaqueMean(pic, 3, layer)
		if n < 8 {
			continue
		}
		ref, plain := make([]float32, size*size*model.RefPixelChannels), make([]float32, size*size*model.RefPixelChannels)
		trainingRefs(rd, out, size, rng, &m, ref)
		trainingRefs(rd, out, size, rng, nil, plain)
		rv, _ := opaqueMean(ref, 4, ref)
		lv, _ := opaqueMean(plain, 4, plain)
		for c := 0; c < 3; c++ {
			same += math.Abs(rv[c] - pv[c])
			other += math.Abs(lv[c] - pv[c])
		}
		compared++
	}
	t.Logf("%d pictures: references off the things by %.3f, left in their own colours %.3f", compared, same/float64(3*compared), other/float64(3*compared))
	if compared < 5 || same/float64(3*compared) > 0.08 || other < 3*same {
		t.Errorf("over %d pictures the references' colours differ from the things' by %.3f (left in their own colours: %.3f)", compared, same/float64(3*compared), other/float64(3*compared))
	}
	if f := float64(swapped) / float64(things); f < refSwap-0.1 || f > refSwap+0.05 {
		t.Errorf("%.2f of things swapped, want about %.2f", f, refSwap)
	}
	if len(hues) < 8 {
		t.Errorf("red turned into only %d colours: the hue is not drawn at random", len(hues))
	}
}
