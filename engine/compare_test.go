package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

func TestPairPromptsAreCaptionGrammar(t *testing.T) {
	ps := PairPrompts("teddy", "owl", []string{"yellow", "teal"})
	if len(ps) != 8 {
		t.Fatalf("%d prompts", len(ps))
	}
	rels := map[string]int{}
	for _, p := range ps {
		got, err := eval.ParsePrompt(p.Text)
		if err != nil {
			t.Fatal(err)
		}
		if got.Relation != p.Relation || got.Background != p.Colour || len(got.Objects) != 2 || got.Objects[0] != "teddy*" || got.Objects[1] != "owl*" {
			t.Errorf("%q reads as %+v", p.Text, got)
		}
		rels[p.Relation]++
	}
	if len(rels) != 4 || !strings.Contains(ps[0].Text, "an owl*") || ps[0].Colour != "yellow" || ps[7].Colour != "teal" {
		t.Errorf("relations %v; prompts %+v", rels, ps)
	}
}

// TestPairColoursStandOut: the colours picked for dog and couch (a blue
// couch) are ones both allow, and not blue.
func TestPairColoursStandOut(t *testing.T) {
	a, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	dog, err := dataset.NewConceptSet(a, "dog", "dog", exampleImages(t, "dog", 3))
	if err != nil {
		t.Fatal(err)
	}
	couch, err := dataset.NewConceptSet(a, "couch", "couch", exampleImages(t, "couch", 3))
	if err != nil {
		t.Fatal(err)
	}
	cols := PairColours(dog, couch)
	if len(cols) != 2 || cols[0] == cols[1] {
		t.Fatalf("colours %v", cols)
	}
	for _, c := range cols {
		if c == "blue" || !dog.BackgroundAllowed(c) || !couch.BackgroundAllowed(c) {
			t.Errorf("colour %s for dog and a blue couch", c)
		}
	}
	t.Logf("dog+couch on %v", cols)
}

// exampleImages loads examples/NAME/1..n.png.
func exampleImages(t *testing.T, name string, n int) []image.Image {
	t.Helper()
	var out []image.Image
	for i := 1; i <= n; i++ {
		img, err := loadTestPNG(filepath.Join("..", "examples", name, fmt.Sprintf("%d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, img)
	}
	return out
}

// fileState is a file's modification time and contents.
type fileState struct {
	mod  time.Time
	data string
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{st.ModTime(), string(data)}
}

// TestCompareFlowAndResume runs the method comparison on the tiny model
// (2 methods × 2 concepts, 2 training steps, a cut-down evaluation): an
// interrupted first sitting keeps what it finished, the second finishes
// without retraining it, and a third trains and evaluates nothing,
// leaving every concept file untouched; the table's numbers are in range
// (the untrained model draws noise, so only ranges are checked).
func TestCompareFlowAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 4 tiny concepts and generates ~100 tiny images (about 10 s)")
	}
	b := tinyBase(t)
	dir := t.TempDir()
	opt := CompareOptions{
		Dir: dir, Methods: []Method{TI, Perfusion}, Steps: 2, Seed: 1, Pareto: "teddy",
		Concepts: []CompareConcept{
			{Name: "teddy", Class: "teddy bear", Train: exampleImages(t, "teddy", 3)},
			{Name: "teapot", Class: "teapot", Train: exampleImages(t, "teapot", 3)},
		},
		Eval: EvalOptions{Prompts: 3, SampleSteps: 3, PairSeeds: 1},
	}
	// First sitting: interrupted when the second concept starts training.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last CompareProgress
	_, err := b.Compare(ctx, opt, func(p CompareProgress) {
		if p.Done > p.Total || p.Done < last.Done && p.Total == last.Total {
			t.Errorf("progress %+v after %+v", p, last)
		}
		last = p
		if strings.HasPrefix(p.Stage, "training teapot") {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	var partial CompareResults
	readJSON(t, filepath.Join(dir, CompareResultsFile), &partial)
	if partial.Complete || len(partial.Cells) != 1 || partial.Cells[0].Concept != "teddy" || !partial.Cells[0].TrainedNow {
		t.Fatalf("after the interruption: %+v", partial)
	}
	if md, _ := os.ReadFile(filepath.Join(dir, CompareTableFile)); !strings.Contains(string(md), "Incomplete") {
		t.Errorf("the interrupted table does not say so:\n%s", md)
	}
	teddyTI := CompareConceptFile(dir, "teddy", TI)
	before := stateOf(t, teddyTI)

	// Second sitting: finishes; teddy-ti is reused, not retrained.
	res, err := b.Compare(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Pairs: TI's, Perfusion's, and Perfusion's with the exact form.
	if !res.Complete || len(res.Cells) != 4 || len(res.Pairs) != 3 || res.Pareto == nil || len(res.Pareto.Reports) != len(ParetoBetas) {
		t.Fatalf("results %+v", res)
	}
	if stateOf(t, teddyTI) != before {
		t.Error("teddy-ti was written again")
	}
	for _, c := range res.Cells {
		want := !(c.Method == TI && c.Concept == "teddy")
		if c.TrainedNow != want {
			t.Errorf("%s %s: trained in this sitting %v, want %v", c.Method, c.Concept, c.TrainedNow, want)
		}
		if c.Report.Prompts != 3 {
			t.Errorf("%s %s: %d prompts", c.Method, c.Concept, c.Report.Prompts)
		}
	}
	if len(res.Rows) != 3 || res.Rows[1].Exact || !res.Rows[2].Exact || res.Rows[2].Method != Perfusion {
		t.Fatalf("rows %+v", res.Rows)
	}
	if !res.Pairs[2].Exact || res.Pairs[2].SHA256 != res.Pairs[1].SHA256 {
		t.Errorf("the exact-form pair is not Perfusion's files: %+v", res.Pairs)
	}
	for _, r := range res.Rows {
		if r.Concepts != 2 || r.Pairs != 1 || math.Abs(r.Identity) > 1 || r.PromptFidelity < 0 || r.PromptFidelity > 1 ||
			r.TwoConcept < 0 || r.TwoConcept > 1 || r.TrainSeconds <= 0 || r.Bytes <= 0 {
			t.Errorf("row %+v out of range", r)
		}
	}
	if res.Rows[0].Method != TI || res.Rows[0].Bytes >= res.Rows[1].Bytes {
		t.Errorf("a TI concept (one embedding) must be smaller than a Perfusion one: %+v", res.Rows)
	}
	if res.RealIdentity < 0.5 || res.RealIdentity > 1 {
		t.Errorf("real-images identity %v", res.RealIdentity)
	}
	for _, p := range res.Pairs {
		if p.Report.Images != 8 || p.Report.Success > p.Report.BothFound {
			t.Errorf("pair %+v", p)
		}
		// Scenes: 2, 3 and 4 things, each layout with 2 seeds, with and
		// without the boxes.
		if len(p.Report.Scenes) != 3 {
			t.Fatalf("pair scenes %+v", p.Report.Scenes)
		}
		for _, sc := range p.Report.Scenes {
			want := res.Eval.pairSeeds() * len(eval.RegionLayouts[sc.Things])
			if sc.Regions.Images != want || sc.NoRegions.Images != want || sc.Regions.InBox > sc.Regions.Found {
				t.Errorf("%d things: %+v, want %d images each way", sc.Things, sc, want)
			}
		}
	}
	for i, r := range res.Pareto.Reports {
		if r.Beta != ParetoBetas[i] || r.Method != Perfusion {
			t.Errorf("sweep report %d: %+v", i, r)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, CompareTableFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| real images |", "| ti |", "| perfusion |", "| perfusion, exact multi-concept form |", "gate sweep, teddy*", "| 0.40 |", "Scenes in boxes", "| perfusion, exact |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("table.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "Incomplete") {
		t.Errorf("a complete table says it is incomplete:\n%s", md)
	}
	t.Logf("tiny-model table (noise):\n%s", md)

	// Third sitting: nothing to do; every file stays as it is.
	files := map[string]fileState{}
	for _, c := range res.Cells {
		files[c.File] = stateOf(t, filepath.Join(dir, c.File))
	}
	start := time.Now()
	again, err := b.Compare(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range files {
		if stateOf(t, filepath.Join(dir, name)) != st {
			t.Errorf("%s changed in a sitting with nothing to do", name)
		}
	}
	for i, c := range again.Cells {
		if c.TrainedNow || c.Report != res.Cells[i].Report {
			t.Errorf("cell %d redone: %+v", i, c)
		}
	}
	t.Logf("a sitting with nothing left took %v", time.Since(start))

	// A concept file of another base model is trained again.
	c, err := ReadConceptFile(teddyTI)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseID = "another"
	if err := WriteConceptFile(teddyTI, c); err != nil {
		t.Fatal(err)
	}
	opt.Methods = []Method{TI}
	opt.Concepts = opt.Concepts[:1]
	res, err = b.Compare(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 1 || !res.Cells[0].TrainedNow {
		t.Errorf("a concept of another base model was reused: %+v", res.Cells)
	}
	if c, _ := ReadConceptFile(teddyTI); c.BaseID != b.ID() || c.Thumbnail == nil {
		t.Errorf("the retrained file is of base %s, thumbnail %v", c.BaseID, c.Thumbnail != nil)
	}

	// Every concept carries the thumbnail a user's would (a refs base
	// draws the concept from it); a file of an earlier comparison without
	// one gets it back, its weights kept (not trained again).
	c, _ = ReadConceptFile(teddyTI)
	want := c.Thumbnail
	c.Thumbnail = nil
	if err := WriteConceptFile(teddyTI, c); err != nil {
		t.Fatal(err)
	}
	res, err = b.Compare(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := ReadConceptFile(teddyTI)
	if len(res.Cells) != 1 || res.Cells[0].TrainedNow || !bytes.Equal(back.Thumbnail, want) || !slices.Equal(back.Tensors["emb"].Data, c.Tensors["emb"].Data) {
		t.Errorf("a file without a thumbnail: cells %+v, thumbnail given back %v", res.Cells, bytes.Equal(back.Thumbnail, want))
	}
	if _, sha, _ := readConceptHashed(teddyTI); res.Cells[0].SHA256 != sha {
		t.Errorf("the cell names file %s, the file on disk is %s", res.Cells[0].SHA256, sha)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// TestCompareTrainedKeysAblation: the ablation entry trains Perfusion
// concepts with trained keys into their own files, labels its cells and
// row with its own name, and is not confused with plain Perfusion when a
// run is resumed.
func TestCompareTrainedKeysAblation(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 4 tiny concepts")
	}
	b := tinyBase(t)
	dir := t.TempDir()
	opt := CompareOptions{
		Dir: dir, Methods: []Method{Perfusion, PerfusionTrainedKeys}, Steps: 2, Seed: 1,
		Concepts: []CompareConcept{
			{Name: "teddy", Class: "teddy bear", Train: exampleImages(t, "teddy", 2)},
			{Name: "teapot", Class: "teapot", Train: exampleImages(t, "teapot", 2)},
		},
		Eval: EvalOptions{Prompts: 2, SampleSteps: 2, PairSeeds: 1},
	}
	res, err := b.Compare(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range opt.Methods {
		c, err := ReadConceptFile(CompareConceptFile(dir, "teddy", m))
		if err != nil {
			t.Fatal(err)
		}
		if c.Method != Perfusion || c.Settings.TrainedKeys != (m == PerfusionTrainedKeys) {
			t.Fatalf("%s: concept method %s, trained keys %v", m, c.Method, c.Settings.TrainedKeys)
		}
	}
	rows := map[Method]bool{}
	for _, r := range res.Rows {
		rows[r.Method] = true
	}
	if !rows[Perfusion] || !rows[PerfusionTrainedKeys] {
		t.Fatalf("rows %v, want both Perfusion entries", rows)
	}
	if !strings.Contains(res.Table(), "perfusion-trained-keys") {
		t.Fatal("the table has no ablation row")
	}
	// A second run reuses both kinds of files as they are.
	again, err := b.Compare(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again.Cells {
		if c.TrainedNow {
			t.Errorf("%s %s was trained again", c.Method, c.Concept)
		}
	}
}
