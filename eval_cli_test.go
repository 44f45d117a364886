package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"conceptstudio/app"
	"conceptstudio/internal/testenv"
)

// TestEvalParetoCommand: `eval -pareto` through the command line, on a
// Perfusion concept of a tiny model, writes a PNG of the plot's size.
func TestEvalParetoCommand(t *testing.T) {
	dir := t.TempDir()
	model := testenv.TinyModelFile(t, dir)
	imgs, _ := filepath.Glob("examples/teddy/[1-3].png")
	concept := filepath.Join(dir, "teddy.safetensors")
	if code, _, errOut := runCLI(t, append([]string{"train", "-method", "perfusion", "-name", "teddy", "-class", "teddy bear", "-steps", "1", "-model", model, "-out", concept}, imgs...)...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	plot := filepath.Join(dir, "pareto.png")
	code, out, errOut := runCLI(t, append([]string{"eval", "-pareto", "-concept", concept, "-out", plot, "-prompts", "2", "-sample-steps", "2", "-model", model}, imgs...)...)
	if code != 0 {
		t.Fatalf("eval -pareto: exit %d: %s", code, errOut)
	}
	img := testenv.ReadPNG(t, plot)
	if b := img.Bounds(); b.Dx() != app.ParetoPlotWidth || b.Dy() != app.ParetoPlotHeight {
		t.Errorf("plot is %v, want %d×%d", b, app.ParetoPlotWidth, app.ParetoPlotHeight)
	}
	if !strings.Contains(out, "0.80\t") {
		t.Errorf("stdout %q lacks the β=0.8 row", out)
	}
}

func TestEvalCompareFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "-compare"}, "-compare needs -out DIR"},
		{[]string{"eval", "-compare", "-out", t.TempDir(), "-methods", "ti,magic"}, `unknown or untrainable method "magic"`},
		{[]string{"eval", "-compare", "-out", t.TempDir(), "-concepts", "teddy,unicorn"}, `"unicorn" is not an example concept`},
		{[]string{"eval", "-pareto", "-concept", "x.safetensors", "a.png"}, "-pareto needs -out PLOT.png"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestEvalShapeAndJudgeCommands: `eval -shape` on a tiny model writes the
// grid and prints the judged scores beside the ceiling and the controls;
// `eval -judge` prints the judge's and the colour oracle's validation;
// a class the model does not know is bad usage.
func TestEvalShapeAndJudgeCommands(t *testing.T) {
	dir := t.TempDir()
	model := testenv.TinyModelFile(t, dir)
	grid := filepath.Join(dir, "sub", "grid.png")
	code, out, errOut := runCLI(t, "eval", "-shape", "-classes", "dog, teddy bear", "-seeds", "2", "-model", model, "-out", grid)
	if code != 0 {
		t.Fatalf("eval -shape: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"2 classes × 2 seeds", "ground truth", "colour only", "Fréchet distance", grid} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if img := testenv.ReadPNG(t, grid); img.Bounds().Dy() < 20+2*8*4 {
		t.Errorf("grid of %v: too small for two rows of 8-pixel images at 4×", img.Bounds())
	}
	// Another sampler, its steps and guidance, and every class.
	code, out, errOut = runCLI(t, "eval", "-shape", "-classes", "all", "-seeds", "1", "-sampler", "euler_a", "-sample-steps", "2", "-guidance", "6", "-model", model)
	if code != 0 || !strings.Contains(out, "120 classes × 1 seeds (euler_a, 2 steps, guidance 6)") || !strings.Contains(out, "without its finite-sample bias (FID∞)") {
		t.Fatalf("eval -shape -classes all -sampler euler_a: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "eval", "-judge", "-seeds", "1", "-json")
	if code != 0 || !strings.Contains(out, `"shape_judge"`) || !strings.Contains(out, `"colour_only"`) {
		t.Fatalf("eval -judge: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "-shape", "-classes", "unicorn", "-model", model}, `"unicorn" is not a class the model knows`},
		{[]string{"eval", "-shape", "-out", "grid.jpg", "-model", model}, "the grid is a .png file"},
		{[]string{"eval", "-shape", "-base"}, "choose one of"},
		{[]string{"eval", "-shape", "-sampler", "heun", "-model", model}, "the samplers are ddim and euler_a"},
		{[]string{"eval", "-shape", "-guidance", "-1", "-model", model}, "must not be negative"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestPretrainCommand: `pretrain` end to end on the tiny design: a run
// stops at its CPU budget with a checkpoint and a shape score, resumes
// (keeping its representation alignment and its gained paths' learning
// rate), and exports a model that
// generate reads.
func TestPretrainCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, _, errOut := runCLI(t, "pretrain", "-design", "tiny", "-dir", dir, "-steps", "3", "-batch", "2", "-cpu-hours", "0.0000001", "-align", "1", "-gained-lr", "5")
	if code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "CPU budget") || !strings.Contains(errOut, "shape top-1") {
		t.Errorf("stderr does not tell of the budget and the shape score: %s", errOut)
	}
	code, _, errOut = runCLI(t, "pretrain", "-dir", dir, "-resume", "-steps", "3", "-batch", "2")
	if code != 0 {
		t.Fatalf("pretrain -resume: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "alignment weight 1") || !strings.Contains(errOut, "learning-rate factor 5") {
		t.Errorf("the resumed run does not say it keeps its alignment and its gained paths' learning rate: %s", errOut)
	}
	model := filepath.Join(t.TempDir(), "m.safetensors")
	if code, _, errOut = runCLI(t, "pretrain", "-dir", dir, "-export", model); code != 0 {
		t.Fatalf("pretrain -export: exit %d: %s", code, errOut)
	}
	if code, _, errOut = runCLI(t, "generate", "-model", model, "-prompt", "a dog", "-steps", "2", "-out", t.TempDir()); code != 0 {
		t.Fatalf("generate with the exported model: exit %d: %s", code, errOut)
	}
	if code, _, errOut = runCLI(t, "pretrain", "-design", "huge", "-dir", t.TempDir()); code != 2 || !strings.Contains(errOut, `unknown design "huge"`) {
		t.Errorf("-design huge: exit %d, stderr %q", code, errOut)
	}
}

// TestBenchCommand: `bench` end to end on the tiny network (it panicked in
// its sampling part once, with no test to notice): JSON with the train
// step's GFLOPS and the same run's sgemm.
func TestBenchCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "bench", "-config", "tiny", "-batch", "2", "-steps", "1", "-json")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench -json printed %q: %v", out, err)
	}
	for _, k := range []string{"sgemm_gflops_1024", "train_gflops", "train_gflops_over_sgemm", "sample_4x25_guided_s", "sample_4x25_guided_base_config_s", "sample_4x25_guided_latent_64px_s"} {
		if v, ok := res[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v in %s", k, res[k], out)
		}
	}
	if code, _, errOut := runCLI(t, "bench", "-config", "huge"); code != 2 || !strings.Contains(errOut, "reference, base or tiny") {
		t.Errorf("bench -config huge: exit %d, %q", code, errOut)
	}
}

// TestEvalRegionsCommand: `eval -regions` on a tiny model writes the grid
// and prints each number of things with and without boxes beside the
// ground truth and the controls; without layout guidance it is bad usage.
func TestEvalRegionsCommand(t *testing.T) {
	dir := t.TempDir()
	model := testenv.TinyModelFile(t, dir)
	grid := filepath.Join(dir, "regions.png")
	code, out, errOut := runCLI(t, "eval", "-regions", "-prompts", "1", "-seeds", "1", "-model", model, "-out", grid)
	if code != 0 {
		t.Fatalf("eval -regions: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"2 things, with regions", "3 things, without", "4 things, with regions", "ground truth (ceiling)", "wrong boxes (must fail)", "colour-only (must fail)", grid} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if img := testenv.ReadPNG(t, grid); img.Bounds().Dy() < 7*16*4 {
		t.Errorf("grid of %v: too small for 7 scenes of 16-pixel images at 4×", img.Bounds())
	}
	if code, _, errOut := runCLI(t, "eval", "-regions", "-layout", "0", "-model", model); code != 2 || !strings.Contains(errOut, "layout guidance") {
		t.Errorf("-layout 0: exit %d, %q", code, errOut)
	}
}

// TestPretrainLatentCommand: `autoencoder` then `pretrain -design
// latent-tiny -autoencoder` end to end: the run trains on latents and its
// exported model draws pictures at the autoencoder's size.
func TestPretrainLatentCommand(t *testing.T) {
	ae := filepath.Join(t.TempDir(), "ae")
	if code, _, errOut := runCLI(t, "autoencoder", "-dir", ae, "-config", "tiny", "-steps", "2", "-batch", "2"); code != 0 {
		t.Fatalf("autoencoder: exit %d: %s", code, errOut)
	}
	run := filepath.Join(t.TempDir(), "run")
	code, _, errOut := runCLI(t, "pretrain", "-design", "latent-tiny", "-dir", run, "-steps", "2", "-batch", "2", "-sample-every", "1000",
		"-autoencoder", filepath.Join(ae, "autoencoder.safetensors"))
	if code != 0 {
		t.Fatalf("pretrain -design latent-tiny: exit %d: %s", code, errOut)
	}
	out := t.TempDir()
	if code, _, errOut := runCLI(t, "generate", "-prompt", "a cat", "-n", "1", "-steps", "2", "-model", filepath.Join(run, "model-ema.safetensors"), "-out", out); code != 0 {
		t.Fatalf("generate with the latent model: exit %d: %s", code, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(files) != 1 || testenv.ReadPNG(t, files[0]).Bounds().Dx() != 16 {
		t.Fatalf("generated %v, want one 16-pixel picture", files)
	}
	if code, _, errOut := runCLI(t, "pretrain", "-design", "latent-tiny", "-dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "-autoencoder FILE") {
		t.Errorf("a latent run without its autoencoder: exit %d, %q", code, errOut)
	}
}
