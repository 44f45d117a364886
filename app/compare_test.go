package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/internal/testenv"
)

// decodePlot checks a Pareto plot file: a PNG of the plot's size, with
// its numbers next to it.
func decodePlot(t *testing.T, path string, points int) {
	t.Helper()
	img := testenv.ReadPNG(t, path)
	if b := img.Bounds(); b.Dx() != ParetoPlotWidth || b.Dy() != ParetoPlotHeight {
		t.Errorf("%s is %v, want %d×%d", path, b, ParetoPlotWidth, ParetoPlotHeight)
	}
	// Not blank: the plot drew axes, points and labels.
	colours := map[[4]uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 3 {
		for x := 0; x < img.Bounds().Dx(); x += 3 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colours) < 5 {
		t.Errorf("%s looks blank (%d colours)", path, len(colours))
	}
	var nums struct {
		Concept string                 `json:"concept"`
		Points  []engine.ConceptReport `json:"points"`
	}
	data, err := os.ReadFile(strings.TrimSuffix(path, ".png") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &nums); err != nil {
		t.Fatal(err)
	}
	if len(nums.Points) != points {
		t.Fatalf("%d points in the JSON, want %d", len(nums.Points), points)
	}
	for i, p := range nums.Points {
		if p.Beta != engine.ParetoBetas[i] || p.PromptFidelity < 0 || p.PromptFidelity > 1 {
			t.Errorf("point %d: %+v", i, p)
		}
	}
}

// TestEvalParetoPlot: eval -pareto on a Perfusion concept of the tiny
// model writes a plot of the documented size and its numbers (a cut-down
// evaluation: 2 prompts, 2 sampler steps per image).
func TestEvalParetoPlot(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	dir := t.TempDir()
	var out bytes.Buffer
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &out, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	concept := filepath.Join(dir, "teddy.safetensors")
	if err := a.Train(context.Background(), TrainRequest{Method: "perfusion", Name: "teddy", Class: "teddy bear", Steps: 1, OutPath: concept, Images: imgs, ModelPath: m}, nil); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(dir, "plots", "teddy-pareto.png")
	req := EvalRequest{Pareto: true, ConceptPath: concept, Out: plot, Images: imgs, ModelPath: m, Prompts: 2, SampleSteps: 2}
	if err := a.Eval(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	decodePlot(t, plot, len(engine.ParetoBetas))
	if !strings.Contains(out.String(), "0.40\t") || !strings.Contains(out.String(), plot) {
		t.Errorf("output:\n%s", out.String())
	}
	// A TI concept has no gate to sweep.
	ti := filepath.Join(dir, "ti.safetensors")
	if err := a.Train(context.Background(), TrainRequest{Method: "ti", Name: "teddy", Class: "teddy bear", Steps: 1, OutPath: ti, Images: imgs, ModelPath: m}, nil); err != nil {
		t.Fatal(err)
	}
	req.ConceptPath = ti
	if err := a.Eval(context.Background(), req, nil); !errors.Is(err, ErrUsage) {
		t.Errorf("a TI concept's sweep: %v", err)
	}
}

// TestEvalCompare runs the comparison through the use case on the tiny
// model (Perfusion on teddy and teapot, 1 step, a cut-down evaluation):
// table.md, results.json and pareto-teddy.png are written, and the table
// is printed.
func TestEvalCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 2 tiny concepts and generates ~40 tiny images (about 3 s)")
	}
	m := testenv.TinyModelFile(t, t.TempDir())
	dir := t.TempDir()
	var out bytes.Buffer
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &out, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	req := EvalRequest{Compare: true, Out: dir, Methods: []string{"perfusion"}, Concepts: []string{"teddy", "teapot"},
		ExamplesDir: "../examples", TrainImages: 2, Steps: 1, Prompts: 2, SampleSteps: 2, PairSeeds: 1, ModelPath: m}
	var reports []Progress
	if err := a.Eval(context.Background(), req, func(p Progress) { reports = append(reports, p) }); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "table.md", "teddy-perfusion.safetensors", "teapot-perfusion.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	decodePlot(t, filepath.Join(dir, "pareto-teddy.png"), len(engine.ParetoBetas))
	if !strings.Contains(out.String(), "| perfusion |") || !strings.Contains(out.String(), "| real images |") {
		t.Errorf("printed table:\n%s", out.String())
	}
	if len(reports) == 0 || reports[len(reports)-1].Step != reports[len(reports)-1].Total {
		t.Errorf("progress did not reach its total: %+v", reports[len(reports)-1:])
	}
	var res engine.CompareResults
	data, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	if err := json.Unmarshal(data, &res); err != nil || !res.Complete || len(res.Cells) != 2 || res.Cells[0].Report.Prompts != 2 {
		t.Errorf("results.json: %v %+v", err, res)
	}
}

func TestEvalCompareUsage(t *testing.T) {
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		req  EvalRequest
		want string
	}{
		{EvalRequest{Compare: true}, "-compare needs -out DIR"},
		{EvalRequest{Compare: true, Out: dir, Methods: []string{"clip"}}, "unknown or untrainable method"},
		{EvalRequest{Compare: true, Out: dir, Methods: []string{"ti", "ti"}}, "named twice"},
		{EvalRequest{Compare: true, Out: dir, Concepts: []string{"unicorn"}, ExamplesDir: "../examples"}, "not an example concept"},
		{EvalRequest{Compare: true, Out: dir, Concepts: []string{"teddy"}, ExamplesDir: dir}, "fewer than -images"},
		{EvalRequest{Compare: true, Out: dir, TrainImages: -1}, "-images must be from 1"},
		{EvalRequest{Compare: true, Pareto: true, Out: dir}, "-compare goes alone"},
		{EvalRequest{Pareto: true, Out: "p.png"}, "-pareto needs -concept"},
		{EvalRequest{Pareto: true, ConceptPath: "c", Images: []string{"a.png"}}, "-pareto needs -out"},
		{EvalRequest{Pareto: true, ConceptPath: "c", Out: "p.svg", Images: []string{"a.png"}}, "is a .png file"},
	} {
		err := a.Eval(context.Background(), c.req, nil)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want a usage error with %q", c.req, err, c.want)
		}
	}
}
