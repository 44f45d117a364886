package main

import (
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
