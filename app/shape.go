package app

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/eval"
	"conceptstudio/engine/safefile"
)

// evalShape runs the shape probe (eval -shape) and writes its grid.
func (a *App) evalShape(ctx context.Context, req EvalRequest, progress ProgressFunc) error {
	if req.Out != "" && !strings.EqualFold(filepath.Ext(req.Out), ".png") {
		return usageError("-out %s: the grid is a .png file", req.Out)
	}
	if req.Seeds < 0 {
		return usageError("-seeds must not be negative")
	}
	classes := req.Classes
	if len(classes) == 0 {
		classes = engine.GridClasses
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	if len(classes) == 1 && classes[0] == "all" {
		classes = atlas.Names()
	}
	for _, c := range classes {
		if len(atlas.SpritesNamed(c)) == 0 {
			return usageError("-classes: %q is not a class the model knows", excerpt(c))
		}
	}
	seeds := req.Seeds
	if seeds == 0 {
		seeds = 4
	}
	samp := engine.ShapeSampling{Steps: req.SampleSteps, Guidance: req.Guidance, FromTruth: req.FromTruth, NoRefs: req.NoRefs}
	if req.FromTruth < 0 || req.FromTruth > 1 {
		return usageError("-from-truth is a share of the schedule, from 0 to 1")
	}
	switch req.Sampler {
	case "", "ddim":
	case "euler_a":
		samp.Sampler = diffusion.EulerAncestral
	default:
		return usageError("-sampler %q: the samplers are ddim and euler_a", excerpt(req.Sampler))
	}
	if req.Guidance < 0 || req.SampleSteps < 0 {
		return usageError("-guidance and -sample-steps must not be negative")
	}
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, imgs, err := base.EvalShape(ctx, classes, seeds, samp, func(done, total int) {
		progress.report(Progress{Stage: "shape probe", Step: done, Total: total, Elapsed: time.Since(start)})
	})
	if err != nil {
		return err
	}
	if req.Out != "" {
		if err := writePNG(req.Out, engine.ShapeGrid(imgs, 2, 4)); err != nil {
			return err
		}
	}
	if req.JSON {
		return a.writeJSON(rep)
	}
	drawn := samp.OrDefaults()
	fmt.Fprintf(a.Out, "shape probe: %d classes × %d seeds (%s, %d steps, guidance %g), judged colour-blind\n", rep.Classes, rep.Seeds, drawn.Sampler, drawn.Steps, drawn.Guidance)
	if req.FromTruth > 0 {
		fmt.Fprintf(a.Out, "  each image started from its ground truth noised to %g of the schedule\n", req.FromTruth)
	}
	if base.Cfg.Refs {
		if req.NoRefs {
			fmt.Fprintf(a.Out, "  drawn without reference pictures (-no-refs)\n")
		} else {
			fmt.Fprintf(a.Out, "  each thing drawn from a reference picture: a sprite of the class the prompt names, in a style and mirroring drawn from the seed (the ground truth's are drawn apart)\n")
		}
	}
	fmt.Fprintf(a.Out, "  generated      %v\n", rep.Generated)
	fmt.Fprintf(a.Out, "  ground truth   %v (the ceiling)\n", rep.Truth)
	fmt.Fprintf(a.Out, "  colour only    %v (a control that must fail)\n", rep.ColourOnly)
	fmt.Fprintf(a.Out, "  hue rotated    %v (a control that must pass)\n", rep.HueRotated)
	fmt.Fprintf(a.Out, "  top-1 of the ceiling %.2f; colour oracle's top-1 on the same images %.3f\n", rep.OfCeiling, rep.ColourTop1)
	fmt.Fprintf(a.Out, "  Fréchet distance %.4f (ground truth against itself %.4f, colour only %.4f)\n", rep.Frechet, rep.FrechetTruth, rep.FrechetColourOnly)
	fmt.Fprintf(a.Out, "  without its finite-sample bias (FID∞) %.4f (ground truth against itself %.4f)\n", rep.FrechetInf, rep.FrechetTruthInf)
	if req.Out != "" {
		fmt.Fprintln(a.Out, req.Out)
	}
	return nil
}

// evalRegions runs the region evaluation (eval -regions) and writes its
// grid.
func (a *App) evalRegions(ctx context.Context, req EvalRequest, progress ProgressFunc) error {
	if req.Out != "" && !strings.EqualFold(filepath.Ext(req.Out), ".png") {
		return usageError("-out %s: the grid is a .png file", req.Out)
	}
	if req.Seeds < 0 || req.Prompts < 0 {
		return usageError("-seeds and -prompts must not be negative")
	}
	if req.Layout <= 0 {
		return usageError("-regions needs layout guidance above 0 (-layout)")
	}
	seeds, per := cmp.Or(req.Seeds, 2), cmp.Or(req.Prompts, 3)
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, imgs, err := base.EvalRegions(ctx, per, seeds, req.Layout, func(done, total int) {
		progress.report(Progress{Stage: "regions", Step: done, Total: total, Elapsed: time.Since(start)})
	})
	if err != nil {
		return err
	}
	if req.Out != "" {
		if err := writePNG(req.Out, engine.RegionGrid(imgs, 4)); err != nil {
			return err
		}
	}
	if req.JSON {
		return a.writeJSON(rep)
	}
	fmt.Fprintf(a.Out, "regions: %d scenes per layout × %d seeds, layout %g, judged colour-blind\n%s", per, seeds, req.Layout, rep)
	if req.Out != "" {
		fmt.Fprintln(a.Out, req.Out)
	}
	return nil
}

// evalJudge measures the shipped shape judge and, for comparison, the
// colour oracle on the validation scenes and controls (eval -judge).
func (a *App) evalJudge(req EvalRequest) error {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	judge, err := eval.LoadJudge()
	if err != nil {
		return err
	}
	defer judge.Close()
	oracle, err := eval.LoadOracle()
	if err != nil {
		return err
	}
	defer oracle.Close()
	per := req.Seeds
	if per == 0 {
		per = 4
	}
	out := map[string]eval.JudgeValidation{}
	for name, o := range map[string]*eval.Oracle{"shape_judge": judge, "colour_oracle": oracle} {
		if out[name], err = eval.ValidateJudge(o, atlas, per, 1); err != nil {
			return err
		}
	}
	if req.JSON {
		return a.writeJSON(out)
	}
	fmt.Fprintf(a.Out, "%d scenes per class of %d classes (chance top-1 %.3f)\n", per, out["shape_judge"].Classes, out["shape_judge"].Chance)
	for _, name := range []string{"shape_judge", "colour_oracle"} {
		v := out[name]
		fmt.Fprintf(a.Out, "%s\n  ground truth  %v\n  colour only   %v\n  hue rotated   %v\n  shuffled      %v\n",
			strings.ReplaceAll(name, "_", " "), v.Truth, v.ColourOnly, v.HueRotated, v.Shuffled)
	}
	return nil
}

// writePNG encodes img to path atomically, creating its folder.
func writePNG(path string, img image.Image) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", dir, err)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return safefile.Write(path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err })
}

// excerpt is at most the first 40 characters of what a user typed, for
// quoting in a message.
func excerpt(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// PretrainDesigns lists the architectures pretrain -design takes: name
// and description.
func PretrainDesigns() [][2]string { return engine.PretrainDesigns() }
