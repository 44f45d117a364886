package app

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"io"
	"os"
	"path/filepath"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
	"conceptstudio/engine/safefile"
	"conceptstudio/store"
)

// GenerateRequest asks for images from a prompt.
type GenerateRequest struct {
	Prompt   string
	Concepts []string // concept files to load
	Gates    []string // NAME=BETA, per concept
	Seed     int64
	N        int
	Steps    int
	Guidance float64
	// Layout is the layout guidance for prompts that relate two things
	// (engine.GenerateOptions.Layout; DefaultLayout unless asked).
	Layout float64
	// Regions steer things of the prompt into boxes of the picture (the
	// scene canvas, -region NAME=x,y,w,h), with the layout strength.
	Regions   []Region
	OutDir    string
	ModelPath string // "" for the embedded base model
	From      string // an exported PNG whose settings to start from
	// ExactPerfusion uses Perfusion's exact multi-concept form.
	ExactPerfusion bool
	// GlobalLocking takes Perfusion's keys from the prompt with concept
	// words replaced by their class words.
	GlobalLocking bool
	// Attention also writes, for every image, a greyscale map per prompt
	// word of where the image attended to it: OutDir/attention/IMAGE/WORD.png
	// (the word itself in the PNG's "word" text field).
	Attention bool
	// Which of Seed, Steps, Guidance were given explicitly (they then win
	// over From's).
	SeedSet, StepsSet, GuidanceSet, LayoutSet bool

	// fromGates are From's gates by concept name, for concepts given
	// with -concept rather than found in the library, less those -gate
	// sets.
	fromGates map[string]float64
}

// MethodInfo describes a personalization method (engine's registry).
type MethodInfo = engine.MethodInfo

// Methods lists the personalization methods, in the order the window
// offers them: names, titles, default steps and gates. A method that
// needs the base model's encoder (e4t) is listed only when the model in
// use (CONCEPTSTUDIO_MODEL, else the embedded one) carries one; `train
// -method e4t -encoder FILE` reaches it anyway.
func Methods() []MethodInfo {
	hasEncoder := modelHasEncoder(os.Getenv(EnvModel))
	var out []MethodInfo
	for _, m := range engine.MethodInfos() {
		if !m.NeedsEncoder || hasEncoder {
			out = append(out, m)
		}
	}
	return out
}

// encoderOf caches, by model path ("" : the embedded model), whether the
// model file carries an encoder: Methods is asked often (the window's
// gate sliders and titles) and the answer needs the file's header.
var encoderOf sync.Map

func modelHasEncoder(path string) bool {
	if v, ok := encoderOf.Load(path); ok {
		return v.(bool)
	}
	has := engine.ModelFileHasEncoder(path)
	encoderOf.Store(path, has)
	return has
}

// MethodNames are the methods' names, in the same order.
func MethodNames() []string {
	var out []string
	for _, m := range Methods() {
		out = append(out, string(m.Name))
	}
	return out
}

// DefaultGate is the gate a concept of method gets before the user moves
// its slider: own is the concept's stored gate (0: none), n how many
// concepts of its method the prompt holds.
func DefaultGate(method string, own float64, n int) float64 {
	c := &engine.Concept{Method: engine.Method(method)}
	c.Settings.Beta, c.Settings.Multiplier = own, own
	return engine.DefaultGate(c, n)
}

// StoredGate is the gate a concept of method with these settings brings
// (its own, else its method's default for one concept); 0 for a method
// without a gate.
func StoredGate(method string, settings engine.ConceptSettings) float64 {
	return engine.DefaultGate(&engine.Concept{Method: engine.Method(method), Settings: settings}, 1)
}

// TrainRequest asks for a new concept learned from images.
type TrainRequest struct {
	Method    string
	Name      string
	Class     string
	Steps     int // 0: the method's default
	OutPath   string
	Images    []string
	Seed      int64
	ModelPath string // "" for the embedded base model
	// GlobalLocking (Perfusion): keys from the whole caption with the
	// concept word read as its class word; the concept then generates so.
	GlobalLocking bool
	// TrainKeys (Perfusion ablation): train the key targets instead of
	// locking them.
	TrainKeys bool
	// EncoderPath is the e4t method's encoder file ("" : the base
	// model's own, if it has one).
	EncoderPath string
	// Init "e4t" starts another method's word where the encoder puts it.
	Init string
}

// EvalRequest asks for a concept's (or the base model's) quality table,
// a Perfusion concept's gate sweep (Pareto), or the method comparison
// (Compare).
type EvalRequest struct {
	// Regions measures region steering on the base model: scenes of 2, 3
	// and 4 things in boxes, with and without the boxes (-seeds each).
	Regions     bool
	ConceptPath string
	Images      []string
	JSON        bool
	Base        bool
	// Prompts: base evaluation prompts (0: 200); for concepts, a cap on
	// the 24 fixed prompts (0 or more than 24: all).
	Prompts   int
	Beta      float64 // Perfusion gate override (0: the concept's)
	ModelPath string
	// SampleSteps are the sampler's steps per evaluation image (0: 25).
	SampleSteps int
	// Layout is the layout guidance of two-object prompts
	// (engine.GenerateOptions.Layout; the command line's default is
	// engine.DefaultLayout).
	Layout float64

	// Shape runs the base model's shape probe (engine.EvalShape) on
	// Classes (nil: engine.GridClasses) with Seeds images each (0: 4),
	// and writes the grid of images beside the ground truth to Out (a
	// PNG) when Out is set.
	Shape   bool
	Classes []string
	Seeds   int
	// Guidance and Sampler ("ddim" or "euler_a") are how the shape probe
	// draws (0 and "": guidance 4, DDIM), with SampleSteps.
	Guidance float64
	Sampler  string
	// FromTruth starts the shape probe's images from their ground truth
	// noised to this share of the schedule (0: from noise).
	FromTruth float64
	// NoRefs draws a model given reference pictures (the refs design)
	// without them.
	NoRefs bool
	// Judge measures the colour-blind shape judge itself on renders of
	// every class and on its controls (eval.ValidateJudge).
	Judge bool

	// Pareto sweeps the concept's gate over engine.ParetoBetas and writes
	// the plot to Out (PNG) and the numbers next to it (.json).
	Pareto bool
	// Compare trains and evaluates Methods × Concepts into the folder Out.
	Compare bool
	Out     string
	// Methods and Concepts of a comparison (nil: all four trainable
	// methods; CompareConcepts). Concepts are example folders
	// ExamplesDir/NAME/*.png named by their short names (teddy, teapot,
	// dog, couch).
	Methods, Concepts []string
	ExamplesDir       string // "" : "examples"
	TrainImages       int    // the first N example images train (0: 4); all are references
	Steps             int    // training steps (0: each method's default)
	PairSeeds         int    // images per two-concept prompt (0: 2)
}

// PretrainRequest asks for (more) base-model training.
type PretrainRequest struct {
	Dir       string
	Resume    bool
	Steps     int // total steps of the run (0: the default)
	StopAfter int // steps in this sitting (0: to the end)
	Batch     int
	InitFrom  string // start a new run from a model file's weights
	// Autoencoder is a latent design's autoencoder file (the autoencoder
	// command's autoencoder.safetensors), for a new run.
	Autoencoder string
	LR          float64 // peak learning rate (0: the default)
	Warmup      int     // learning-rate warm-up steps (0: the default)
	// ShapeAll scores all 120 classes with each sample grid, not the grid's 24.
	ShapeAll bool
	Export   string // write the run's EMA model, F16, to this file and stop
	Raw      bool   // Export the newest checkpoint's weights instead of their average
	// HighNoise is the share of timesteps drawn from the noisiest tenth
	// (negative: the default).
	HighNoise float64
	// Design names the architecture of a new run (engine.PretrainDesigns;
	// "": the base design).
	Design string
	// CPUHours ends the run once its training has used this much CPU time
	// (0: no limit): pilots of different designs get equal compute.
	CPUHours float64
	// SampleEvery is the steps between sample grids and shape scores (0:
	// the default, 1000).
	SampleEvery int
	// InputPerturb is DDPM-IP's input perturbation of a new run (0: none).
	InputPerturb float64
	// Align is the weight of representation alignment to the colour
	// oracle's features (engine.PretrainOptions.Align; 0: none).
	Align float64
	// GainedLR multiplies the learning rate of the paths a grown model
	// gains (engine.PretrainOptions.GainedLRMult; 0: 1).
	GainedLR float64
	// RefAugment is the share of referenced training pictures drawn so
	// that only their references say what the things look like
	// (engine.PretrainOptions.RefAugment; 0: none).
	RefAugment float64
	// Classes and Styles narrow the world a new run trains on (class
	// names and sprite styles; nil: all).
	Classes, Styles []string
}

// DatasetRequest asks for the sprite atlas to be built.
type DatasetRequest struct {
	OutDir   string // repository root to write into
	CacheDir string // where npm tarballs are kept ("" for the user cache)
}

// BenchRequest asks for the engine benchmarks.
type BenchRequest struct {
	JSON     bool
	Batch    int    // training batch (0: 32)
	Steps    int    // timed training steps (0: 5)
	Replicas int    // model replicas per batch (0: one per core)
	Config   string // the trained network: "reference" (default) or "base"
}

// ParseGate reads one "NAME=BETA" gate setting.
func ParseGate(s string) (name string, beta float64, err error) {
	name, v, ok := strings.Cut(s, "=")
	name = strings.TrimSuffix(strings.TrimSpace(name), "*")
	if !ok || name == "" {
		return "", 0, usageError("gate %q is not NAME=VALUE", excerpt(s))
	}
	beta, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	if top := engine.MaxGate(); err != nil || !(beta > 0 && beta <= top) {
		return "", 0, usageError("gate %q: the value must be a number above 0 and at most %g (each method has its own range)", excerpt(s), top)
	}
	return name, beta, nil
}

// Validate checks a generate request before any work starts.
func (r GenerateRequest) Validate() error { return r.validate(true) }

// validate is Validate, with or without the output folder (Render writes
// nothing).
func (r GenerateRequest) validate(needOut bool) error {
	switch {
	case strings.TrimSpace(r.Prompt) == "":
		return usageError("missing -prompt")
	case needOut && r.OutDir == "":
		return usageError("missing -out DIR")
	case r.N < 1 || r.N > 64:
		return usageError("-n must be from 1 to 64, not %d", r.N)
	case r.Steps < 1 || r.Steps > 1000:
		return usageError("-steps must be from 1 to 1000, not %d", r.Steps)
	case r.Guidance < 0 || r.Guidance > 50:
		return usageError("-guidance must be from 0 to 50, not %g", r.Guidance)
	case r.Layout < 0 || r.Layout > 20:
		return usageError("-layout must be from 0 to 20, not %g", r.Layout)
	}
	for _, g := range r.Gates {
		if _, _, err := ParseGate(g); err != nil {
			return err
		}
	}
	if err := region.CheckAll(r.Regions); err != nil {
		return usageError("%s", plainRegionError(err))
	}
	if len(r.Regions) > 0 && r.Layout == 0 {
		return usageError("regions need layout guidance: -layout must be above 0 to steer things into their boxes")
	}
	return nil
}

// Validate checks a train request before any work starts.
func (r TrainRequest) Validate() error {
	_, known := engine.LookupMethod(r.Method)
	switch {
	case !known:
		return usageError("unknown -method %q (choose one of %s)", excerpt(r.Method), strings.Join(MethodNames(), ", "))
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
	case r.Init != "" && r.Init != string(engine.E4T):
		return usageError("-init %q: the one start on offer is e4t (the encoder's word)", excerpt(r.Init))
	}
	return nil
}

// Shot is one generated image in memory: the picture, its place in the
// batch, the settings that make it again (the PNG's text chunks) and,
// when asked for, where it attended to each prompt word.
type Shot struct {
	Image     *image.NRGBA
	Index     int
	Meta      map[string]string
	Attention []WordMap
}

// Rendered is what Render returns: the images, and notes for the user
// about the request (words the model does not know, left out).
type Rendered struct {
	Shots []Shot
	Notes []string
	// Request is the request as rendered (with -from, as the PNG filled it).
	Request GenerateRequest
}

// Render renders images for a prompt in memory: what the window shows and
// what Generate writes. OutDir is not used.
func (a *App) Render(ctx context.Context, req GenerateRequest, progress ProgressFunc) (Rendered, error) {
	var out Rendered
	if req.From != "" {
		var err error
		if req, err = a.fromPNG(req); err != nil {
			return out, err
		}
	}
	if err := req.validate(false); err != nil {
		return out, err
	}
	out.Request = req
	base, err := a.base(req.ModelPath)
	if err != nil {
		return out, err
	}
	_, unknown, err := base.KnownPrompt(req.Prompt)
	if err != nil {
		return out, err
	}
	if len(unknown) > 0 {
		q := make([]string, len(unknown))
		for i, w := range unknown {
			q[i] = strconv.Quote(excerpt(w))
		}
		out.Notes = append(out.Notes, fmt.Sprintf("the model does not know %s; left out of the prompt", strings.Join(q, ", ")))
	}
	uses, hashes, err := a.loadConcepts(base, req.Concepts, req.Gates)
	if err != nil {
		return out, err
	}
	for i, u := range uses {
		if g, ok := req.fromGates[u.Concept.Name]; ok {
			uses[i].Gate = g
		}
	}
	start := time.Now()
	var maps *engine.AttentionMaps
	if req.Attention {
		maps = &engine.AttentionMaps{}
	}
	imgs, err := base.GenerateWith(ctx, engine.GenerateOptions{Prompt: req.Prompt, N: req.N, Seed: uint64(req.Seed), Steps: req.Steps, Guidance: req.Guidance, Layout: req.Layout, Regions: req.Regions, ExactPerfusion: req.ExactPerfusion, GlobalLocking: req.GlobalLocking, Attention: maps}, uses,
		func(step, total int) {
			progress.report(Progress{Stage: "sampling", Step: step, Total: total, Elapsed: time.Since(start)})
		})
	if errors.Is(err, region.ErrBadRegion) {
		return out, usageError("%s", plainRegionError(err))
	}
	if err != nil {
		return out, err
	}
	settings := store.GenerationSettings{Prompt: req.Prompt, Seed: req.Seed, Steps: req.Steps, Guidance: req.Guidance, Layout: req.Layout, Regions: req.Regions,
		Sampler: "ddim", BaseID: base.ID(), AppVersion: Version}
	gates := engine.Gates(uses)
	for i, u := range uses {
		settings.Concepts = append(settings.Concepts, store.ConceptUse{Name: u.Concept.Name, SHA256: hashes[i], Gate: gates[i], Tau: u.Tau})
	}
	for i, img := range imgs {
		settings.Index = i
		sh := Shot{Image: img, Index: i, Meta: settings.Meta()}
		if maps != nil {
			sh.Attention = attentionOf(maps, i)
		}
		out.Shots = append(out.Shots, sh)
	}
	return out, nil
}

// Generate renders images for a prompt (Render) and writes them as PNGs
// to OutDir, with their settings and attention maps; notes go to the
// error stream, the paths to the output.
func (a *App) Generate(ctx context.Context, req GenerateRequest, progress ProgressFunc) error {
	if req.OutDir == "" && (req.From != "" || strings.TrimSpace(req.Prompt) != "") {
		return usageError("missing -out DIR")
	}
	res, err := a.Render(ctx, req, progress)
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(a.Err, "note:", n)
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return fmt.Errorf("cannot create the output folder: %w", err)
	}
	r := res.Request
	for _, sh := range res.Shots {
		path := filepath.Join(req.OutDir, fmt.Sprintf("%s-seed%d-%d.png", Slug(r.Prompt), r.Seed, sh.Index))
		if err := WriteShot(path, sh); err != nil {
			return err
		}
		if sh.Attention != nil {
			if err := writeAttention(filepath.Join(req.OutDir, "attention", strings.TrimSuffix(filepath.Base(path), ".png")), sh.Attention); err != nil {
				return err
			}
		}
		fmt.Fprintln(a.Out, path)
	}
	return nil
}

// WriteShot writes a shot as a PNG with its settings, atomically.
func WriteShot(path string, sh Shot) error { return WritePNG(path, sh.Image, sh.Meta) }

// attentionOf is image i's attention maps, one per distinct word (the
// first occurrence's), in prompt order, as 8-bit greys.
func attentionOf(maps *engine.AttentionMaps, i int) []WordMap {
	out := []WordMap{}
	seen := map[string]bool{}
	for w, word := range maps.Words {
		if Slug(word) == "" || seen[word] {
			continue
		}
		seen[word] = true
		g := image.NewGray(image.Rect(0, 0, maps.Size, maps.Size))
		for k, v := range maps.Maps[i][w] {
			g.Pix[k] = uint8(min(max(v*255+0.5, 0), 255))
		}
		out = append(out, WordMap{Word: word, Map: g})
	}
	return out
}

// writeAttention writes one image's attention maps, one greyscale PNG per
// word, named by the word's slug (the first of words with the same slug),
// with the word in the "word" text field.
func writeAttention(dir string, maps []WordMap) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the attention folder: %w", err)
	}
	seen := map[string]bool{}
	for _, m := range maps {
		name := Slug(m.Word)
		if seen[name] {
			continue
		}
		seen[name] = true
		meta := map[string]string{AttentionWordKey: m.Word}
		if err := safefile.Write(filepath.Join(dir, name+".png"), func(f io.Writer) error { return store.EncodePNG(f, m.Map, meta) }); err != nil {
			return err
		}
	}
	return nil
}

// WordMap is one prompt word's attention map.
type WordMap struct {
	Word string
	Map  *image.Gray
}

// ReadAttention reads the attention maps Generate wrote for the image at
// imagePath (none, without error, when it wrote none), in prompt order.
func ReadAttention(imagePath string, prompt string) ([]WordMap, error) {
	dir := filepath.Join(filepath.Dir(imagePath), "attention", strings.TrimSuffix(filepath.Base(imagePath), ".png"))
	paths, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil || len(paths) == 0 {
		return nil, err
	}
	byWord := map[string]*image.Gray{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		meta, err := store.ReadPNGMeta(data)
		if err != nil {
			return nil, fmt.Errorf("attention map %s: %w", filepath.Base(p), err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("attention map %s: %w", filepath.Base(p), err)
		}
		g, ok := img.(*image.Gray)
		if !ok || meta[AttentionWordKey] == "" {
			return nil, fmt.Errorf("attention map %s is not one this app wrote", filepath.Base(p))
		}
		byWord[meta[AttentionWordKey]] = g
	}
	var out []WordMap
	for _, w := range dataset.Words(prompt) {
		if g, ok := byWord[w]; ok {
			out = append(out, WordMap{Word: w, Map: g})
			delete(byWord, w)
		}
	}
	return out, nil
}

// Region is a box of the picture one thing of the prompt is steered into
// (NAME=x,y,w,h in fractions of the picture).
type Region = region.Region

// ParseRegion reads NAME=x,y,w,h, as -region takes it.
func ParseRegion(s string) (Region, error) {
	r, err := region.Parse(s)
	if err != nil {
		return r, usageError("-region: %s", plainRegionError(err))
	}
	return r, nil
}

// plainRegionError is a region error without its "bad region:" prefix.
func plainRegionError(err error) string {
	return strings.TrimPrefix(err.Error(), region.ErrBadRegion.Error()+": ")
}

// AttentionWordKey is the PNG text field naming an attention map's word.
const AttentionWordKey = "word"

// fromPNG fills a request from an exported PNG's settings: prompt, seed,
// steps, guidance, and the concepts it used (found in the library by name
// and checked against the recorded file hash) with their gates. Settings
// given explicitly (non-zero in req, concepts listed) win.
func (a *App) fromPNG(req GenerateRequest) (GenerateRequest, error) {
	data, err := os.ReadFile(req.From)
	if err != nil {
		return req, fmt.Errorf("cannot read %s: %w", req.From, err)
	}
	st, err := store.ReadSettings(data)
	if err != nil {
		return req, fmt.Errorf("%s: %w", req.From, err)
	}
	if req.Prompt == "" {
		req.Prompt = st.Prompt
	}
	if !req.SeedSet {
		req.Seed = st.Seed
	}
	if !req.StepsSet && st.Steps > 0 {
		req.Steps = st.Steps
	}
	if !req.GuidanceSet {
		req.Guidance = st.Guidance
	}
	if !req.LayoutSet {
		req.Layout = st.Layout
	}
	if len(req.Regions) == 0 {
		req.Regions = st.Regions
	}
	if len(req.Concepts) > 0 {
		// The concepts are given; their gates still come from the
		// picture unless -gate sets them.
		gated := map[string]bool{}
		for _, g := range req.Gates {
			if name, _, err := ParseGate(g); err == nil {
				gated[name] = true
			}
		}
		for _, c := range st.Concepts {
			if c.Gate > 0 && !gated[c.Name] {
				if req.fromGates == nil {
					req.fromGates = map[string]float64{}
				}
				req.fromGates[c.Name] = c.Gate
			}
		}
	} else {
		for _, c := range st.Concepts {
			path := store.NewLibrary(a.Library.Dir).ConceptPath(c.Name)
			if _, err := os.Stat(path); err != nil {
				return req, fmt.Errorf("%s used the concept %s*, which is not in the library (%s)", req.From, c.Name, a.Library.Dir)
			}
			if c.SHA256 != "" {
				if sum, err := store.FileSHA256(path); err == nil && sum != c.SHA256 {
					fmt.Fprintf(a.Err, "warning: %s* in the library is not the version %s was made with\n", c.Name, filepath.Base(req.From))
				}
			}
			req.Concepts = append(req.Concepts, path)
			if c.Gate > 0 {
				req.Gates = append(req.Gates, fmt.Sprintf("%s=%g", c.Name, c.Gate))
			}
		}
	}
	return req, nil
}

// loadConcepts reads concept files and applies NAME=BETA gates; it returns
// the uses and each file's SHA-256 for the PNG metadata.
func (a *App) loadConcepts(base *engine.Base, paths, gates []string) ([]engine.ConceptUse, []string, error) {
	var uses []engine.ConceptUse
	var hashes []string
	byName := map[string]int{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read concept: %w", err)
		}
		c, err := engine.DecodeConcept(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if _, dup := byName[c.Name]; dup {
			return nil, nil, fmt.Errorf("two concepts are named %s*: rename one of them", c.Name)
		}
		byName[c.Name] = len(uses)
		uses = append(uses, engine.ConceptUse{Concept: c})
		sum := sha256.Sum256(data)
		hashes = append(hashes, hex.EncodeToString(sum[:]))
	}
	for _, g := range gates {
		name, beta, err := ParseGate(g)
		if err != nil {
			return nil, nil, err
		}
		i, ok := byName[name]
		if !ok {
			return nil, nil, usageError("-gate %s: no concept named %s* was loaded with -concept", g, name)
		}
		info, _ := engine.LookupMethod(string(uses[i].Concept.Method))
		if info.Gate == nil {
			return nil, nil, usageError("-gate %s: a %s concept has no gate", excerpt(g), uses[i].Concept.Method)
		}
		if err := info.Gate.Check(beta); err != nil {
			return nil, nil, usageError("-gate %s: %v", excerpt(g), err)
		}
		uses[i].Gate = beta
	}
	return uses, hashes, nil
}

// EnvModel names a base-model file to use instead of the embedded one
// (the window has no -model flag).
const EnvModel = "CONCEPTSTUDIO_MODEL"

// loadBaseFile loads a model file once per path and keeps it.
func (a *App) loadBaseFile(path string) (*engine.Base, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b, ok := a.bases[path]; ok {
		return b, nil
	}
	b, err := engine.LoadBaseFile(path)
	if err != nil {
		return nil, err
	}
	if a.bases == nil {
		a.bases = map[string]*engine.Base{}
	}
	a.bases[path] = b
	return b, nil
}

// base loads the base model: a file when one is named, else the embedded
// default.
func (a *App) base(path string) (*engine.Base, error) {
	if path == "" {
		path = os.Getenv(EnvModel)
	}
	if path != "" {
		return a.loadBaseFile(path)
	}
	b, err := engine.DefaultBase()
	if errors.Is(err, engine.ErrNoEmbeddedModel) {
		return nil, notImplemented("the embedded base model is not trained yet; pass -model FILE (e.g. pretrain-run/model-ema.safetensors)")
	}
	return b, err
}

// Slug turns free text (a prompt, a word) into a short file-name part:
// lower-case letters and digits, other runs of characters as one dash, at
// most 40 bytes, no dash at either end.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// Train learns a new concept from images and writes its concept file
// (atomically; a cancelled run writes nothing). When the file is the
// concept's place in the library, the library also keeps the training
// images (see TrainingImages).
func (a *App) Train(ctx context.Context, req TrainRequest, progress ProgressFunc) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if err := engine.ValidName(req.Name); err != nil {
		return usageError("%v", err)
	}
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	if err := checkClass(base, req.Class); err != nil {
		return err
	}
	loaded, warnings, err := store.LoadImages(req.Images, 1)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(a.Err, "warning:", w)
	}
	imgs := make([]image.Image, len(loaded))
	for i, l := range loaded {
		imgs[i] = l.Image
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	cs, err := dataset.NewConceptSet(atlas, req.Name, req.Class, imgs)
	// A photo with nothing to cut out is left out, with the reason, while
	// others remain (the window's sheet marks it the same way).
	for err != nil && nothingToCut(err) && len(imgs) > 1 {
		var ie *dataset.ImageError
		if !errors.As(err, &ie) || ie.Index >= len(loaded) {
			break
		}
		fmt.Fprintln(a.Err, "warning: leaving out", imageProblem(err, loaded))
		loaded = slices.Delete(loaded, ie.Index, ie.Index+1)
		imgs = slices.Delete(imgs, ie.Index, ie.Index+1)
		cs, err = dataset.NewConceptSet(atlas, req.Name, req.Class, imgs)
	}
	if err != nil {
		return imageProblem(err, loaded)
	}
	for _, w := range cs.Warnings {
		fmt.Fprintln(a.Err, "warning:", namedImage(w, loaded))
	}
	// The concept's folder (on a fresh install, the library itself) is
	// made now: the training's checkpoints are written beside the file.
	if dir := filepath.Dir(req.OutPath); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cannot create the folder %s for the concept: %w", dir, err)
		}
	}
	start, from := time.Now(), -1
	// A cancelled run keeps its state here; the same command continues it.
	partial := req.OutPath + ".partial"
	var enc *engine.Encoder
	if req.EncoderPath != "" {
		if enc, err = engine.LoadEncoder(req.EncoderPath); err != nil {
			return err
		}
	}
	c, err := base.TrainConcept(ctx, engine.TrainOptions{Encoder: enc, InitFromEncoder: req.Init == string(engine.E4T),
		Method: engine.Method(req.Method), Name: req.Name, Class: req.Class, Steps: req.Steps, Seed: uint64(req.Seed), GlobalLocking: req.GlobalLocking, TrainKeys: req.TrainKeys,
		Data: cs.Sampler(base.PictureSize(), dataset.DefaultConceptSceneOptions()), Images: len(imgs),
		Checkpoint: partial, PreviewEvery: 50,
	}, func(p engine.TrainProgress) {
		if from < 0 {
			from, start = p.Step, time.Now() // a resumed run's rate counts from here
		}
		r := Progress{Stage: "training " + req.Name + "*", Step: p.Step, Total: p.Total, From: from, Loss: p.Loss, Elapsed: time.Since(start), Message: p.Message}
		if p.Preview != nil { // a nil *image.NRGBA would be a non-nil image.Image
			r.Preview = p.Preview
		}
		progress.report(r)
	})
	if errors.Is(err, context.Canceled) {
		if _, serr := os.Stat(partial); serr == nil {
			fmt.Fprintf(a.Err, "training stopped; nothing was written to %s. Run the same command again to continue where it stopped.\n", req.OutPath)
		}
	}
	if err != nil {
		return err
	}
	if thumb, err := engine.ConceptThumbnail(cs); err == nil {
		c.Thumbnail = thumb
	}
	if err := a.writeTrained(req.OutPath, c, imgs); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "%s\t%s* (%s, %d bytes, %.0f s)\n", req.OutPath, c.Name, c.Method, c.Size(), c.Settings.TrainSeconds)
	return nil
}

// Eval measures the base model (-base) or a concept against its
// reference images: identity and prompt fidelity.
func (a *App) Eval(ctx context.Context, req EvalRequest, progress ProgressFunc) error {
	modes := 0
	for _, on := range []bool{req.Compare, req.Pareto, req.Base, req.Shape, req.Judge, req.Regions} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1 && req.Compare:
		return usageError("-compare goes alone, without -pareto or -base")
	case modes > 1:
		return usageError("choose one of -base, -shape, -regions, -judge, -pareto, -compare")
	case req.Regions:
		return a.evalRegions(ctx, req, progress)
	case req.Judge:
		return a.evalJudge(req)
	case req.Shape:
		return a.evalShape(ctx, req, progress)
	case req.Compare:
		return a.compare(ctx, req, progress)
	case req.Pareto:
		return a.pareto(ctx, req, progress)
	}
	if req.ConceptPath == "" && !req.Base {
		return usageError("missing -concept FILE (or -base, -compare)")
	}
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	start := time.Now()
	prog := func(done, total int) {
		progress.report(Progress{Stage: "evaluating", Step: done, Total: total, Elapsed: time.Since(start)})
	}
	var report any
	if req.Base {
		n := req.Prompts
		if n == 0 {
			n = 200
		}
		if report, err = base.EvalBase(ctx, n, req.Layout, prog); err != nil {
			return err
		}
	} else {
		c, err := engine.ReadConceptFile(req.ConceptPath)
		if err != nil {
			return err
		}
		if len(req.Images) == 0 {
			return usageError("give the concept's reference images after the flags")
		}
		refs, err := loadImages(req.Images)
		if err != nil {
			return err
		}
		if report, err = base.EvalConceptWith(ctx, c, refs, req.evalOptions(), prog); err != nil {
			return err
		}
	}
	if req.JSON {
		return a.writeJSON(report)
	}
	b, _ := json.MarshalIndent(report, "", "  ")
	_, err = fmt.Fprintln(a.Out, strings.NewReplacer("{", "", "}", "", "\"", "", ",", "").Replace(string(b)))
	return err
}

// Pretrain trains the base model, resumably: Ctrl-C saves a checkpoint.
func (a *App) Pretrain(ctx context.Context, req PretrainRequest, progress ProgressFunc) error {
	if req.Steps < 0 || req.StopAfter < 0 || req.Batch < 0 {
		return usageError("-steps, -for and -batch must not be negative")
	}
	if req.Export != "" {
		if req.Raw {
			return engine.ExportRunRaw(req.Dir, req.Export)
		}
		return engine.ExportBase(filepath.Join(req.Dir, "model-ema.safetensors"), req.Export)
	}
	opt := engine.DefaultPretrain()
	opt.Dir, opt.Resume = req.Dir, req.Resume
	if req.Steps > 0 {
		opt.Steps = req.Steps
	}
	if req.Batch > 0 {
		opt.Batch = req.Batch
	}
	opt.StopAfter = req.StopAfter
	opt.InitFrom = req.InitFrom
	opt.Autoencoder = req.Autoencoder
	if req.LR < 0 || req.Warmup < 0 {
		return usageError("-lr and -warmup must not be negative")
	}
	if req.LR > 0 {
		opt.LR = req.LR
	}
	if req.Warmup > 0 {
		opt.Warmup = req.Warmup
	}
	opt.ShapeAll = req.ShapeAll
	if req.CPUHours < 0 || req.SampleEvery < 0 {
		return usageError("-cpu-hours and -sample-every must not be negative")
	}
	opt.CPUBudget = time.Duration(req.CPUHours * float64(time.Hour))
	if req.Design != "" {
		if _, err := engine.DesignConfig(req.Design); err != nil {
			return usageError("-design: %v", err)
		}
		opt.Design = req.Design
	}
	if req.SampleEvery > 0 {
		opt.SampleEvery = req.SampleEvery
	}
	if req.HighNoise >= 0 {
		if req.HighNoise > 1 {
			return usageError("-high-noise is a share, from 0 to 1")
		}
		opt.HighNoiseShare = req.HighNoise
	}
	opt.Classes, opt.Styles = req.Classes, req.Styles
	if req.InputPerturb < 0 || req.InputPerturb > 1 {
		return usageError("-input-perturb is a share of the noise, from 0 to 1 (0.1 is usual)")
	}
	opt.InputPerturb = req.InputPerturb
	if req.Align < 0 || req.Align > 100 || math.IsNaN(req.Align) {
		return usageError("-align is a weight from 0 to 100 (1 is a good start; 0: none)")
	}
	opt.Align = req.Align
	if req.GainedLR < 0 || req.GainedLR > 100 || math.IsNaN(req.GainedLR) {
		return usageError("-gained-lr multiplies the learning rate, from 0 to 100 (10 is a fast start; 0: 1)")
	}
	opt.GainedLRMult = req.GainedLR
	if req.RefAugment < 0 || req.RefAugment > 1 || math.IsNaN(req.RefAugment) {
		return usageError("-ref-augment is a share of the pictures, from 0 to 1 (0: none)")
	}
	opt.RefAugment = req.RefAugment
	start := time.Now()
	from := -1
	err := engine.Pretrain(ctx, opt, func(p engine.PretrainProgress) {
		if from < 0 {
			from, start = p.Step, time.Now() // a resumed run's rate counts from here
		}
		msg := p.Message
		if p.ImgPerS > 0 {
			msg = fmt.Sprintf("%.1f img/s %s", p.ImgPerS, msg)
		}
		progress.report(Progress{Stage: "pretrain", Step: p.Step, Total: p.Total, From: from, Loss: p.Loss, Elapsed: time.Since(start), Message: msg})
	})
	if errors.Is(err, engine.ErrRunExists) {
		return usageError("%v", err)
	}
	return err
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

// writeJSON prints v to the output as indented JSON (the -json flags).
func (a *App) writeJSON(v any) error {
	enc := json.NewEncoder(a.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Bench measures the engine on this machine and prints the result.
func (a *App) Bench(ctx context.Context, req BenchRequest, progress ProgressFunc) error {
	start := time.Now()
	opt := engine.BenchOptions{Batch: req.Batch, Steps: req.Steps, Replicas: req.Replicas}
	var err error
	if opt.Model, err = benchModel(req.Config); err != nil {
		return err
	}
	opt.ModelName = cmp.Or(req.Config, "reference")
	res, err := engine.Bench(ctx, opt, func(stage string, step, total int) {
		progress.report(Progress{Stage: stage, Step: step, Total: total, Elapsed: time.Since(start)})
	})
	if err != nil {
		return err
	}
	if req.JSON {
		return a.writeJSON(res)
	}
	_, err = fmt.Fprint(a.Out, res.String())
	return err
}

// benchModel is the network bench trains: "reference" or "" (the
// benchmarks' model) or "base" (the architecture pretrain trains).
func benchModel(name string) (model.Config, error) {
	switch name {
	case "", "reference":
		return model.Reference(), nil
	case "tiny":
		return model.Tiny(), nil
	case "base":
		atlas, err := dataset.LoadAtlas()
		if err != nil {
			return model.Config{}, err
		}
		return engine.EmbeddedConfig(dataset.NewTokenizer(atlas, dataset.DefaultReserved)), nil
	}
	return model.Config{}, usageError("-config is reference, base or tiny, not %q", excerpt(name))
}

// Concepts manages the library: list, import FILE, export NAME FILE
// [FORMAT], rm NAME (to the trash; restorable).
func (a *App) Concepts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("concepts needs a subcommand: list, import FILE, export NAME FILE or rm NAME")
	}
	want := map[string][2]int{"list": {0, 0}, "import": {1, 1}, "export": {2, 3}, "rm": {1, 1}}
	n, ok := want[args[0]]
	if !ok {
		return usageError("unknown concepts subcommand %q (list, import, export, rm)", args[0])
	}
	if got := len(args) - 1; got < n[0] || got > n[1] {
		return usageError("concepts %s takes %d argument(s), got %d", args[0], n[0], got)
	}
	if args[0] == "list" {
		entries, err := a.Library.List()
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			fmt.Fprintf(a.Out, "no concepts yet in %s\n", a.Library.Dir)
		}
		for _, e := range entries {
			if e.Err != nil {
				fmt.Fprintf(a.Out, "%s\t%d bytes\tunreadable: %v\n", e.Name, e.Size, e.Err)
				continue
			}
			fmt.Fprintf(a.Out, "%s*\t%s\t%s\t%d bytes\t%s\n", e.Name, e.Method, e.Class, e.Size, e.Path)
		}
		return nil
	}
	lib, err := store.OpenLibrary(a.Library.Dir)
	if err != nil {
		return err
	}
	defer lib.Close()
	switch args[0] {
	case "import":
		opt := store.ImportOptions{}
		if b, err := a.base(""); err == nil {
			opt.BaseID, opt.TextWidth = b.ID(), b.Cfg.TextDim
		}
		e, err := lib.Import(args[1], opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.Out, "imported %s* (%s)\n", e.Name, e.Method)
	case "export":
		format := store.FormatConcept
		if len(args) == 4 {
			format = store.Format(args[3])
		}
		if err := lib.Export(args[1], args[2], format); err != nil {
			return err
		}
		fmt.Fprintf(a.Out, "exported %s* to %s\n", args[1], args[2])
	case "rm":
		if err := lib.Delete(args[1]); err != nil {
			return err
		}
		fmt.Fprintf(a.Out, "moved %s* to the trash (%s)\n", args[1], lib.TrashDir())
	}
	return nil
}

// DefaultLayout is the layout guidance of generation and evaluation
// unless a request says otherwise.
const DefaultLayout = engine.DefaultLayout

// DefaultGuidance is the classifier-free guidance scale of generation
// (engine.DefaultGuidance).
const DefaultGuidance = engine.DefaultGuidance

// namedImage is a concept set's warning about "image N" with the file's
// name in its place, as the user knows it.
func namedImage(w string, loaded []store.LoadedImage) string {
	var n int
	if _, err := fmt.Sscanf(w, "image %d:", &n); err != nil || n < 1 || n > len(loaded) {
		return w
	}
	prefix := fmt.Sprintf("image %d:", n)
	if !strings.HasPrefix(w, prefix) {
		return w
	}
	return filepath.Base(loaded[n-1].Path) + ":" + strings.TrimPrefix(w, prefix)
}

// imageProblem names the file a concept image's problem is about, and
// where nothing could be cut out of a photo, says what to do about it.
func imageProblem(err error, loaded []store.LoadedImage) error {
	var ie *dataset.ImageError
	if !errors.As(err, &ie) || ie.Index >= len(loaded) {
		return err
	}
	msg := fmt.Sprintf("%s: %v", filepath.Base(loaded[ie.Index].Path), ie.Err)
	if nothingToCut(err) {
		msg += ". To use this photo, cut the thing out in the window: New concept…, then Adjust… under the picture, and drag a box around it"
	}
	return errors.New(msg)
}
