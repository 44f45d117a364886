package engine

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
	"conceptstudio/engine/region"
)

// RegionReport is the region evaluation of the base model (eval -regions):
// scenes of 2, 3 and 4 plain things in boxes, generated with and without
// the boxes steering them (the same prompts and seeds), scored by the
// colour-blind judge (eval.ScoreRegions), beside the ground truth's score
// and the controls that must fail.
type RegionReport struct {
	Seeds int `json:"seeds"`
	// ByThings are the rates by number of things (2, 3, 4).
	ByThings []RegionRow `json:"by_things"`
	// Truth, WrongBoxes and ColourOnly validate the scorer on renders no
	// model made (eval.ValidateRegions), all scenes together.
	Truth      eval.RegionRates `json:"ground_truth"`
	WrongBoxes eval.RegionRates `json:"wrong_boxes"`
	ColourOnly eval.RegionRates `json:"colour_only"`
}

// RegionRow is one number of things' rates.
type RegionRow struct {
	Things    int              `json:"things"`
	Regions   eval.RegionRates `json:"with_regions"`
	NoRegions eval.RegionRates `json:"without_regions"`
}

// RegionImages are the evaluation's pictures for a grid: per scene its
// prompt, boxes and the images with and without regions.
type RegionImages struct {
	Prompts   []string
	Boxes     [][]region.Region
	With      [][]image.Image
	Without   [][]image.Image
	TruthImgs []image.Image
}

// EvalRegions generates each region scene's prompt (region.ScenePrompt:
// the grammar's words where it has them) seeds times with its boxes and
// without, at the given layout strength, and scores both.
func (b *Base) EvalRegions(ctx context.Context, perLayout, seeds int, layout float64, progress func(done, total int)) (RegionReport, *RegionImages, error) {
	rep := RegionReport{Seeds: seeds}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return rep, nil, err
	}
	judge, err := eval.LoadJudge()
	if err != nil {
		return rep, nil, err
	}
	defer judge.Close()
	scenes := eval.RegionScenes(atlas, 0, perLayout, 7)
	S := b.PictureSize()
	v, err := eval.ValidateRegions(judge, atlas, scenes, S)
	if err != nil {
		return rep, nil, err
	}
	rep.Truth, rep.WrongBoxes, rep.ColourOnly = v.Truth, v.WrongBoxes, v.ColourOnly
	rows := map[int]*RegionRow{}
	ri := &RegionImages{}
	rd := dataset.NewRenderer(atlas)
	for k, sc := range scenes {
		if progress != nil {
			progress(k, len(scenes))
		}
		things := make([]region.Thing, len(sc.Classes))
		judged := make([]eval.RegionThing, len(sc.Classes))
		for i, c := range sc.Classes {
			things[i] = region.Thing{Words: c, Box: sc.Boxes[i]}
			judged[i] = eval.RegionThing{Class: c}
		}
		prompt, _ := region.ScenePrompt(things, sc.Background)
		row := rows[len(sc.Classes)]
		if row == nil {
			row = &RegionRow{Things: len(sc.Classes)}
			rows[len(sc.Classes)] = row
		}
		opt := GenerateOptions{Prompt: prompt, N: seeds, Seed: uint64(k), Steps: 25, Guidance: evalGuidance, Layout: layout}
		without, err := b.Generate(ctx, opt, nil)
		if err != nil {
			return rep, nil, fmt.Errorf("prompt %q: %w", prompt, err)
		}
		opt.Regions = sc.Boxes
		with, err := b.Generate(ctx, opt, nil)
		if err != nil {
			return rep, nil, fmt.Errorf("prompt %q with regions: %w", prompt, err)
		}
		var wr, wo []image.Image
		for i := range with {
			s, err := eval.ScoreRegions(with[i], sc.Boxes, judged, judge)
			if err != nil {
				return rep, nil, err
			}
			row.Regions.Add(s)
			if s, err = eval.ScoreRegions(without[i], sc.Boxes, judged, judge); err != nil {
				return rep, nil, err
			}
			row.NoRegions.Add(s)
			wr, wo = append(wr, with[i]), append(wo, without[i])
		}
		ri.Prompts = append(ri.Prompts, prompt)
		ri.Boxes = append(ri.Boxes, sc.Boxes)
		ri.With, ri.Without = append(ri.With, wr), append(ri.Without, wo)
		ri.TruthImgs = append(ri.TruthImgs, rd.RenderImage(sc.Truth, S))
	}
	for _, n := range []int{2, 3, 4} {
		if r := rows[n]; r != nil {
			rep.ByThings = append(rep.ByThings, *r)
		}
	}
	if progress != nil {
		progress(len(scenes), len(scenes))
	}
	return rep, ri, nil
}

// RegionGrid draws the evaluation's pictures: per scene a row of the
// ground truth, the images with regions (their boxes outlined) and the
// images without, each scaled by scale.
func RegionGrid(ri *RegionImages, scale int) *image.NRGBA {
	if len(ri.With) == 0 {
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	S := ri.TruthImgs[0].Bounds().Dx() * scale
	seeds := len(ri.With[0])
	gap := 4
	cols := 1 + 2*seeds
	W := cols*(S+gap) + 2*gap
	H := len(ri.With) * (S + gap)
	out := image.NewNRGBA(image.Rect(0, 0, W, H))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	colours := []color.NRGBA{{230, 30, 30, 255}, {30, 90, 230, 255}, {20, 170, 60, 255}, {200, 120, 0, 255}}
	for r := range ri.With {
		y := r * (S + gap)
		x := 0
		put := func(img image.Image, boxes []region.Region) {
			blit(out, img, x, y, scale)
			for i, b := range boxes {
				outline(out, x+int(b.X*float64(S)), y+int(b.Y*float64(S)), int(b.W*float64(S)), int(b.H*float64(S)), colours[i%len(colours)])
			}
			x += S + gap
		}
		put(ri.TruthImgs[r], nil)
		x += gap
		for _, img := range ri.With[r] {
			put(img, ri.Boxes[r])
		}
		x += gap
		for _, img := range ri.Without[r] {
			put(img, nil)
		}
	}
	return out
}

func blit(dst *image.NRGBA, src image.Image, x0, y0, scale int) {
	b := src.Bounds()
	for y := 0; y < b.Dy()*scale; y++ {
		for x := 0; x < b.Dx()*scale; x++ {
			dst.Set(x0+x, y0+y, src.At(b.Min.X+x/scale, b.Min.Y+y/scale))
		}
	}
}

func outline(dst *image.NRGBA, x, y, w, h int, c color.NRGBA) {
	for i := 0; i < w; i++ {
		dst.SetNRGBA(x+i, y, c)
		dst.SetNRGBA(x+i, y+h-1, c)
	}
	for j := 0; j < h; j++ {
		dst.SetNRGBA(x, y+j, c)
		dst.SetNRGBA(x+w-1, y+j, c)
	}
}

// String is the report as a short table.
func (r RegionReport) String() string {
	var sb strings.Builder
	f := func(name string, v eval.RegionRates) {
		fmt.Fprintf(&sb, "  %-28s found %.2f  in box %.2f (%.2f of found)  all in box %.2f  own box best %.2f  (%d images)\n", name, v.Found, v.InBox, v.InBoxOfFound, v.All, v.OwnBest, v.Images)
	}
	for _, row := range r.ByThings {
		f(fmt.Sprintf("%d things, with regions", row.Things), row.Regions)
		f(fmt.Sprintf("%d things, without", row.Things), row.NoRegions)
	}
	f("ground truth (ceiling)", r.Truth)
	f("wrong boxes (must fail)", r.WrongBoxes)
	f("colour-only (must fail)", r.ColourOnly)
	return sb.String()
}

// evalPairScenes puts two concepts in boxes — alone (every two-thing
// layout), and with one and two plain things of the world for three and
// four (eval.RegionScenes' classes, the concepts taking the first two
// boxes) — and scores each picture with and without the boxes steering
// (eval.ScoreRegions: the judge's class for presence, the concepts'
// reference features for which is which and for bleeding). bg is the
// background colour of every scene.
func (b *Base) evalPairScenes(ctx context.Context, t *evalTools, ca, cb *Concept, shapeA, shapeB [][]float32, bg string, uses []ConceptUse, opt EvalOptions) ([]RegionRow, error) {
	judgeClass := func(class string) string {
		if len(t.atlas.SpritesNamed(class)) > 0 {
			return class
		}
		return "" // the judge knows only the world's classes
	}
	var rows []RegionRow
	n := opt.pairSeeds()
	layout := cmp.Or(opt.Layout, DefaultLayout)
	for _, k := range []int{2, 3, 4} {
		row := RegionRow{Things: k}
		for si, sc := range eval.RegionScenes(t.atlas, k, 1, uint64(k)) {
			things := make([]region.Thing, k)
			judged := make([]eval.RegionThing, k)
			boxes := slices.Clone(sc.Boxes)
			for i := range k {
				switch i {
				case 0:
					things[i], judged[i] = region.Thing{Words: ca.Name + "*"}, eval.RegionThing{Class: judgeClass(ca.Class), Refs: shapeA}
					boxes[i].Name = ca.Name
				case 1:
					things[i], judged[i] = region.Thing{Words: cb.Name + "*"}, eval.RegionThing{Class: judgeClass(cb.Class), Refs: shapeB}
					boxes[i].Name = cb.Name
				default:
					things[i], judged[i] = region.Thing{Words: sc.Classes[i]}, eval.RegionThing{Class: sc.Classes[i]}
				}
				things[i].Box = boxes[i]
			}
			prompt, _ := region.ScenePrompt(things, bg)
			gen := GenerateOptions{Prompt: prompt, N: n, Seed: uint64(100*k + si), Steps: opt.sampleSteps(), Guidance: evalGuidance, ExactPerfusion: opt.ExactPerfusion, Layout: layout}
			without, err := b.GenerateWith(ctx, gen, uses, nil)
			if err != nil {
				return nil, fmt.Errorf("scene %q: %w", prompt, err)
			}
			gen.Regions = boxes
			with, err := b.GenerateWith(ctx, gen, uses, nil)
			if err != nil {
				return nil, fmt.Errorf("scene %q with regions: %w", prompt, err)
			}
			for i := range with {
				s, err := eval.ScoreRegions(with[i], boxes, judged, t.judge)
				if err != nil {
					return nil, err
				}
				row.Regions.Add(s)
				if s, err = eval.ScoreRegions(without[i], boxes, judged, t.judge); err != nil {
					return nil, err
				}
				row.NoRegions.Add(s)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
