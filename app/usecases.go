package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"os"
	"path/filepath"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
)

// GenerateRequest asks for images from a prompt.
type GenerateRequest struct {
	Prompt    string
	Concepts  []string // concept files to load
	Gates     []string // NAME=BETA, per concept
	Seed      int64
	N         int
	Steps     int
	Guidance  float64
	OutDir    string
	ModelPath string // "" for the embedded base model
}

// Methods lists the personalization methods, in the order the UI shows them.
var Methods = []string{"perfusion", "ti", "lora", "dreambooth", "e4t"}

// TrainRequest asks for a new concept learned from images.
type TrainRequest struct {
	Method  string
	Name    string
	Class   string
	Steps   int // 0: the method's default
	OutPath string
	Images  []string
}

// EvalRequest asks for a concept's (or the base model's) quality table.
type EvalRequest struct {
	ConceptPath string
	Images      []string
	JSON        bool
	Base        bool
}

// PretrainRequest asks for (more) base-model training.
type PretrainRequest struct {
	Dir    string
	Resume bool
	Steps  int
}

// DatasetRequest asks for the sprite atlas to be built.
type DatasetRequest struct {
	OutDir   string // repository root to write into
	CacheDir string // where npm tarballs are kept ("" for the user cache)
}

// BenchRequest asks for the engine benchmarks.
type BenchRequest struct {
	JSON  bool
	Batch int // training batch (0: 32)
	Steps int // timed training steps (0: 5)
}

// ParseGate reads one "NAME=BETA" gate setting.
func ParseGate(s string) (name string, beta float64, err error) {
	name, v, ok := strings.Cut(s, "=")
	name = strings.TrimSuffix(strings.TrimSpace(name), "*")
	if !ok || name == "" {
		return "", 0, usageError("gate %q is not NAME=BETA", s)
	}
	beta, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || beta < 0 || beta > 1 {
		return "", 0, usageError("gate %q: BETA must be a number from 0 to 1", s)
	}
	return name, beta, nil
}

// Validate checks a generate request before any work starts.
func (r GenerateRequest) Validate() error {
	switch {
	case strings.TrimSpace(r.Prompt) == "":
		return usageError("missing -prompt")
	case r.OutDir == "":
		return usageError("missing -out DIR")
	case r.N < 1 || r.N > 64:
		return usageError("-n must be from 1 to 64, not %d", r.N)
	case r.Steps < 1 || r.Steps > 1000:
		return usageError("-steps must be from 1 to 1000, not %d", r.Steps)
	case r.Guidance < 0 || r.Guidance > 50:
		return usageError("-guidance must be from 0 to 50, not %g", r.Guidance)
	}
	for _, g := range r.Gates {
		if _, _, err := ParseGate(g); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a train request before any work starts.
func (r TrainRequest) Validate() error {
	known := false
	for _, m := range Methods {
		known = known || m == r.Method
	}
	switch {
	case !known:
		return usageError("unknown -method %q (choose one of %s)", r.Method, strings.Join(Methods, ", "))
	case r.Name == "":
		return usageError("missing -name")
	case r.Class == "":
		return usageError("missing -class (the kind of thing it is, e.g. \"teddy bear\")")
	case r.OutPath == "":
		return usageError("missing -out FILE")
	case len(r.Images) == 0:
		return usageError("no images given")
	case r.Steps < 0:
		return usageError("-steps must not be negative")
	}
	return nil
}

// Generate renders images for a prompt and writes them as PNGs to OutDir.
func (a *App) Generate(ctx context.Context, req GenerateRequest, progress ProgressFunc) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return notImplemented("generating needs the base model, which is not trained yet")
}

// Train learns a new concept from images and writes its concept file.
func (a *App) Train(ctx context.Context, req TrainRequest, progress ProgressFunc) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return notImplemented("training a concept needs the base model, which is not trained yet")
}

// Eval measures identity and prompt fidelity.
func (a *App) Eval(ctx context.Context, req EvalRequest, progress ProgressFunc) error {
	if req.ConceptPath == "" && !req.Base {
		return usageError("missing -concept FILE (or -base)")
	}
	return notImplemented("evaluation needs the oracle classifier and the base model, which do not exist yet")
}

// Pretrain trains the base model, resumably.
func (a *App) Pretrain(ctx context.Context, req PretrainRequest, progress ProgressFunc) error {
	if req.Steps < 0 {
		return usageError("-steps must not be negative")
	}
	return notImplemented("pretraining needs the engine's model and the sprite dataset, which are not built yet")
}

// Dataset fetches the pinned emoji packages with npm and rebuilds the
// committed sprite atlas, personal objects and example photos under the
// repository root OutDir ("." by default).
func (a *App) Dataset(ctx context.Context, req DatasetRequest, progress ProgressFunc) error {
	out := req.OutDir
	if out == "" {
		out = "."
	}
	if st, err := os.Stat(filepath.Join(out, "engine", "dataset")); err != nil || !st.IsDir() {
		return usageError("%s is not the repository root (no engine/dataset folder): run from there or pass -out", out)
	}
	cache := req.CacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("no cache folder for the npm packages: %w", err)
		}
		cache = filepath.Join(base, "conceptstudio", "npm")
	}
	start := time.Now()
	return dataset.Build(ctx, cache, out, func(msg string) {
		progress.report(Progress{Stage: "dataset", Message: msg, Elapsed: time.Since(start)})
	})
}

// Bench measures the engine on this machine and prints the result.
func (a *App) Bench(ctx context.Context, req BenchRequest, progress ProgressFunc) error {
	start := time.Now()
	res, err := engine.Bench(ctx, engine.BenchOptions{Batch: req.Batch, Steps: req.Steps}, func(stage string, step, total int) {
		progress.report(Progress{Stage: stage, Step: step, Total: total, Elapsed: time.Since(start)})
	})
	if err != nil {
		return err
	}
	if req.JSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	_, err = fmt.Fprint(a.Out, res.String())
	return err
}

// Concepts manages the library: list, import FILE, export NAME FILE, rm NAME.
func (a *App) Concepts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("concepts needs a subcommand: list, import FILE, export NAME FILE or rm NAME")
	}
	want := map[string]int{"list": 0, "import": 1, "export": 2, "rm": 1}
	n, ok := want[args[0]]
	if !ok {
		return usageError("unknown concepts subcommand %q (list, import, export, rm)", args[0])
	}
	if len(args)-1 != n {
		return usageError("concepts %s takes %d argument(s), got %d", args[0], n, len(args)-1)
	}
	switch args[0] {
	case "list":
		entries, err := a.Library.List()
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			fmt.Fprintf(a.Out, "no concepts yet in %s\n", a.Library.Dir)
		}
		for _, e := range entries {
			fmt.Fprintf(a.Out, "%s\t%d bytes\t%s\n", e.Name, e.Size, e.Path)
		}
		return nil
	default:
		return notImplemented("concepts " + args[0] + " needs the concept file format, which is not built yet")
	}
}
