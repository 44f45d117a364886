package engine

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/eval"
)

// ShapeReport is whether the model draws objects a colour-blind judge
// (eval.LoadJudge) can name: one prompt per class, "a big CLASS on a
// white background" (another plain colour where white is too close to the
// sprite's), several seeds each, beside ground-truth renders of the same
// prompts (the ceiling) and two controls a real measure must fail: the
// same scenes with each sprite replaced by an ellipse of its mean colour
// (ColourOnly) and with hues of the sprites turned (HueRotated, which a
// colour-blind judge still names). Frechet is the Fréchet distance in the
// judge's feature space between the generated images and the ground
// truth (as FID is); FrechetTruth is a second ground-truth set against
// the first (what a perfect model would score, the floor), and
// FrechetColourOnly the colour-only control against the ground truth.
type ShapeReport struct {
	Classes           int             `json:"classes"`
	Seeds             int             `json:"seeds"`
	Generated         eval.ShapeScore `json:"generated"`
	Truth             eval.ShapeScore `json:"ground_truth"`
	ColourOnly        eval.ShapeScore `json:"colour_only"`
	HueRotated        eval.ShapeScore `json:"hue_rotated"`
	Frechet           float64         `json:"frechet"`
	FrechetTruth      float64         `json:"frechet_truth"`
	FrechetColourOnly float64         `json:"frechet_colour_only"`
	// FrechetInf and FrechetTruthInf are the same two distances with the
	// finite-sample bias taken out (eval.FrechetInfinity, "FID∞"): about
	// 0 for the ground truth against itself, so the generated images'
	// distance can be compared below the plain distance's floor.
	FrechetInf      float64 `json:"frechet_inf"`
	FrechetTruthInf float64 `json:"frechet_truth_inf"`
	// OfCeiling is Generated.Top1 over Truth.Top1.
	OfCeiling float64 `json:"top1_of_ceiling"`
	// ColourTop1 is the colour oracle's top-1 on the generated images,
	// for comparison: what the old measure said.
	ColourTop1 float64 `json:"colour_oracle_top1"`
}

// ShapeImages are the images a shape probe judged, per class (row) and
// seed (column).
type ShapeImages struct {
	Classes   []string
	Prompts   []string
	Generated [][]image.Image
	Truth     [][]image.Image
	// Refs are the reference pictures a refs design (model.Config.Refs)
	// was given for each generated image; nil for other designs.
	Refs [][]image.Image
}

// GridClasses are the 24 classes of the by-eye grid (eval -shape's
// default): animals, vehicles, food, things, of varied silhouettes.
var GridClasses = []string{"teddy bear", "dog", "cat", "koala", "penguin", "rocket", "guitar", "cactus",
	"car", "house", "tree", "pizza", "teapot", "couch", "bird", "flower", "boat",
	"tent", "fox", "horse", "elephant", "fish", "banana", "apple"}

// shapeColours are the background colours of the shape probe, in order of
// preference: the first one every sprite of the class allows.
var shapeColours = []string{"white", "yellow", "blue", "green", "grey", "black"}

// ShapePrompt is the shape probe's prompt for a class and the plain
// background its ground truth is drawn on.
func ShapePrompt(a *dataset.Atlas, class string) (string, dataset.Background, error) {
	sprites := a.SpritesNamed(class)
	if len(sprites) == 0 {
		return "", dataset.Background{}, fmt.Errorf("the shape probe: %q is not a class of the sprite world", class)
	}
	for _, c := range shapeColours {
		ok := true
		for _, s := range sprites {
			ok = ok && a.BackgroundAllowed(s, c)
		}
		if ok {
			bg := dataset.Background{Colour: c}
			return dataset.NounPhrase(a, sprites[0], "big") + " " + dataset.BackgroundPhrase(bg), bg, nil
		}
	}
	return "", dataset.Background{}, fmt.Errorf("the shape probe: no plain background suits every %s sprite", class)
}

// shapeTruth renders n ground-truth scenes of a class on bg, big, at the
// dataset's positions, the sprites (styles) in turn, mirrored at random.
func shapeTruth(a *dataset.Atlas, rd *dataset.Renderer, class string, bg dataset.Background, n, size int, rng *rand.Rand) ([]dataset.Scene, []image.Image) {
	sprites := a.SpritesNamed(class)
	var scenes []dataset.Scene
	var imgs []image.Image
	for k := 0; k < n; k++ {
		sp := sprites[(k+rng.IntN(2))%len(sprites)]
		pos := dataset.Positions[rng.IntN(len(dataset.Positions))]
		p, err := a.PlaceSingle(rng, sp, pos, "big", rng.Float64() < 0.5)
		if err != nil {
			panic(err) // unreachable: the dataset's own words
		}
		sc := dataset.Scene{Objects: []dataset.Placed{p}, Background: bg}
		x := make([]float32, size*size*3)
		rd.Render(sc, size, x)
		scenes = append(scenes, sc)
		imgs = append(imgs, eval.FromNHWC(x, size))
	}
	return scenes, imgs
}

// ShapeSampling is how the shape probe draws: the zero value is the
// generator's defaults (DDIM, 25 steps, guidance 4).
type ShapeSampling struct {
	Steps    int
	Guidance float64
	Sampler  diffusion.SamplerKind
	// FromTruth, when above 0, starts each image from its ground-truth
	// render noised to this share of the schedule (SDEdit) instead of
	// from noise: at 1 nothing of the truth is left, below it the shape
	// is given and the score says whether the model keeps it — where in
	// the schedule a model loses shapes.
	FromTruth float64
	// NoFrames draws a frames design (model.Config.Frames) from the
	// prompt alone.
	NoFrames bool
	// NoRefs draws a refs design (model.Config.Refs) without reference
	// pictures.
	NoRefs bool
}

// OrDefaults is s with its zero steps and guidance filled in.
func (s ShapeSampling) OrDefaults() ShapeSampling {
	s.Steps, s.Guidance = cmp.Or(s.Steps, 25), cmp.Or(s.Guidance, evalGuidance)
	return s
}

// EvalShape runs the shape probe on classes (nil: every class of the
// sprite world) with seeds images per class (class k's images from seed
// k), drawn as samp says. It returns the images too, for a grid.
func (b *Base) EvalShape(ctx context.Context, classes []string, seeds int, samp ShapeSampling, progress func(done, total int)) (ShapeReport, *ShapeImages, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return ShapeReport{}, nil, err
	}
	judge, err := eval.LoadJudge()
	if err != nil {
		return ShapeReport{}, nil, err
	}
	defer judge.Close()
	oracle, err := eval.LoadOracle()
	if err != nil {
		return ShapeReport{}, nil, err
	}
	defer oracle.Close()
	if classes == nil {
		classes = atlas.Names()
	}
	if seeds < 1 {
		seeds = 1
	}
	samp = samp.OrDefaults()
	rd := dataset.NewRenderer(atlas)
	S := b.PictureSize()
	rng := rand.New(rand.NewPCG(2026, 12))
	rep := ShapeReport{Classes: len(classes), Seeds: seeds}
	si := &ShapeImages{Classes: slices.Clone(classes)}
	var gens, truth, truth2, colour, hue []image.Image
	var labels []string
	for k, class := range classes {
		if progress != nil {
			progress(k, len(classes))
		}
		prompt, bg, err := ShapePrompt(atlas, class)
		if err != nil {
			return rep, nil, err
		}
		scenes, tr := shapeTruth(atlas, rd, class, bg, seeds, S, rng)
		scenes2, tr2 := shapeTruth(atlas, rd, class, bg, seeds, S, rng)
		gopt := GenerateOptions{Prompt: prompt, N: seeds, Seed: uint64(k), Steps: samp.Steps, Guidance: samp.Guidance, Sampler: samp.Sampler}
		gopt.noFrames, gopt.noRefs = samp.NoFrames, samp.NoRefs
		if b.Cfg.Frames && !samp.NoFrames {
			// Where to draw: the second ground-truth set's places, drawn
			// from the prompt's layout as the first set's are.
			for _, sc := range scenes2 {
				gopt.frames = append(gopt.frames, sceneFrames(sc))
			}
		}
		if samp.FromTruth > 0 {
			for _, sc := range scenes {
				x := make([]float32, S*S*3)
				rd.Render(sc, S, x)
				gopt.start = append(gopt.start, x...)
			}
			gopt.startStrength = samp.FromTruth
		}
		imgs, err := b.Generate(ctx, gopt, nil)
		if err != nil {
			return rep, nil, fmt.Errorf("prompt %q: %w", prompt, err)
		}
		if b.Cfg.Refs && !samp.NoRefs && gopt.frames != nil {
			refs, err := b.referencePictures(gopt)
			if err != nil {
				return rep, nil, err
			}
			var row []image.Image
			per := S * S * 4
			for i := range imgs {
				row = append(row, refImage(refs[i*per:(i+1)*per], S))
			}
			si.Refs = append(si.Refs, row)
		}
		row := make([]image.Image, len(imgs))
		for i, img := range imgs {
			row[i] = img
		}
		for i, sc := range scenes {
			colour = append(colour, eval.FromNHWC(eval.ColourOnly(rd, sc, S), S))
			hue = append(hue, eval.FromNHWC(eval.HueRotatedSprites(rd, sc, S, float64(1+i%3)*1.5707963267948966), S))
			labels = append(labels, class)
		}
		si.Prompts = append(si.Prompts, prompt)
		si.Generated = append(si.Generated, row)
		si.Truth = append(si.Truth, tr)
		gens = append(gens, row...)
		truth = append(truth, tr...)
		truth2 = append(truth2, tr2...)
	}
	if progress != nil {
		progress(len(classes), len(classes))
	}
	for _, s := range []struct {
		dst  *eval.ShapeScore
		imgs []image.Image
	}{{&rep.Generated, gens}, {&rep.Truth, truth}, {&rep.ColourOnly, colour}, {&rep.HueRotated, hue}} {
		if *s.dst, err = eval.ScoreShapes(judge, s.imgs, labels); err != nil {
			return rep, nil, err
		}
	}
	if rep.Truth.Top1 > 0 {
		rep.OfCeiling = rep.Generated.Top1 / rep.Truth.Top1
	}
	colourScore, err := eval.ScoreShapes(oracle, gens, labels)
	if err != nil {
		return rep, nil, err
	}
	rep.ColourTop1 = colourScore.Top1
	feats := map[string][][]float32{}
	for name, imgs := range map[string][]image.Image{"gen": gens, "truth": truth, "truth2": truth2, "colour": colour} {
		if feats[name], err = judge.Features(imgs); err != nil {
			return rep, nil, err
		}
	}
	if len(gens) >= 2 {
		if rep.Frechet, err = eval.FrechetDistance(feats["gen"], feats["truth"]); err != nil {
			return rep, nil, err
		}
		if rep.FrechetTruth, err = eval.FrechetDistance(feats["truth2"], feats["truth"]); err != nil {
			return rep, nil, err
		}
		if rep.FrechetColourOnly, err = eval.FrechetDistance(feats["colour"], feats["truth"]); err != nil {
			return rep, nil, err
		}
	}
	if len(gens) >= 8 {
		if rep.FrechetInf, err = eval.FrechetInfinity(feats["gen"], feats["truth"], 1); err != nil {
			return rep, nil, err
		}
		if rep.FrechetTruthInf, err = eval.FrechetInfinity(feats["truth2"], feats["truth"], 1); err != nil {
			return rep, nil, err
		}
	}
	return rep, si, nil
}

// ShapeGrid draws a shape probe's images as a sheet: one row per class,
// its name on the left, the generated images, a gap, then the ground
// truth, every image scaled up scale times (nearest neighbour) on a grey
// page.
func ShapeGrid(si *ShapeImages, truthCols, scale int) *image.NRGBA {
	if len(si.Generated) == 0 {
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	S := si.Generated[0][0].Bounds().Dx()
	cell := S*scale + 4
	label := 110
	gens := len(si.Generated[0])
	truthCols = min(truthCols, len(si.Truth[0]))
	refCols := 0
	if len(si.Refs) == len(si.Generated) {
		refCols = len(si.Refs[0])
	}
	label += refCols * cell
	if refCols > 0 {
		label += 12
	}
	w := label + cell*gens + 12 + cell*truthCols
	h := cell*len(si.Generated) + 20
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.NRGBA{200, 200, 200, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: out, Src: image.NewUniform(color.NRGBA{20, 20, 20, 255}), Face: basicfont.Face7x13}
	text := func(x, y int, s string) {
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
	}
	text(label, 14, "generated")
	if refCols > 0 {
		text(label-12-refCols*cell, 14, "references")
	}
	text(label+cell*gens+12, 14, "ground truth")
	put := func(img image.Image, x0, y0 int) {
		b := img.Bounds()
		for y := 0; y < S*scale; y++ {
			for x := 0; x < S*scale; x++ {
				out.Set(x0+x, y0+y, img.At(b.Min.X+x/scale, b.Min.Y+y/scale))
			}
		}
	}
	for r, class := range si.Classes {
		y0 := 20 + r*cell + 2
		text(4, y0+cell/2+4, class)
		for c, img := range si.Generated[r] {
			put(img, label+c*cell+2, y0)
		}
		for c := 0; c < refCols; c++ {
			put(si.Refs[r][c], label-12-refCols*cell+c*cell+2, y0)
		}
		for c := 0; c < truthCols; c++ {
			put(si.Truth[r][c], label+cell*gens+12+c*cell+2, y0)
		}
	}
	return out
}
