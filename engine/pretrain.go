package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gorgonia.org/tensor"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/eval"
	"conceptstudio/engine/model"
	"conceptstudio/engine/optim"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// PretrainOptions configure base-model training. Zero values take the
// defaults in DefaultPretrain.
type PretrainOptions struct {
	Dir      string
	Resume   bool
	Steps    int
	Batch    int
	LR       float64
	Warmup   int
	EMADecay float64
	MinSNR   float64 // min-SNR-γ loss weighting (0: off)
	// KeepHighNoise floors the min-SNR weights of high-noise samples at
	// plain v-prediction's (diffusion.FlooredSNRWeight). Without it the
	// run of 2026-11-25 ignored position words entirely at step 10000
	// (same seed, "on the left" vs "on the right": mean pixel difference
	// 0.15/255): min-SNR weighs a v-prediction sample at SNR/(SNR+1), so
	// the steps where only the prompt can say where things go counted
	// ~1% as much as the rest. Switched on in that run at step 10.8k.
	KeepHighNoise bool
	// HighNoiseShare is the share of timesteps drawn from the noisiest
	// tenth (diffusion.RandomTimestepsHigh) instead of uniformly: the
	// steps where the prompt must place things. TestPretrainRecipeLearnsPlacement
	// shows the need: with uniform timesteps (and the floor above) a small
	// UNet of the base's design trained 500 steps on "on the left/right"
	// squares put them in the same place for both words; with half the
	// steps from the noisiest tenth it placed them apart. The run of
	// 2026-11-25 switched to 0.4 at step 12.5k.
	HighNoiseShare float64
	// InputPerturb trains on inputs noised a little more than the target
	// says (DDPM-IP, lossWeighting.perturb; 0: none): the sampler feeds
	// the network its own slightly wrong pictures, and a model trained
	// only on exact ones drifts along the way.
	InputPerturb float64
	// Align is the weight of representation alignment (REPA, Yu et al.
	// 2024; model.NetOptions.Align; 0: none): the UNet's middle block is
	// taught, through a small MLP that only training uses, to predict at
	// each place the colour oracle's last feature map of the clean
	// picture, so that what the network makes of a noisy picture is
	// what a classifier of the world sees in the clean one. 1 makes the
	// alignment's starting error weigh as much as a typical diffusion
	// loss (0.03). The shape judge, which measures the runs, is another
	// network (colour-blind), so it is not what the model is taught to
	// please. Pixel designs only.
	Align float64
	// LayoutLRMult multiplies the learning rate of the text layout path
	// (model.Config.TextLayout): the base run gained it at step 16655,
	// where the cosine schedule had already fallen to ~2.7e-4, and a path
	// that starts at zero on a run that late needs a faster start (small
	// UNets took ~1000 steps at 1e-3 to begin placing things).
	LayoutLRMult float64
	// GainedLRMult multiplies the learning rate of the other paths a
	// grown model gains (model.Config.Gainable: frames, frame parts, the
	// pooled prompt, position embeddings; 0: 1). They start at zero, and
	// at a warm start's rate (1e-4) a zero-started output layer grows by
	// about 1e-4 a step.
	GainedLRMult float64
	// RefAugment is the share of the pictures a refs design is given
	// references for whose things are drawn so that only the references
	// say what they look like (refAugment: a random hue, and some drawn
	// as another class than the caption names; 0: none).
	RefAugment      float64
	DropCaption     float64 // share of empty captions (classifier-free guidance)
	CheckpointEvery time.Duration
	SampleEvery     int // steps between sample grids
	StopAfter       int // train at most this many steps in this sitting (0: to the end), then checkpoint
	// CPUBudget ends the run once its training has used this much CPU
	// time (all sittings, every thread; 0: no limit), with a checkpoint,
	// a sample grid and a shape score: pilots of different designs get
	// the same compute.
	CPUBudget time.Duration
	// ShapeSeeds is the images per class of the shape score written with
	// each sample grid (EvalShape on GridClasses, judged colour-blind, to
	// shape.csv; 0: 2, negative: none).
	ShapeSeeds int
	// ShapeAll scores every class of the world (120) instead of the 24 of
	// the grid: 5× the sampling, for runs whose differences are a few
	// points (a warm start from the embedded model is already at ~0.3).
	ShapeAll bool
	Replicas int // model replicas sharing each batch (0: one per core); results do not depend on it
	// InitFrom starts a new run from a model file's weights (for example
	// the committed base model when a run folder is lost); the optimizer
	// starts afresh. Ignored when resuming.
	InitFrom string
	Seed     uint64
	Pred     diffusion.PredKind
	Config   *model.Config // nil: the design's (Design), or BaseConfig
	// Design names the architecture (PretrainDesigns; "": the base
	// design). A new run writes it to its folder's design file, and a
	// resumed run without a Config takes its architecture from there.
	Design string
	// Autoencoder is the model file of a latent design's autoencoder (a
	// new run copies it into its folder; a resumed run uses the copy).
	Autoencoder string
	// Classes narrows the world the run trains on to these names (nil:
	// every name of the atlas), and Styles to these sprite styles (nil:
	// both): pilots that ask whether a smaller world is drawn sooner. The
	// shape probe then scores the run's own classes. A resumed run keeps
	// the narrowing it started with unless the sitting sets another.
	Classes []string
	Styles  []string
}

// DefaultPretrain are the base model's training settings.
func DefaultPretrain() PretrainOptions {
	return PretrainOptions{
		Dir: "pretrain-run", Steps: 40000, Batch: 32, LR: 4e-4, Warmup: 500,
		EMADecay: 0.999, MinSNR: 5, KeepHighNoise: true, HighNoiseShare: 0.4, LayoutLRMult: 4, DropCaption: 0.1,
		CheckpointEvery: 5 * time.Minute, SampleEvery: 1000, Seed: 1, Pred: diffusion.VPrediction,
	}
}

// PretrainProgress is one report from Pretrain.
type PretrainProgress struct {
	Step, Total int
	Loss        float64 // mean over the last report interval
	ImgPerS     float64
	Message     string
}

// Files in a run folder.
const (
	checkpointFile = "checkpoint.safetensors"
	emaModelFile   = "model-ema.safetensors"
	lossCSVFile    = "loss.csv"
	shapeCSVFile   = "shape.csv"
	designFile     = "design"
	// autoencoderFile is a latent run's copy of its autoencoder.
	autoencoderFile = "autoencoder.safetensors"
)

// ErrRunExists means a run folder already holds a checkpoint and resume
// was not asked for (nothing is overwritten).
var ErrRunExists = errors.New("a training run already exists there")

// lossPoint is a smoothed loss at a step.
type lossPoint struct {
	Step int     `json:"s"`
	Loss float64 `json:"l"`
}

// trainState is what a checkpoint restores besides tensors.
type trainState struct {
	Step       int    `json:"step"`
	AdamStep   int    `json:"adam_step"`
	EMAUpdates int    `json:"ema_updates"`
	RNG        string `json:"rng"`
	Skipped    int    `json:"skipped"`
	// CPUSeconds is the CPU time the run's training has used, all
	// sittings together (sampling and scoring not counted).
	CPUSeconds float64     `json:"cpu_seconds,omitempty"`
	History    []lossPoint `json:"history"`
	Options    string      `json:"options"`
	Gained     []string    `json:"-"` // weights the model has and the checkpoint had not
}

// Pretrain trains the base model on the emoji world, checkpointing every
// few minutes and when ctx is cancelled, so a run resumes exactly where it
// stopped (weights, optimizer, EMA, random state, step).
func Pretrain(ctx context.Context, opt PretrainOptions, progress func(PretrainProgress)) error {
	def := DefaultPretrain()
	fill := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	fill(&opt.Steps, def.Steps)
	fill(&opt.Batch, def.Batch)
	fill(&opt.Warmup, def.Warmup)
	fill(&opt.SampleEvery, def.SampleEvery)
	if opt.LR == 0 {
		opt.LR = def.LR
	}
	if opt.EMADecay == 0 {
		opt.EMADecay = def.EMADecay
	}
	if opt.CheckpointEvery == 0 {
		opt.CheckpointEvery = def.CheckpointEvery
	}
	if opt.Dir == "" {
		opt.Dir = def.Dir
	}
	if progress == nil {
		progress = func(PretrainProgress) {}
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	if len(opt.Classes) > 0 || len(opt.Styles) > 0 {
		// Before anything is written.
		if _, _, err := worldSprites(atlas, opt.Classes, opt.Styles); err != nil {
			return err
		}
	}
	tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
	ckpt := filepath.Join(opt.Dir, checkpointFile)
	_, statErr := os.Stat(ckpt)
	exists := statErr == nil
	if exists && !opt.Resume {
		return fmt.Errorf("%w in %s: pass -resume to continue it, or choose another -dir", ErrRunExists, opt.Dir)
	}
	if !exists && opt.Resume && !errors.Is(statErr, fs.ErrNotExist) {
		return statErr
	}
	// A resumed run keeps its recipe, known before anything is built (its
	// alignment, for one, shapes the networks and the checkpoint's weights).
	var kept []string
	if exists {
		stored, err := storedOptions(ckpt)
		if err != nil {
			return fmt.Errorf("resuming from %s: %w", ckpt, err)
		}
		kept = keepRecipe(&opt, stored, def)
	}
	design := cmp.Or(opt.Design, "base")
	if exists {
		// A run keeps its design; one without a design file is a base run.
		stored := "base"
		if b, err := os.ReadFile(filepath.Join(opt.Dir, designFile)); err == nil {
			stored = strings.TrimSpace(string(b))
		}
		if opt.Design != "" && opt.Design != stored {
			return fmt.Errorf("the run in %s is of the %s design, not %s", opt.Dir, stored, opt.Design)
		}
		design = stored
	}
	cfg := BaseConfig(tok)
	d, ok := pretrainDesigns[design]
	if !ok {
		return fmt.Errorf("unknown design %q", design)
	}
	cfg = d.config(tok)
	if d.latent && opt.Align > 0 {
		return fmt.Errorf("alignment (-align) works on pixel designs only, not on the %s design", design)
	}
	var ae *autoenc.Model
	if d.latent {
		// The run keeps a copy of its autoencoder, so a resume needs no flag.
		kept := filepath.Join(opt.Dir, autoencoderFile)
		from := kept
		if !exists {
			if opt.Autoencoder == "" {
				return fmt.Errorf("the %s design trains on an autoencoder's latents: pass -autoencoder FILE (made by the autoencoder command)", design)
			}
			from = opt.Autoencoder
		}
		if ae, err = autoenc.Load(from); err != nil {
			return fmt.Errorf("the run's autoencoder: %w", err)
		}
		defer ae.Close()
		if !exists {
			if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
				return err
			}
			data, err := os.ReadFile(from)
			if err != nil {
				return err
			}
			if err := safefile.Write(kept, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return err
			}
		}
		cfg = latentConfig(cfg, ae.Record.Config)
	} else if opt.Autoencoder != "" {
		return fmt.Errorf("-autoencoder is for latent designs; the %s design draws pixels", design)
	}
	if opt.Config != nil {
		cfg = *opt.Config
		cfg.Vocab, cfg.MaxLen = len(tok.Vocab()), dataset.MaxCaptionTokens
		if ae != nil {
			cfg = latentConfig(cfg, ae.Record.Config)
		}
	}
	if err := os.MkdirAll(filepath.Join(opt.Dir, "samples"), 0o755); err != nil {
		return err
	}
	if !exists {
		if err := safefile.Write(filepath.Join(opt.Dir, designFile), func(w io.Writer) error {
			_, err := io.WriteString(w, design+"\n")
			return err
		}); err != nil {
			return err
		}
	}

	base, err := NewBase(cfg, tok, opt.Pred, opt.Seed)
	if err != nil {
		return err
	}
	base.AE = ae
	netOpt := model.NetOptions{}
	var aligner *eval.Oracle
	alignUp := 1 // the oracle's pictures are this many times the design's side
	if opt.Align > 0 {
		if aligner, err = eval.LoadOracle(); err != nil {
			return err
		}
		c := aligner.Record.Config
		g := cfg.GuideGrid()
		if c.ImageSize%cfg.ImageSize != 0 {
			return fmt.Errorf("alignment: the oracle sees %d-pixel pictures, the design draws %d", c.ImageSize, cfg.ImageSize)
		}
		alignUp = c.ImageSize / cfg.ImageSize
		_, side, ch, err := aligner.PlaceFeatures(make([]float32, c.ImageSize*c.ImageSize*3), 1)
		if err != nil {
			return err
		}
		if side != g {
			return fmt.Errorf("alignment: the oracle's feature map is %d×%d, the UNet's middle %d×%d", side, side, g, g)
		}
		n1 := cfg.ImageSize * cfg.ImageSize * cfg.InChannels
		netOpt.Align, netOpt.AlignScale = ch, math.Sqrt(opt.Align*alignLossLevel*float64(n1)/float64(g*g))
	}
	reps, err := newReplicas(base.W, cfg, opt.Batch, opt.Replicas, netOpt, func(name string) int {
		switch t, _ := base.W.Lookup(name); {
		case strings.HasPrefix(name, model.TextLayoutScope+"."):
			return 2
		case opt.GainedLRMult > 0 && opt.GainedLRMult != 1 && cfg.Gainable(name):
			return 3 // only when asked: the default keeps each weight's decay as it was
		case len(t.Shape()) == 1:
			return 1 // no weight decay on biases and norm scales
		}
		return 0
	})
	if err != nil {
		return err
	}
	defer reps.Close()
	params := reps
	layoutLR := cmp.Or(opt.LayoutLRMult, 1)
	gainedLR := cmp.Or(opt.GainedLRMult, 1)
	adam := optim.NewAdamW(optim.Group{LR: opt.LR, WeightDecay: 0.01}, optim.Group{LR: opt.LR}, optim.Group{LR: opt.LR * layoutLR, WeightDecay: 0.01}, optim.Group{LR: opt.LR * gainedLR})
	ema, err := optim.NewEMA(params.Params, opt.EMADecay)
	if err != nil {
		return err
	}
	ema.Warmup = true
	pcg := rand.NewPCG(opt.Seed, 0xDA7A)
	rng := rand.New(pcg)
	st := trainState{}
	if !exists && opt.InitFrom != "" {
		from, err := LoadBaseFile(opt.InitFrom)
		if err != nil {
			return err
		}
		fresh, added, err := copyWeights(base, from)
		if err != nil {
			return fmt.Errorf("starting from %s: %w", opt.InitFrom, err)
		}
		if err := ema.Load(weightsState(base), 0); err != nil {
			return err
		}
		msg := "starting from the weights in " + opt.InitFrom
		if len(fresh) > 0 {
			msg += "; its input differs, so these start fresh: " + strings.Join(fresh, ", ")
		}
		if len(added) > 0 {
			msg += "; these blocks are added, set so that the model draws what it drew at first: " + strings.Join(added, ", ")
		}
		progress(PretrainProgress{Total: opt.Steps, Message: msg})
	}
	if exists {
		if st, err = loadCheckpoint(ckpt, base, adam, ema, pcg); err != nil {
			return fmt.Errorf("resuming from %s: %w", ckpt, err)
		}
		msg := fmt.Sprintf("resumed at step %d", st.Step)
		if len(kept) > 0 {
			msg += "; keeping the run's " + strings.Join(kept, ", ")
		}
		if len(st.Gained) > 0 {
			msg += fmt.Sprintf("; the model gained %d weights, set so that its output is unchanged at first (%s)", len(st.Gained), strings.Join(st.Gained, ", "))
		}
		progress(PretrainProgress{Step: st.Step, Total: opt.Steps, Message: msg})
	}
	optsJSON, _ := json.Marshal(opt)
	st.Options = string(optsJSON)

	renderer := dataset.NewRenderer(atlas)
	sceneOpt := dataset.DefaultSceneOptions()
	probeClasses := GridClasses
	if opt.ShapeAll {
		probeClasses = atlas.Names()
	}
	if len(opt.Classes) > 0 || len(opt.Styles) > 0 {
		sprites, classes, err := worldSprites(atlas, opt.Classes, opt.Styles)
		if err != nil {
			return err
		}
		sceneOpt.Sprites = sprites
		if len(opt.Classes) > 0 {
			probeClasses = classes
		}
		progress(PretrainProgress{Step: st.Step, Total: opt.Steps, Message: fmt.Sprintf("training on %d sprites of %d classes", len(sprites), len(classes))})
	}
	// The sprites an augmented picture may swap a thing for (refAugment).
	swapCand := sceneOpt.Sprites
	if swapCand == nil {
		swapCand = make([]int, len(atlas.Sprites))
		for i := range swapCand {
			swapCand[i] = i
		}
	}
	B, S, C := opt.Batch, cfg.ImageSize, cfg.InChannels
	per := S * S * C
	// A latent design renders pictures at the autoencoder's size and
	// trains on their scaled latents.
	P := base.PictureSize()
	var pix []float32
	if ae != nil {
		pix = make([]float32, B*P*P*3)
	}
	x0 := make([]float32, B*per)
	noise := make([]float32, B*per)
	ids := make([]int, B*cfg.MaxLen)
	lengths := make([]int, B)
	var frames [][model.FrameSlots]model.Frame
	if cfg.Frames {
		frames = make([][model.FrameSlots]model.Frame, B)
	}
	refs, rper := base.refBuffer(B) // each picture's references (model.Config.Refs)
	empty, emptyLen, _ := base.Encode("")

	save := func() error {
		st.AdamStep, st.EMAUpdates = adam.StepCount(), ema.Updates()
		if err := saveCheckpoint(ckpt, base, adam, ema, pcg, st); err != nil {
			return err
		}
		if err := writeLossCSV(filepath.Join(opt.Dir, lossCSVFile), st.History); err != nil {
			return err
		}
		// The EMA weights as a model file, ready to try with generate.
		if err := ema.Swap(params.Params); err != nil {
			return err
		}
		defer ema.Swap(params.Params)
		base.id = ""
		return base.Save(filepath.Join(opt.Dir, emaModelFile), false)
	}
	sample := func() error {
		if err := ema.Swap(params.Params); err != nil {
			return err
		}
		defer ema.Swap(params.Params)
		img, err := SampleGrid(ctx, base, SamplePrompts, 4, 7)
		if err != nil {
			return err
		}
		if err := safefile.Write(filepath.Join(opt.Dir, "samples", fmt.Sprintf("step-%06d.png", st.Step)), func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
			return err
		}
		if opt.ShapeSeeds < 0 {
			return nil
		}
		// The grid's shape score, so that a run's shape curve is visible
		// while it trains.
		rep, si, err := base.EvalShape(ctx, probeClasses, cmp.Or(opt.ShapeSeeds, 2), ShapeSampling{}, nil)
		if err != nil {
			return err
		}
		if err := safefile.Write(filepath.Join(opt.Dir, "samples", fmt.Sprintf("shape-%06d.png", st.Step)), func(w io.Writer) error { return png.Encode(w, ShapeGrid(si, 2, 4)) }); err != nil {
			return err
		}
		progress(PretrainProgress{Step: st.Step, Total: opt.Steps, Message: fmt.Sprintf("shape top-1 %.3f (ground truth %.3f), Fréchet %.3f, %.2f CPU-hours",
			rep.Generated.Top1, rep.Truth.Top1, rep.Frechet, st.CPUSeconds/3600)})
		return appendShapeCSV(filepath.Join(opt.Dir, shapeCSVFile), st.Step, st.CPUSeconds, rep)
	}

	sittingEnd := opt.Steps
	if opt.StopAfter > 0 {
		sittingEnd = min(opt.Steps, st.Step+opt.StopAfter)
	}
	if opt.CPUBudget > 0 && st.CPUSeconds >= opt.CPUBudget.Seconds() {
		progress(PretrainProgress{Step: st.Step, Total: opt.Steps, Message: fmt.Sprintf("the run has used its CPU budget (%.2f of %.2f CPU-hours)", st.CPUSeconds/3600, opt.CPUBudget.Hours())})
		return nil
	}
	if !exists && opt.InitFrom != "" {
		// Where a warm start begins, for its shape curve.
		if err := sample(); err != nil {
			return err
		}
	}
	budget := &optim.Budget{Limit: opt.CPUBudget, Clock: processCPU, Used: &st.CPUSeconds}
	loop := &optim.Loop{
		Params: params.Params, Adam: adam, EMA: ema, Skipped: &st.Skipped,
		Schedule: func(step int) {
			lr := optim.CosineLR(step, opt.Warmup, opt.Steps, opt.LR, opt.LR/10)
			adam.Groups[0].LR, adam.Groups[1].LR, adam.Groups[2].LR, adam.Groups[3].LR = lr, lr, lr*layoutLR, lr*gainedLR
		},
		Grads: func(int) (float64, error) {
			// A batch of scenes and captions.
			for i := 0; i < B; i++ {
				sc := trainingScene(atlas, func() dataset.Scene { return atlas.RandomScene(rng, sceneOpt) })
				if ae != nil {
					renderer.Render(sc, P, pix[i*P*P*3:(i+1)*P*P*3])
				} else {
					renderer.Render(sc, S, x0[i*per:(i+1)*per])
				}
				caption := dataset.Caption(atlas, sc, rng)
				row := ids[i*cfg.MaxLen : (i+1)*cfg.MaxLen]
				if frames != nil {
					frames[i] = [model.FrameSlots]model.Frame{}
				}
				clear(refsOf(refs, i, rper))
				if rng.Float64() < opt.DropCaption {
					copy(row, empty)
					lengths[i] = emptyLen
					continue
				}
				if frames != nil && rng.Float64() >= dropFrames {
					frames[i] = captionedFrames(sc, caption)
					if refs != nil && rng.Float64() >= dropRefs {
						var m *dataset.Recolour
						if opt.RefAugment > 0 && rng.Float64() < opt.RefAugment {
							drawn, hue := refAugment(atlas, sc, swapCand, rng)
							if ae != nil {
								renderer.RenderRecoloured(drawn, P, hue, pix[i*P*P*3:(i+1)*P*P*3])
							} else {
								renderer.RenderRecoloured(drawn, S, hue, x0[i*per:(i+1)*per])
							}
							sc, m = drawn, &hue
						}
						trainingRefs(renderer, sc, S, rng, m, refsOf(refs, i, rper))
					}
				}
				enc, n, err := base.Encode(caption)
				if err != nil {
					return 0, fmt.Errorf("training caption %q: %w", caption, err)
				}
				copy(row, enc)
				lengths[i] = n
			}
			if ae != nil {
				// One share per replica at once: the kernels are
				// single-threaded while replicas train.
				z, err := base.encodePicturesSplit(pix, B, len(reps.nets))
				if err != nil {
					return 0, err
				}
				copy(x0, z)
			}
			nb, err := base.noiseBatch(rng, x0, noise, B, lossWeighting{opt.MinSNR, opt.KeepHighNoise, opt.HighNoiseShare, opt.InputPerturb})
			if err != nil {
				return 0, err
			}
			L := cfg.MaxLen
			var feats []float32
			fper := 0
			if aligner != nil {
				var side, ch int
				if feats, side, ch, err = aligner.PlaceFeatures(upscale(x0, B, S, alignUp), B); err != nil {
					return 0, err
				}
				fper = side * side * ch
			}
			// fill gives a net its share of the batch: the noisy pictures,
			// timesteps, captions and frames, and for the trained pass the
			// targets and loss weights.
			fill := func(net *model.Net, lo, hi int, trained bool) error {
				var target, weights []float32
				if trained {
					target, weights = nb.target[lo*per:hi*per], nb.weights[lo:hi]
				}
				if err := net.Set(nb.xt[lo*per:hi*per], nb.t[lo:hi], ids[lo*L:hi*L], lengths[lo:hi], target, weights); err != nil {
					return err
				}
				return setPlaces(net, frames, refs, rper, lo, hi)
			}
			var estimate []float32
			if cfg.SelfCond && rng.Float64() < selfCondShare {
				// Self-conditioning: a first pass without an estimate,
				// whose clean pictures the trained pass then sees.
				out, err := reps.inferPass(func(net *model.Net, lo, hi int) error { return fill(net, lo, hi, false) })
				if err != nil {
					return 0, err
				}
				ti := make([]int, B)
				for i, v := range nb.t {
					ti[i] = int(v)
				}
				if estimate, err = base.selfCondEstimate(nb.xt, out, ti); err != nil {
					return 0, err
				}
			}
			return reps.run(func(net *model.Net, lo, hi int) error {
				if feats != nil {
					if err := net.SetAlign(feats[lo*fper : hi*fper]); err != nil {
						return err
					}
				}
				if err := fill(net, lo, hi, true); err != nil {
					return err
				}
				if estimate != nil {
					return net.SetSelfCond(estimate[lo*per : hi*per])
				}
				return nil
			})
		},
		Report: func(r optim.Report) {
			st.Step = r.Done
			p := PretrainProgress{Step: r.Done, Total: opt.Steps, Loss: r.Loss, ImgPerS: float64(r.Steps*B) / r.Seconds}
			st.History = append(st.History, lossPoint{Step: r.Done, Loss: p.Loss})
			progress(p)
		},
		ReportEvery: 50,
		After: func(done int, last bool) error {
			st.Step = done
			if done%opt.SampleEvery == 0 || done == opt.Steps || budget.Spent() {
				return sample() // sampling and scoring are not training: the loop does not count them
			}
			return nil
		},
		Save:      func(done int) error { st.Step = done; return save() },
		SaveEvery: opt.CheckpointEvery,
		SaveAtEnd: true,
		Budget:    budget,
	}
	done, err := loop.Run(ctx, st.Step, sittingEnd)
	st.Step = done
	if err != nil {
		return err
	}
	if opt.CPUBudget > 0 && st.CPUSeconds >= opt.CPUBudget.Seconds() {
		progress(PretrainProgress{Step: st.Step, Total: opt.Steps, Message: fmt.Sprintf("stopped at the CPU budget: %.2f CPU-hours", st.CPUSeconds/3600)})
	}
	return nil
}

// dropFrames is the share of captioned training pictures a frames design
// (model.Config.Frames) sees without their frames, so that it still draws
// from the prompt alone; an empty caption has no frames either.
const dropFrames = 0.1

// sceneFrames are where a scene's objects are, in caption order (the
// subject first), as square frames.
func sceneFrames(sc dataset.Scene) (f [model.FrameSlots]model.Frame) {
	for i, o := range sc.Objects {
		if i < model.FrameSlots {
			f[i] = model.Frame{CX: o.CX, CY: o.CY, Extent: o.Extent}
		}
	}
	return f
}

// captionedFrames are a scene's frames with each thing's words in its
// caption marked (what a frames design trains on).
func captionedFrames(sc dataset.Scene, caption string) [model.FrameSlots]model.Frame {
	return withTokens(sceneFrames(sc), dataset.Words(caption))
}

// upscale repeats each pixel of count NHWC RGB pictures of side s f×f
// times (nearest neighbour); f = 1 returns x itself.
func upscale(x []float32, count, s, f int) []float32 {
	if f == 1 {
		return x
	}
	S := s * f
	out := make([]float32, count*S*S*3)
	for i := 0; i < count; i++ {
		for y := 0; y < S; y++ {
			for xx := 0; xx < S; xx++ {
				src := ((i*s+y/f)*s + xx/f) * 3
				copy(out[((i*S+y)*S+xx)*3:][:3], x[src:src+3])
			}
		}
	}
	return out
}

// storedOptions reads the options a run was started with (as JSON) from
// its checkpoint's header alone.
func storedOptions(ckpt string) (string, error) {
	meta, err := safetensors.ReadMetadata(ckpt, safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	if err != nil {
		return "", err
	}
	var st trainState
	if err := json.Unmarshal([]byte(meta[trainStateKey]), &st); err != nil {
		return "", err
	}
	return st.Options, nil
}

// alignLossLevel is a typical diffusion loss of the base design (v-
// prediction, floored min-SNR weights), which PretrainOptions.Align
// scales the alignment's error against.
const alignLossLevel = 0.03

// keepRecipe gives a resumed run the recipe it was started with where
// this sitting's options are the defaults: the learning rate, its warm-up
// and schedule length, the high-noise share and the shape probe. Options
// set to something else in this sitting win (the base run of 2026-11-25
// changed its high-noise share mid-run on purpose). It returns what it
// kept, in words.
func keepRecipe(opt *PretrainOptions, stored string, def PretrainOptions) []string {
	var was PretrainOptions
	if stored == "" || json.Unmarshal([]byte(stored), &was) != nil {
		return nil
	}
	var kept []string
	keepF := func(v *float64, old, d float64, what string) {
		if *v == d && old != 0 && old != d {
			*v = old
			kept = append(kept, fmt.Sprintf("%s %g", what, old))
		}
	}
	keepI := func(v *int, old, d int, what string) {
		if *v == d && old != 0 && old != d {
			*v = old
			kept = append(kept, fmt.Sprintf("%s %d", what, old))
		}
	}
	keepF(&opt.LR, was.LR, def.LR, "learning rate")
	keepI(&opt.Warmup, was.Warmup, def.Warmup, "warm-up steps")
	keepI(&opt.Steps, was.Steps, def.Steps, "steps")
	keepI(&opt.SampleEvery, was.SampleEvery, def.SampleEvery, "sample grids every")
	// A share of 0 is a choice (no high-noise emphasis), so it is kept too.
	if opt.HighNoiseShare == def.HighNoiseShare && was.HighNoiseShare != def.HighNoiseShare && was.LR != 0 {
		opt.HighNoiseShare = was.HighNoiseShare
		kept = append(kept, fmt.Sprintf("high-noise share %g", was.HighNoiseShare))
	}
	keepF(&opt.InputPerturb, was.InputPerturb, def.InputPerturb, "input perturbation")
	keepF(&opt.Align, was.Align, def.Align, "alignment weight")
	keepF(&opt.GainedLRMult, was.GainedLRMult, def.GainedLRMult, "gained paths' learning-rate factor")
	keepF(&opt.RefAugment, was.RefAugment, def.RefAugment, "references' augmentation share")
	if !opt.ShapeAll && was.ShapeAll {
		opt.ShapeAll = true
		kept = append(kept, "shape probe of all classes")
	}
	if len(opt.Classes) == 0 && len(was.Classes) > 0 {
		opt.Classes = was.Classes
		kept = append(kept, fmt.Sprintf("%d classes", len(was.Classes)))
	}
	if len(opt.Styles) == 0 && len(was.Styles) > 0 {
		opt.Styles = was.Styles
		kept = append(kept, "styles "+strings.Join(was.Styles, ", "))
	}
	return kept
}

// worldSprites returns the atlas sprites of the named classes in the named
// styles (either nil: all), and the classes they hold, in atlas order. A
// name or style the atlas does not have is an error that says which, and
// so is a narrowing that leaves nothing.
func worldSprites(a *dataset.Atlas, classes, styles []string) ([]int, []string, error) {
	for _, c := range classes {
		if len(a.SpritesNamed(c)) == 0 {
			return nil, nil, fmt.Errorf("the world has no class %q", c)
		}
	}
	for _, s := range styles {
		if !slices.Contains(dataset.Styles, s) {
			return nil, nil, fmt.Errorf("the world has no style %q (its styles: %s)", s, strings.Join(dataset.Styles, ", "))
		}
	}
	var sprites []int
	var names []string
	for _, name := range a.Names() {
		if len(classes) > 0 && !slices.Contains(classes, name) {
			continue
		}
		n := len(sprites)
		for _, i := range a.SpritesNamed(name) {
			if len(styles) == 0 || slices.Contains(styles, a.Sprites[i].Style) {
				sprites = append(sprites, i)
			}
		}
		if len(sprites) > n {
			names = append(names, name)
		}
	}
	if len(sprites) == 0 {
		return nil, nil, errors.New("the classes and styles asked for leave no sprite to train on")
	}
	return sprites, names, nil
}

// appendShapeCSV adds one shape score to a run's shape.csv (written
// whole, atomically; the header first).
func appendShapeCSV(path string, step int, cpuSeconds float64, r ShapeReport) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(old) == 0 {
		old = []byte("step,cpu_hours,shape_top1,shape_top5,median_rank,truth_top1,colour_only_top1,frechet,frechet_truth,colour_oracle_top1\n")
	}
	line := fmt.Sprintf("%d,%.3f,%.4f,%.4f,%g,%.4f,%.4f,%.4f,%.4f,%.4f\n", step, cpuSeconds/3600, r.Generated.Top1, r.Generated.Top5,
		r.Generated.MedianRank, r.Truth.Top1, r.ColourOnly.Top1, r.Frechet, r.FrechetTruth, r.ColourTop1)
	return safefile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(old, line...))
		return err
	})
}

// SamplePrompts are the fixed prompts of the training sample grids. Rows
// that differ only in where things go (left/right, the pair's order) use
// the same seeds, so the grid shows whether the model places them.
var SamplePrompts = []string{
	"a dog on a blue background",
	"a teddy bear",
	"a teapot on the left, on a yellow background",
	"a teapot on the right, on a yellow background",
	"a big cactus on a red background",
	"a small rocket in the top right corner, on a white background",
	"a cat on the left of a car, on a green background",
	"a car on the left of a cat, on a green background",
	"a penguin on a striped purple background",
	"a guitar at the bottom, on a pink background",
}

// SampleGrid renders each prompt (a row) for seeds 0..cols-1 (columns),
// magnified zoom×, with the prompt written above each row.
func SampleGrid(ctx context.Context, b *Base, prompts []string, cols, zoom int) (*image.NRGBA, error) {
	S := b.PictureSize() * zoom
	const label = 16
	img := image.NewNRGBA(image.Rect(0, 0, cols*(S+4)+4, len(prompts)*(S+label+4)+4))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{250, 250, 250, 255}), image.Point{}, draw.Src)
	for r, p := range prompts {
		y0 := r*(S+label+4) + 4
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{20, 20, 20, 255}), Face: basicfont.Face7x13, Dot: fixed.P(4, y0+11)}
		d.DrawString(p)
		imgs, err := b.Generate(ctx, GenerateOptions{Prompt: p, N: cols, Seed: 0, Steps: 25, Guidance: DefaultGuidance}, nil)
		if err != nil {
			return nil, err
		}
		for c, g := range imgs {
			x0 := c*(S+4) + 4
			for y := 0; y < S; y++ {
				for x := 0; x < S; x++ {
					img.Set(x0+x, y0+label+y, g.At(x/zoom, y/zoom))
				}
			}
		}
	}
	return img, nil
}

func writeLossCSV(path string, h []lossPoint) error {
	return safefile.Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "step,loss\n"); err != nil {
			return err
		}
		for _, p := range h {
			if _, err := io.WriteString(w, strconv.Itoa(p.Step)+","+strconv.FormatFloat(p.Loss, 'g', 6, 64)+"\n"); err != nil {
				return err
			}
		}
		return nil
	})
}

// saveCheckpoint writes weights, optimizer moments, EMA shadows and state.
func saveCheckpoint(path string, b *Base, adam *optim.AdamW, ema *optim.EMA, pcg *rand.PCG, st trainState) error {
	var err error
	if st.RNG, err = optim.EncodeRNG(pcg); err != nil {
		return err
	}
	f, err := b.file(false)
	if err != nil {
		return err
	}
	// A latent run's autoencoder is frozen and kept beside the checkpoint.
	f.Tensors = slices.DeleteFunc(f.Tensors, func(t safetensors.Tensor) bool { return strings.HasPrefix(t.Name, aePrefix) })
	for i := range f.Tensors {
		f.Tensors[i].Name = checkpointWeights + f.Tensors[i].Name
	}
	return optim.WriteCheckpoint(path, trainStateKey, st, f.Metadata, f.Tensors, adam, ema)
}

// trainStateKey is the checkpoint metadata key of a pretraining run's
// state.
const trainStateKey = "conceptstudio.train_state"

// checkpointWeights prefixes the weights' names in a checkpoint (beside
// optim's "adam/" and "ema/").
const checkpointWeights = "w/"

// loadCheckpoint restores what saveCheckpoint wrote into an identically
// configured run.
func loadCheckpoint(path string, b *Base, adam *optim.AdamW, ema *optim.EMA, pcg *rand.PCG) (trainState, error) {
	var st trainState
	adamState, emaState, rest, _, err := optim.ReadCheckpoint(path, trainStateKey, &st, safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	if err != nil {
		return st, err
	}
	loaded, err := b.W.LoadPrefixed(rest, checkpointWeights)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	// A model may gain position embeddings (model.Config.PosEmb) or the
	// text layout path (TextLayout) between sittings: they
	// start so that what it computes is unchanged, with fresh optimizer
	// moments and an average equal to their start. Any other weight the checkpoint
	// lacks means another architecture.
	for _, name := range b.W.Names() {
		if loaded[name] {
			continue
		}
		w, _ := b.W.Lookup(name)
		if !b.Cfg.Gainable(name) {
			return st, fmt.Errorf("the checkpoint has no weight %s: it was made for another architecture", name)
		}
		// Keep its fresh initial value (zero for what feeds the output;
		// a projection behind a zero map may start random) and average
		// from there.
		emaState[name] = append([]float32(nil), w.Data().([]float32)...)
		st.Gained = append(st.Gained, name)
	}
	if err := adam.Load(adamState, st.AdamStep); err != nil {
		return st, err
	}
	if err := ema.Load(emaState, st.EMAUpdates); err != nil {
		return st, err
	}
	if err := optim.DecodeRNG(st.RNG, pcg); err != nil {
		return st, err
	}
	b.id = ""
	return st, nil
}

// copyWeights copies every weight of from into b (same architecture, or
// b with zero-starting additions that from lacks: model.Config.Gainable,
// or b with a second residual block per level: growsResBlocks, or with
// self-attention at more levels: gainsSelfAttention). It
// returns the weights that start fresh and the blocks it added.
func copyWeights(b, from *Base) (fresh, added []string, err error) {
	grow := growsResBlocks(from.Cfg, b.Cfg)
	attn := gainsSelfAttention(from.Cfg, b.Cfg)
	// A model of another input (pixels against latents, unshuffled or
	// not) shares everything but its first and last convolution: those
	// start fresh (conv_out at zero, so the start predicts nothing) and
	// the rest — text encoder, layout maps, attention, the UNet's body —
	// starts from the other's.
	otherInput := b.Cfg.InChannels != from.Cfg.InChannels || b.Cfg.Unshuffle != from.Cfg.Unshuffle
	seen := map[string]bool{}
	for _, name := range b.W.Names() {
		dst, _ := b.W.Lookup(name)
		srcName := name
		if grow {
			var block string
			if srcName, block = grownFrom(name); srcName == "" {
				setIdentityBlock(name, dst)
				if !seen[block] {
					seen[block] = true
					added = append(added, block)
				}
				continue
			}
		}
		src, ok := from.W.Lookup(srcName)
		if !ok && (b.Cfg.Gainable(name) || trainingOnly(name)) {
			continue // gained: keeps its initial value, which changes nothing
		}
		if block := selfAttentionOf(name); !ok && attn && block != "" {
			// A gained self-attention adds its output to the transformer's
			// stream: with that projection at zero it adds nothing.
			if strings.Contains(name, ".attn1.out.") {
				clear(dst.Data().([]float32))
			}
			if !seen[block] {
				seen[block] = true
				added = append(added, block)
			}
			continue
		}
		if ok && otherInput && !src.Shape().Eq(dst.Shape()) && (strings.HasPrefix(name, "unet.conv_in.") || strings.HasPrefix(name, "unet.conv_out.")) {
			fresh = append(fresh, name)
			continue
		}
		if !ok || !src.Shape().Eq(dst.Shape()) {
			return nil, nil, fmt.Errorf("weight %s is missing or differently shaped", name)
		}
		copy(dst.Data().([]float32), src.Data().([]float32))
	}
	b.id = ""
	return fresh, added, nil
}

// gainsSelfAttention: to is from with self-attention switched on at one
// or more levels whose spatial transformers had cross-attention only (the
// attn16 design from the base design), which copyWeights grows into
// without changing what the model computes.
func gainsSelfAttention(from, to model.Config) bool {
	f := from
	f.SelfAttn = to.SelfAttn
	if !reflect.DeepEqual(f, to) || len(from.SelfAttn) != len(to.SelfAttn) {
		return false
	}
	gained := false
	for l, on := range to.SelfAttn {
		switch {
		case from.SelfAttn[l] && !on:
			return false
		case on && !from.SelfAttn[l]:
			gained = true
		}
	}
	return gained
}

// selfAttentionOf names the spatial transformer whose self-attention
// weight name is (its attn1 projections and their LayerNorm ln1), or "".
func selfAttentionOf(name string) string {
	m := selfAttentionWeight.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1]
}

// selfAttentionWeight matches a spatial transformer's self-attention
// weights: TRANSFORMER.attn1.{q,k,v,out}.PARAM and TRANSFORMER.ln1.PARAM,
// the transformer being a level's attnN.
var selfAttentionWeight = regexp.MustCompile(`^(unet\.(?:down|up)\d+\.attn\d+)\.(?:attn1\.(?:q|k|v|out)|ln1)\.\w+$`)

// growsResBlocks: to is from with two residual blocks per level instead of
// one (the deep design from the base design), which copyWeights grows into
// without changing what the model computes.
func growsResBlocks(from, to model.Config) bool {
	f := from
	f.ResBlocks = to.ResBlocks
	return from.ResBlocks == 1 && to.ResBlocks == 2 && reflect.DeepEqual(f, to)
}

// grownFrom names the weight of a one-block-per-level model that weight
// name of the two-block model it grows into starts from, or "" for a
// weight of an added block (and the block's name). Each down level gains
// a second residual block (and its attention) after the first; each up
// level had two blocks, the first taking its own level's skip and the
// second the skip from the level above, and gains one between them taking
// the new block's skip. At the start the added blocks pass their input
// through unchanged, so the skips hold what they held, and the up path's
// first block and its last (the old second) see what they saw.
func grownFrom(name string) (src, block string) {
	parts := strings.SplitN(name, ".", 4)
	if len(parts) < 4 || parts[0] != "unet" || !(strings.HasPrefix(parts[1], "down") || strings.HasPrefix(parts[1], "up")) {
		return name, ""
	}
	kind, idx := strings.TrimRight(parts[2], "0123456789"), strings.TrimLeft(parts[2], "resatn")
	if kind != "res" && kind != "attn" {
		return name, "" // downsample, upsample
	}
	switch {
	case idx == "1":
		return "", parts[0] + "." + parts[1] + "." + parts[2]
	case idx == "2" && strings.HasPrefix(parts[1], "up"):
		return parts[0] + "." + parts[1] + "." + kind + "1." + parts[3], ""
	}
	return name, ""
}

// setIdentityBlock sets weight name of an added block so that the block
// passes its input through: the residual branch's last convolution and the
// transformer's output projection at zero, and where the block narrows a
// concatenation (an up block's input is its input joined to a skip) the
// shortcut keeps the first channels, the input's. Other weights keep their
// fresh values, which then change nothing.
func setIdentityBlock(name string, w *tensor.Dense) {
	d := w.Data().([]float32)
	switch {
	case strings.Contains(name, ".conv2.") || strings.Contains(name, ".proj_out."):
		clear(d)
	case strings.HasSuffix(name, ".skip.w"):
		sh := w.Shape() // (in, out)
		clear(d)
		for i := 0; i < min(sh[0], sh[1]); i++ {
			d[i*sh[1]+i] = 1
		}
	case strings.HasSuffix(name, ".skip.b"):
		clear(d)
	}
}

// weightsState is the weights as an EMA state (shadow = current weights).
func weightsState(b *Base) map[string][]float32 {
	out := map[string][]float32{}
	for _, name := range b.W.Names() {
		t, _ := b.W.Lookup(name)
		out[name] = append([]float32(nil), t.Data().([]float32)...)
	}
	return out
}
