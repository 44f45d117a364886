package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/safefile"
	"conceptstudio/store"
)

// CompareMethods are the methods a comparison trains by default.
var CompareMethods = append(MethodNames(), string(engine.PerfusionTrainedKeys))

// CompareConcepts are the example concepts a comparison uses by default,
// paired in twos for the two-concept score (teddy+teapot, dog+couch).
var CompareConcepts = []string{"teddy", "teapot", "dog", "couch"}

// evalOptions are the request's evaluation settings; a prompt cap at or
// above the fixed set's size means the whole set (0), so that reports
// record the same settings for the same work.
func (r EvalRequest) evalOptions() engine.EvalOptions {
	o := engine.EvalOptions{Beta: r.Beta, SampleSteps: r.SampleSteps, Prompts: r.Prompts, PairSeeds: r.PairSeeds, Layout: r.Layout}
	if o.Prompts >= len(dataset.ConceptPrompts("x", "teddy bear")) {
		o.Prompts = 0
	}
	if o.SampleSteps == 25 {
		o.SampleSteps = 0
	}
	if o.PairSeeds == 2 {
		o.PairSeeds = 0
	}
	return o
}

// loadImages reads image files (as training images are read).
func loadImages(paths []string) ([]image.Image, error) {
	loaded, _, err := store.LoadImages(paths, 1)
	if err != nil {
		return nil, err
	}
	out := make([]image.Image, len(loaded))
	for i, l := range loaded {
		out[i] = l.Image
	}
	return out, nil
}

// pareto evaluates one Perfusion concept at each gate of
// engine.ParetoBetas and writes the plot (req.Out) and its numbers
// (req.Out with .json for its extension).
func (a *App) pareto(ctx context.Context, req EvalRequest, progress ProgressFunc) error {
	switch {
	case req.ConceptPath == "":
		return usageError("-pareto needs -concept FILE")
	case req.Out == "":
		return usageError("-pareto needs -out PLOT.png")
	case !strings.EqualFold(filepath.Ext(req.Out), ".png"):
		return usageError("-out %s: the plot is a .png file", req.Out)
	case len(req.Images) == 0:
		return usageError("give the concept's reference images after the flags")
	case req.Beta != 0:
		return usageError("-pareto sweeps β itself; leave out -beta")
	}
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	c, err := engine.ReadConceptFile(req.ConceptPath)
	if err != nil {
		return err
	}
	if c.Method != engine.Perfusion {
		return usageError("-pareto sweeps a Perfusion gate; %s* is a %s concept", c.Name, c.Method)
	}
	refs, err := loadImages(req.Images)
	if err != nil {
		return err
	}
	start := time.Now()
	reps, err := base.EvalPareto(ctx, c, refs, nil, req.evalOptions(), func(done, total int) {
		progress.report(Progress{Stage: "gate sweep " + c.Name + "*", Step: done, Total: total, Elapsed: time.Since(start)})
	})
	if err != nil {
		return err
	}
	if err := writePareto(req.Out, c.Name, reps); err != nil {
		return err
	}
	if req.JSON {
		return a.writeJSON(reps)
	}
	fmt.Fprintf(a.Out, "beta\tshape_identity\tcolour_identity\tprompt_fidelity\n")
	for _, r := range reps {
		fmt.Fprintf(a.Out, "%.2f\t%.3f\t%.3f\t%.3f\n", r.Beta, r.ShapeIdentity, r.Identity, r.PromptFidelity)
	}
	fmt.Fprintln(a.Out, req.Out)
	return nil
}

// writePareto writes the sweep's plot to path and its numbers next to it
// (the same name with .json).
func writePareto(path, concept string, reps []engine.ConceptReport) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", dir, err)
		}
	}
	var buf bytes.Buffer
	if err := writeParetoPlot(&buf, concept, reps); err != nil {
		return fmt.Errorf("plotting: %w", err)
	}
	if err := safefile.Write(path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return err
	}
	data, err := json.MarshalIndent(struct {
		Concept string                 `json:"concept"`
		Points  []engine.ConceptReport `json:"points"`
	}{concept, reps}, "", "  ")
	if err != nil {
		return err
	}
	jsonPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".json"
	return safefile.Write(jsonPath, func(w io.Writer) error { _, err := w.Write(append(data, '\n')); return err })
}

// compare runs the method comparison (engine.Compare) on the example
// concepts and writes, besides its results.json and table.md, the first
// concept's gate sweep plot (pareto-NAME.png; teddy's by default).
func (a *App) compare(ctx context.Context, req EvalRequest, progress ProgressFunc) error {
	if req.Out == "" {
		return usageError("-compare needs -out DIR")
	}
	if req.ConceptPath != "" || len(req.Images) > 0 {
		return usageError("-compare trains its own concepts from -examples; give no -concept or images")
	}
	if req.Beta != 0 {
		return usageError("-compare uses each concept's own gate; leave out -beta")
	}
	methods := req.Methods
	if len(methods) == 0 {
		methods = CompareMethods
	}
	var ms []engine.Method
	for _, m := range methods {
		if !slices.Contains(CompareMethods, m) {
			return usageError("-methods: unknown or untrainable method %q (choose from %s)", m, strings.Join(CompareMethods, ", "))
		}
		if slices.Contains(ms, engine.Method(m)) {
			return usageError("-methods: %s is named twice", m)
		}
		ms = append(ms, engine.Method(m))
	}
	names := req.Concepts
	if len(names) == 0 {
		names = CompareConcepts
	}
	n := req.TrainImages
	if n == 0 {
		n = 4
	}
	if n < 1 || n > dataset.MaxConceptImages {
		return usageError("-images must be from 1 to %d, not %d", dataset.MaxConceptImages, n)
	}
	if req.Steps < 0 || req.Prompts < 0 || req.SampleSteps < 0 || req.PairSeeds < 0 {
		return usageError("-steps, -prompts, -sample-steps and -pair-seeds must not be negative")
	}
	examples := req.ExamplesDir
	if examples == "" {
		examples = "examples"
	}
	var concepts []engine.CompareConcept
	for _, name := range names {
		cc, err := exampleConcept(examples, name, n)
		if err != nil {
			return err
		}
		concepts = append(concepts, cc)
	}
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	start, from := time.Now(), -1
	opt := engine.CompareOptions{Dir: req.Out, Methods: ms, Concepts: concepts, Steps: req.Steps, Seed: 1, Eval: req.evalOptions(), Pareto: names[0]}
	res, err := base.Compare(ctx, opt, func(p engine.CompareProgress) {
		if from < 0 {
			from, start = p.Done, time.Now()
		}
		progress.report(Progress{Stage: p.Stage, Step: p.Done, Total: p.Total, From: from, Elapsed: time.Since(start), Message: p.Message})
	})
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(a.Err, "comparison stopped; what was finished is in %s. Run the same command again to continue.\n", req.Out)
	}
	if err != nil {
		return err
	}
	if res.Pareto != nil {
		path := filepath.Join(req.Out, "pareto-"+res.Pareto.Concept+".png")
		if err := writePareto(path, res.Pareto.Concept, res.Pareto.Reports); err != nil {
			return err
		}
	}
	if req.JSON {
		return a.writeJSON(res)
	}
	_, err = fmt.Fprint(a.Out, res.Table())
	return err
}

// exampleConcept loads an example concept: the images dir/NAME/*.png in
// name order, the first n to train from and all as references. Its class
// is the personal object's with that short name (teddy: "teddy bear").
func exampleConcept(dir, name string, n int) (engine.CompareConcept, error) {
	cc := engine.CompareConcept{Name: name}
	for _, p := range dataset.PersonalObjects {
		if p.Short == name {
			cc.Class = p.Name
		}
	}
	if cc.Class == "" {
		var known []string
		for _, p := range dataset.PersonalObjects {
			known = append(known, p.Short)
		}
		return cc, usageError("-concepts: %q is not an example concept (one of %s)", name, strings.Join(known, ", "))
	}
	paths, _ := filepath.Glob(filepath.Join(dir, name, "*.png"))
	slices.Sort(paths)
	if len(paths) < n {
		return cc, usageError("%s has %d images, fewer than -images %d (run from the repository root, or pass -examples DIR)", filepath.Join(dir, name), len(paths), n)
	}
	refs, err := loadImages(paths)
	if err != nil {
		return cc, err
	}
	cc.Train, cc.Refs = refs[:n], refs
	return cc, nil
}
