// Command conceptstudio teaches a small text-to-image diffusion model new
// personal concepts and composes them into new pictures.
//
// main only wires: it parses flags, picks the subcommand, hooks Ctrl-C to a
// context and hands the work to package app (or opens the window through
// package ui). Everything a command does is an app use case.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"conceptstudio/app"
	"conceptstudio/ui"
)

// command is one subcommand: its flags are declared by setup, which returns
// the function that runs it once the flags are parsed.
type command struct {
	summary string
	usage   string
	setup   func(fs *flag.FlagSet, a *app.App) func(ctx context.Context, args []string) error
}

var commands = map[string]command{
	"generate": {
		summary: "generate images from a prompt",
		usage:   "generate -prompt TEXT [-concept FILE]... [-gate NAME=VALUE]... [-seed N] [-n N] [-steps N] [-guidance F] [-layout F] [-region NAME=x,y,w,h]... [-from PNG] -out DIR",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.GenerateRequest
			var concepts, gates, regions listFlag
			fs.StringVar(&req.Prompt, "prompt", "", "the prompt `text`; pseudo-words are written name*")
			fs.Var(&concepts, "concept", "a concept `file` to load (repeatable)")
			fs.Var(&gates, "gate", "per-concept gate `NAME=VALUE` (repeatable): Perfusion's β, a LoRA's multiplier, an instant concept's strength")
			fs.Int64Var(&req.Seed, "seed", 1, "random seed: the same seed gives the same image")
			fs.IntVar(&req.N, "n", 4, "number of images")
			fs.IntVar(&req.Steps, "steps", 25, "sampler steps")
			fs.Float64Var(&req.Guidance, "guidance", app.DefaultGuidance, "classifier-free guidance scale")
			fs.Float64Var(&req.Layout, "layout", app.DefaultLayout, "layout guidance for prompts relating two things (\"a cat on the left of a car\"): how strongly each goes to its side (0: none)")
			fs.Var(&regions, "region", "steer a thing of the prompt into a box: `NAME=x,y,w,h` in fractions of the picture from its top left, NAME a pseudo-word without its star or a word of the prompt (repeatable, up to 4)")
			fs.StringVar(&req.OutDir, "out", "", "output `dir` for the PNGs")
			fs.StringVar(&req.ModelPath, "model", "", "base model `file` (default: the embedded one)")
			fs.StringVar(&req.From, "from", "", "start from the settings stored in an exported `PNG`")
			fs.BoolVar(&req.ExactPerfusion, "exact", false, "several Perfusion concepts: use the exact C⁻¹-orthonormal form instead of the sum")
			fs.BoolVar(&req.GlobalLocking, "global", false, "Perfusion global locking: keys from the prompt with each concept word replaced by its class word")
			fs.BoolVar(&req.Attention, "attention", false, "also write each image's attention map per prompt word (where the image attended to it) under OUT/attention/")
			return func(ctx context.Context, _ []string) error {
				req.Concepts, req.Gates = concepts, gates
				for _, r := range regions {
					reg, err := app.ParseRegion(r)
					if err != nil {
						return err
					}
					req.Regions = append(req.Regions, reg)
				}
				fs.Visit(func(f *flag.Flag) {
					req.SeedSet = req.SeedSet || f.Name == "seed"
					req.StepsSet = req.StepsSet || f.Name == "steps"
					req.GuidanceSet = req.GuidanceSet || f.Name == "guidance"
					req.LayoutSet = req.LayoutSet || f.Name == "layout"
				})
				return a.Generate(ctx, req, a.Progress("generate"))
			}
		},
	},
	"train": {
		summary: "teach the model a new concept from images",
		usage:   "train -method " + strings.Join(app.MethodNames(), "|") + " -name NAME -class WORDS [-steps N] [-global] -out FILE IMAGE... | train -method e4t -encoder FILE -name NAME -class WORDS -out FILE IMAGE | train -method METHOD -init e4t -encoder FILE ...",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.TrainRequest
			fs.StringVar(&req.Method, "method", "perfusion", "personalization `method`: "+strings.Join(app.MethodNames(), ", "))
			fs.StringVar(&req.Name, "name", "", "the concept's `name`; the prompt uses it as name*")
			fs.StringVar(&req.Class, "class", "", "the super-category `words`, e.g. \"teddy bear\"")
			fs.IntVar(&req.Steps, "steps", 0, "training steps (0: the method's default)")
			fs.BoolVar(&req.GlobalLocking, "global", false, "Perfusion: global key locking (keys from the caption with the concept word read as its class word) instead of local")
			fs.StringVar(&req.EncoderPath, "encoder", "", "-method e4t: the encoder `file` (made by the encoder command for this base model)")
			fs.StringVar(&req.Init, "init", "", "start the word where the encoder puts it: e4t (needs -encoder)")
			fs.BoolVar(&req.TrainKeys, "trained-keys", false, "Perfusion ablation: train the key targets instead of locking them to the class word's keys")
			fs.StringVar(&req.OutPath, "out", "", "concept `file` to write")
			fs.Int64Var(&req.Seed, "seed", 1, "random seed")
			fs.StringVar(&req.ModelPath, "model", "", "base model `file` (default: the embedded one)")
			return func(ctx context.Context, images []string) error {
				req.Images = images
				return a.Train(ctx, req, a.Progress("train"))
			}
		},
	},
	"eval": {
		summary: "measure a concept's identity and prompt fidelity, or compare the methods",
		usage:   "eval -concept FILE [-json] [-beta B] IMAGE... | eval -base [-prompts N] [-json] | eval -shape [-classes LIST] [-seeds N] [-sample-steps N] [-guidance F] [-sampler ddim|euler_a] [-from-truth F] [-no-refs] [-out GRID.png] | eval -regions [-prompts N] [-seeds N] [-layout F] [-out GRID.png] | eval -judge | eval -pareto -concept FILE -out PLOT.png IMAGE... | eval -compare -out DIR [-methods " + strings.Join(app.CompareMethods, ",") + "] [-concepts teddy,teapot,dog,couch] [-images 4] [-steps N]",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.EvalRequest
			var methods, concepts, classes string
			fs.StringVar(&req.ConceptPath, "concept", "", "concept `file` to evaluate")
			fs.BoolVar(&req.JSON, "json", false, "print the result as JSON")
			fs.BoolVar(&req.Base, "base", false, "evaluate the base model instead of a concept")
			fs.IntVar(&req.Prompts, "prompts", 200, "how many held-out prompts -base uses; for concepts, at most this many of the 24 fixed prompts")
			fs.Float64Var(&req.Beta, "beta", 0, "Perfusion gate for the generated images (0: the concept's own)")
			fs.StringVar(&req.ModelPath, "model", "", "base model `file` (default: the embedded one)")
			fs.IntVar(&req.SampleSteps, "sample-steps", 25, "sampler steps per evaluation image")
			fs.Float64Var(&req.Layout, "layout", app.DefaultLayout, "layout guidance strength for prompts relating two things (0: none)")
			fs.Float64Var(&req.Guidance, "guidance", app.DefaultGuidance, "-shape: classifier-free guidance scale")
			fs.StringVar(&req.Sampler, "sampler", "ddim", "-shape: the sampler, ddim or euler_a")
			fs.Float64Var(&req.FromTruth, "from-truth", 0, "-shape: start each image from its ground truth noised to share `F` of the schedule (0: from noise), to see where a model loses shapes")
			fs.BoolVar(&req.NoRefs, "no-refs", false, "-shape: draw a model that takes reference pictures (the refs design) without them")
			fs.BoolVar(&req.Shape, "shape", false, "draw \"a big CLASS on a white background\" for -classes, -seeds images each, and score them with the colour-blind shape judge beside the ground truth and its controls; -out writes the grid (PNG)")
			fs.BoolVar(&req.Regions, "regions", false, "draw scenes of 2, 3 and 4 things in boxes (-prompts scenes per layout, -seeds images each) with and without the boxes steering them, and score each thing's place with the shape judge beside the ground truth and controls; -out writes the grid (PNG)")
			fs.StringVar(&classes, "classes", "", "-shape: the classes, comma-separated, or all (default: 24 varied classes)")
			fs.IntVar(&req.Seeds, "seeds", 4, "-shape: images per class; -judge: scenes per class")
			fs.BoolVar(&req.Judge, "judge", false, "measure the colour-blind shape judge (and the colour oracle) on ground-truth renders and on controls: colour-only ellipses, hue-rotated sprites, shuffled tiles")
			fs.BoolVar(&req.Pareto, "pareto", false, "sweep the Perfusion concept's gate β over 0.4-0.8 and plot identity against prompt fidelity to -out (PNG; the numbers go next to it as .json)")
			fs.BoolVar(&req.Compare, "compare", false, "train every method on every example concept into -out DIR and write results.json, table.md and pareto-NAME.png there (resumable: run it again to continue)")
			fs.StringVar(&req.Out, "out", "", "-pareto: the plot `file` (.png); -shape: the grid `file` (.png); -compare: the run's `dir`")
			fs.StringVar(&methods, "methods", strings.Join(app.CompareMethods, ","), "-compare: the methods, comma-separated")
			fs.StringVar(&concepts, "concepts", strings.Join(app.CompareConcepts, ","), "-compare: the example concepts, comma-separated, paired in twos for the two-concept score; the first gets the gate sweep")
			fs.StringVar(&req.ExamplesDir, "examples", "examples", "-compare: the `dir` holding the example concepts' folders of PNGs")
			fs.IntVar(&req.TrainImages, "images", 4, "-compare: train from the first `N` example images of each concept (all are references)")
			fs.IntVar(&req.Steps, "steps", 0, "-compare: training steps of every concept (0: each method's default)")
			fs.IntVar(&req.PairSeeds, "pair-seeds", 2, "-compare: images per two-concept prompt")
			return func(ctx context.Context, images []string) error {
				req.Images = images
				req.Methods, req.Concepts = splitList(methods), splitList(concepts)
				req.Classes = splitList(classes)
				return a.Eval(ctx, req, a.Progress("eval"))
			}
		},
	},
	"pretrain": {
		summary: "train the base model (resumable)",
		usage:   "pretrain [-resume] [-dir DIR] [-steps N] [-for N] [-design NAME [-autoencoder FILE]] [-cpu-hours F] [-sample-every N] [-batch N] [-high-noise F] [-init FILE [-lr F] [-warmup N]] [-shape-all] [-classes LIST] [-styles LIST] [-input-perturb F] [-align F] [-gained-lr F] [-export FILE [-raw]]",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.PretrainRequest
			var classes, styles string
			fs.StringVar(&req.Dir, "dir", "pretrain-run", "run `dir` for checkpoints, samples and the loss curve")
			fs.BoolVar(&req.Resume, "resume", false, "continue from the newest checkpoint in -dir")
			fs.IntVar(&req.Steps, "steps", 0, "total optimizer steps of the run (0: the default)")
			fs.IntVar(&req.StopAfter, "for", 0, "train at most `N` steps in this sitting, then checkpoint and stop")
			fs.IntVar(&req.Batch, "batch", 0, "batch size (0: the default)")
			fs.StringVar(&req.Design, "design", "", "architecture of a new run: "+designList()+" (default: base)")
			fs.Float64Var(&req.CPUHours, "cpu-hours", 0, "stop the run once its training has used `F` hours of CPU time, all sittings and threads together (0: no limit)")
			fs.IntVar(&req.SampleEvery, "sample-every", 0, "steps between sample grids and shape scores (shape.csv) (0: 1000)")
			fs.StringVar(&req.InitFrom, "init", "", "start a new run from this model `file`'s weights (another input's way in and out start fresh; -design deep grows a one-block model, its added blocks changing nothing at first)")
			fs.StringVar(&req.Autoencoder, "autoencoder", "", "a latent design's autoencoder `file` (made by the autoencoder command; a new run keeps a copy)")
			fs.Float64Var(&req.LR, "lr", 0, "peak learning rate `F` of a new run (0: 4e-4; a warm start from a trained model wants less, e.g. 1e-4)")
			fs.IntVar(&req.Warmup, "warmup", 0, "learning-rate warm-up `steps` of a new run (0: 500)")
			fs.BoolVar(&req.ShapeAll, "shape-all", false, "score all 120 classes with each sample grid instead of the grid's 24 (5× the sampling)")
			fs.Float64Var(&req.Align, "align", 0, "align the UNet's middle block to the colour oracle's features of the clean picture with weight `F` (REPA; 1 is a good start; pixel designs; 0: none)")
			fs.Float64Var(&req.GainedLR, "gained-lr", 0, "multiply the learning rate of the paths a model grown with -init gains (frames, parts, pooled prompt) by `F` (they start at zero; 0: 1)")
			fs.Float64Var(&req.RefAugment, "ref-augment", 0, "refs designs: draw a share `F` of the pictures given references with their things in a random hue, some as another class than the caption names, so that only the references say what they look like (0: none)")
			fs.Float64Var(&req.InputPerturb, "input-perturb", 0, "train on inputs noised with ε + `F`·ξ against the target of ε (DDPM-IP, against the sampler's drift; 0.1 is usual; 0: none)")
			fs.StringVar(&classes, "classes", "", "train on these classes only (comma-separated `LIST`, e.g. \"cat,dog,teddy bear\"; the shape probe then scores them)")
			fs.StringVar(&styles, "styles", "", "train on these sprite styles only (comma-separated `LIST`: twemoji, noto)")
			fs.Float64Var(&req.HighNoise, "high-noise", -1, "share `F` of timesteps drawn from the noisiest tenth, where the prompt must place things (negative: the default)")
			fs.StringVar(&req.Export, "export", "", "write the run's EMA model (F16, with Perfusion statistics) to `file` and stop; engine/basemodel/base.safetensors is the embedded one")
			fs.BoolVar(&req.Raw, "raw", false, "with -export: the newest checkpoint's weights, not their moving average (shows sooner what the run is learning)")
			return func(ctx context.Context, _ []string) error {
				req.Classes, req.Styles = splitList(classes), splitList(styles)
				return a.Pretrain(ctx, req, a.Progress("pretrain"))
			}
		},
	},
	"autoencoder": {
		summary: "train the latent design's autoencoder (64×64 pictures ↔ 16×16×4 latents), or check how many shapes it keeps",
		usage:   "autoencoder -dir DIR [-steps N] [-for N] [-batch N] [-cpu-hours F] | autoencoder -check -dir DIR [-seeds N] [-out GRID.png] [-json]",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.AutoencoderRequest
			fs.StringVar(&req.Dir, "dir", "", "run `dir`: checkpoint and autoencoder.safetensors (a folder with a checkpoint is resumed)")
			fs.IntVar(&req.Steps, "steps", 0, "length of the run's schedule in steps (0: 20000)")
			fs.IntVar(&req.StopAfter, "for", 0, "train at most `N` steps in this sitting, then checkpoint and stop")
			fs.IntVar(&req.Batch, "batch", 0, "renders per step (0: 16)")
			fs.Float64Var(&req.CPUHours, "cpu-hours", 0, "stop once the run's training has used `F` hours of CPU time, all sittings together (0: no limit)")
			fs.StringVar(&req.Config, "config", "default", "the autoencoder's size: default (64×64 ↔ 16×16×4) or tiny (tests)")
			fs.BoolVar(&req.Check, "check", false, "measure the folder's autoencoder: the shape judge on renders straight and through it, and the reconstruction error")
			fs.IntVar(&req.Seeds, "seeds", 0, "-check: renders per class (0: 2)")
			fs.StringVar(&req.Out, "out", "", "-check: write renders and reconstructions side by side to this `file` (.png)")
			fs.BoolVar(&req.JSON, "json", false, "-check: print the result as JSON")
			return func(ctx context.Context, _ []string) error {
				return a.Autoencoder(ctx, req, a.Progress("autoencoder"))
			}
		},
	},
	"encoder": {
		summary: "pretrain the instant method's encoder (e4t: a concept from one picture) for a base model",
		usage:   "encoder -dir DIR [-model FILE] [-steps N] [-for N] [-batch N] [-cpu-hours F] [-config tiny] [-values] [-unet] | encoder -dir DIR [-model FILE] -attach OUT",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.EncoderRequest
			fs.StringVar(&req.Dir, "dir", "", "run `dir`: checkpoint and encoder.safetensors (a folder with a checkpoint is resumed)")
			fs.StringVar(&req.ModelPath, "model", "", "base model `file` (default: the embedded one)")
			fs.IntVar(&req.Steps, "steps", 0, "length of the run's schedule in steps (0: 4000)")
			fs.IntVar(&req.StopAfter, "for", 0, "train at most `N` steps in this sitting, then checkpoint and stop")
			fs.IntVar(&req.Batch, "batch", 0, "objects per step (0: 16)")
			fs.Float64Var(&req.CPUHours, "cpu-hours", 0, "stop once the run's training has used `F` hours of CPU time, all sittings together (0: no limit)")
			fs.StringVar(&req.Config, "config", "default", "the encoder's size: default or tiny (tests)")
			fs.BoolVar(&req.Values, "values", false, "add a value head: offsets to the concept word's value in every cross-attention layer (the e4t concept then carries Perfusion's value targets)")
			fs.BoolVar(&req.UNet, "unet", false, "give the encoder the frozen UNet's features of the noised picture as a second input")
			fs.StringVar(&req.Attach, "attach", "", "write the base model with the folder's encoder in it to this `file` (F16; the window then offers the instant method with it)")
			return func(ctx context.Context, _ []string) error {
				return a.Encoder(ctx, req, a.Progress("encoder"))
			}
		},
	},
	"dataset": {
		summary: "build the emoji sprite atlas from pinned npm packages",
		usage:   "dataset [-out DIR] [-cache DIR]",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.DatasetRequest
			fs.StringVar(&req.OutDir, "out", ".", "repository root `dir` to write the atlas and examples into")
			fs.StringVar(&req.CacheDir, "cache", "", "`dir` for the npm tarballs (default: the user cache folder)")
			return func(ctx context.Context, _ []string) error {
				return a.Dataset(ctx, req, a.Progress("dataset"))
			}
		},
	},
	"bench": {
		summary: "measure the engine's speed on this machine",
		usage:   "bench [-json] [-batch N] [-steps N] [-config reference|base|tiny]",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			var req app.BenchRequest
			fs.BoolVar(&req.JSON, "json", false, "print the result as JSON")
			fs.IntVar(&req.Batch, "batch", 32, "training batch size")
			fs.IntVar(&req.Steps, "steps", 5, "timed training steps")
			fs.IntVar(&req.Replicas, "replicas", 0, "model replicas sharing a batch, one per core when 0")
			fs.StringVar(&req.Config, "config", "reference", "the trained `network`: reference (the benchmarks' model, documented in engine/model) base (the shipped model's architecture) or tiny (a check that bench runs)")
			return func(ctx context.Context, _ []string) error {
				return a.Bench(ctx, req, a.Progress("bench"))
			}
		},
	},
	"concepts": {
		summary: "manage the concept library",
		usage:   "concepts list | import FILE | export NAME FILE [concept|diffusers|a1111|kohya] | rm NAME",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				return a.Concepts(ctx, args)
			}
		},
	},
	"version": {
		summary: "print the version",
		usage:   "version",
		setup: func(fs *flag.FlagSet, a *app.App) func(context.Context, []string) error {
			return func(context.Context, []string) error {
				_, err := fmt.Fprintln(a.Out, app.VersionString())
				return err
			}
		},
	},
}

// splitList reads a comma-separated flag value.
// designList names the pretraining designs for -design's help.
func designList() string {
	var names []string
	for _, d := range app.PretrainDesigns() {
		names = append(names, d[0])
	}
	return strings.Join(names, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one invocation and returns the process exit code:
// 0 success, 1 a failure explained on stderr, 2 bad usage, 130 interrupted.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Global flags come before the command.
	global := flag.NewFlagSet("conceptstudio", flag.ContinueOnError)
	global.SetOutput(stderr)
	library := global.String("library", "", "concept library `dir` (default: $"+"CONCEPTSTUDIO_LIBRARY or the user data folder)")
	// For automated runs of the window (TestWindowEndToEnd); not in the
	// usage text.
	var winOpt ui.Options
	global.StringVar(&winOpt.ExportDir, "export-dir", "", "window: export into `dir` without asking")
	global.IntVar(&winOpt.TrainSteps, "train-steps", 0, "window: training steps of every concept (0: the method's default)")
	global.Usage = func() { usage(stderr) }
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	args = global.Args()
	a, err := app.New(app.Options{Out: stdout, Err: stderr, LibraryDir: *library})
	if err != nil {
		fmt.Fprintln(stderr, "conceptstudio:", app.Explain(err))
		return 1
	}
	if len(args) == 0 {
		return report(stderr, "conceptstudio", ui.Run(ctx, a, winOpt))
	}
	if winOpt != (ui.Options{}) {
		fmt.Fprintln(stderr, "conceptstudio: -export-dir and -train-steps are for the window: give them without a command")
		return 2
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "conceptstudio: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("conceptstudio "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: conceptstudio %s\n\n%s.\n\nflags:\n", cmd.usage, cmd.summary)
		fs.PrintDefaults()
	}
	exec := cmd.setup(fs, a)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	return report(stderr, "conceptstudio "+name, exec(ctx, fs.Args()))
}

// report turns a command's error into one line on stderr and an exit code.
func report(stderr io.Writer, who string, err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, app.ErrUsage):
		fmt.Fprintf(stderr, "%s: %s (see -h)\n", who, app.Explain(err))
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", who)
		return 130
	default:
		fmt.Fprintf(stderr, "%s: %s\n", who, app.Explain(err))
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Concept Studio %s: teach a text-to-image model your own things.\n\n", app.Version)
	fmt.Fprintln(w, "usage: conceptstudio [-library DIR] [command [flags]]\n\n  conceptstudio                 open the window")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  conceptstudio %-15s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEach command has -h.")
}
