package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gorgonia.org/tensor"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/optim"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// Files TrainOracle writes in its folder.
const (
	// OracleFileName is the finished oracle (F16 weights and the record).
	OracleFileName = "oracle.safetensors"
	// oracleCheckpointName is the resumable state (F32 weights, AdamW
	// moments, step, random state).
	oracleCheckpointName = "oracle-checkpoint.safetensors"
)

// trainOptions configure an oracle training run.
type trainOptions struct {
	Config          OracleConfig
	Steps, Batch    int
	LR, WeightDecay float64
	Warmup          int
	LabelSmoothing  float64
	Seed            uint64
	CheckpointEvery time.Duration
	ReportEvery     int
	HeldOut         int // single-object renders scored at the end
	Views           viewOptions
	// ColourJitter is the share of views whose colours colourJitter
	// changes (a shape judge's training; the RGB oracle's is 0).
	ColourJitter float64 `json:",omitempty"`
	// ObjectViews is the share of views redrawn as Classify's object view
	// (objectView: the object centred at a fixed size) before training.
	ObjectViews float64 `json:",omitempty"`
	// Budget, when set, is the most training time: the learning-rate
	// schedule follows whichever of steps and time runs out first, and the
	// run ends there. It is not part of the checkpoint's identity.
	Budget time.Duration `json:"-"`
}

// defaultTrainOptions are the shipped oracle's settings.
func defaultTrainOptions() trainOptions {
	return trainOptions{
		Config: DefaultOracleConfig(), Steps: 3000, Batch: 64,
		LR: 3e-3, WeightDecay: 0.01, Warmup: 150, LabelSmoothing: 0.05,
		Seed: 1, CheckpointEvery: 2 * time.Minute, ReportEvery: 25, HeldOut: 1000,
		Views: defaultViewOptions(),
	}
}

// defaultJudgeTrainOptions are the shipped shape judge's settings: the
// oracle's views and schedule on colour-blind input, nearly every view
// with its colours jittered, and a longer run (shape is harder to learn
// than colour).
func defaultJudgeTrainOptions() trainOptions {
	o := defaultTrainOptions()
	o.Config.Input = InputShape
	o.Steps = 6000
	o.Warmup = 300
	o.ColourJitter = 0.9
	o.ObjectViews = 0.5
	o.Config.Blocks = 2
	o.Seed = 2
	return o
}

// TrainJudge trains the colour-blind shape judge as TrainOracleWithin
// trains the oracle (same views, checkpoints, resume and record), with
// each view's colours jittered (colourJitter) and the network seeing
// shapeInput's channels. steps 0 takes the default, 6000.
func TrainJudge(ctx context.Context, dir string, steps int, budget time.Duration, progress func(step int, loss, acc float64)) error {
	opt := defaultJudgeTrainOptions()
	if steps > 0 {
		opt.Steps = steps
	}
	opt.Budget = budget
	return trainOracle(ctx, dir, opt, progress)
}

// oracleState is the checkpoint's record besides tensors.
type oracleState struct {
	Step     int     `json:"step"`
	AdamStep int     `json:"adam_step"`
	RNG      string  `json:"rng"`
	Seconds  float64 `json:"seconds"`
	Options  string  `json:"options"`
}

// TrainOracle trains the oracle classifier for steps steps (0: the
// default, 3000) of 64 views each, in dir: every view is one atlas sprite
// (either style) or a Fluent 3D personal object, labelled with its name,
// drawn by the dataset's renderer at a random position and size (the
// dataset's words or anywhere), mirrored or not, on a plain or patterned
// background, sometimes blurred or noisy. The loss is softmax
// cross-entropy with light label smoothing; the optimiser AdamW with a
// cosine schedule. A checkpoint (dir/oracle-checkpoint.safetensors) is
// written every two minutes and when ctx is cancelled, and a later call
// with the same dir and steps resumes from it. At the end the oracle's
// top-1 accuracy on fresh single-object renders is measured and the oracle
// written to dir/oracle.safetensors (F16 with its OracleRecord), ready for
// DecodeOracle. progress gets the step, and the mean loss and training
// accuracy since the last report.
func TrainOracle(ctx context.Context, dir string, steps int, progress func(step int, loss, acc float64)) error {
	return TrainOracleWithin(ctx, dir, steps, 0, progress)
}

// TrainOracleWithin is TrainOracle with a time budget (0: none): the
// learning-rate schedule follows whichever of steps and training time runs
// out first, and the oracle is finished there (its record says how many
// steps it took). A budgeted run depends on the machine's speed, so two
// runs need not give the same weights.
func TrainOracleWithin(ctx context.Context, dir string, steps int, budget time.Duration, progress func(step int, loss, acc float64)) error {
	opt := defaultTrainOptions()
	if steps > 0 {
		opt.Steps = steps
	}
	opt.Budget = budget
	return trainOracle(ctx, dir, opt, progress)
}

func trainOracle(ctx context.Context, dir string, opt trainOptions, progress func(step int, loss, acc float64)) error {
	if progress == nil {
		progress = func(int, float64, float64) {}
	}
	if opt.Steps < 1 || opt.Batch < 1 {
		return fmt.Errorf("eval: oracle training needs steps and a batch (got %d, %d)", opt.Steps, opt.Batch)
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	views, err := newViewSampler(atlas, opt.Views)
	if err != nil {
		return err
	}
	classes := views.classes
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	optsJSON, _ := json.Marshal(opt)

	w := nn.NewWeights(tensor.Float32, opt.Seed)
	net, err := buildOracleNet(w, opt.Config, len(classes), opt.Batch, true)
	if err != nil {
		return err
	}
	defer net.close()
	learn, params := ops.TrainingParams(net.g.B.Params())
	adam := optim.NewAdamW(optim.Group{LR: opt.LR, WeightDecay: opt.WeightDecay}, optim.Group{LR: opt.LR})
	pcg := rand.NewPCG(opt.Seed, 0x0AC1E)
	rng := rand.New(pcg)

	ckpt := filepath.Join(dir, oracleCheckpointName)
	st := oracleState{Options: string(optsJSON)}
	if _, err := os.Stat(ckpt); err == nil {
		if st, err = loadOracleCheckpoint(ckpt, w, adam, pcg); err != nil {
			return fmt.Errorf("eval: resuming from %s: %w", ckpt, err)
		}
		if st.Options != string(optsJSON) {
			return fmt.Errorf("eval: %s holds a run with other settings; remove it or choose another folder", ckpt)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	save := func() error {
		st.AdamStep = adam.StepCount()
		return saveOracleCheckpoint(ckpt, w, adam, pcg, st)
	}

	S := opt.Config.ImageSize
	per := S * S * 3
	x := make([]float32, opt.Batch*per)
	y := make([]float32, opt.Batch*len(classes))
	labels := make([]int, opt.Batch)
	K := len(classes)
	var winAcc float64
	// progressAt is the share of the schedule done before step `step`
	// (steps or time, whichever is further).
	progressAt := func(step int) float64 {
		p := float64(step) / float64(opt.Steps)
		if opt.Budget > 0 {
			p = max(p, st.Seconds/opt.Budget.Seconds())
		}
		return p
	}
	began := time.Now()
	loop := &optim.Loop{
		Params: params, Adam: adam,
		Schedule: func(step int) {
			// The cosine schedule at the run's share done (steps or time).
			const res = 1 << 20
			lr := optim.CosineLR(int(progressAt(step)*res), opt.Warmup*res/opt.Steps, res, opt.LR, opt.LR/50)
			for i := range adam.Groups {
				adam.Groups[i].LR = lr
			}
		},
		Grads: func(int) (float64, error) {
			clear(y)
			for i := 0; i < opt.Batch; i++ {
				v := x[i*per : (i+1)*per]
				labels[i] = views.sample(rng, S, v)
				if rng.Float64() < opt.ObjectViews {
					objectView(slices.Clone(v), S, v)
				}
				if opt.Config.Input == InputShape {
					if rng.Float64() < opt.ColourJitter {
						colourJitter(rng, v, S)
					}
					shapeInput(v, S)
				}
				row := y[i*K : (i+1)*K]
				for k := range row {
					row[k] = float32(opt.LabelSmoothing / float64(K))
				}
				row[labels[i]] += float32(1 - opt.LabelSmoothing)
			}
			net.set(inImages, x)
			net.set(inLabels, y)
			if err := net.prog.Run(); err != nil {
				return 0, err
			}
			net.prog.SetGrads(learn, params)
			lg := ops.Value(net.logits).Data().([]float32)
			for i := 0; i < opt.Batch; i++ {
				if argmax(lg[i*K:(i+1)*K]) == labels[i] {
					winAcc++
				}
			}
			return ops.ScalarValue(net.loss), nil
		},
		Report: func(r optim.Report) {
			progress(r.Done, r.Loss, winAcc/float64(r.Steps*opt.Batch))
			winAcc = 0
		},
		ReportEvery: opt.ReportEvery,
		Save:        func(done int) error { st.Step = done; return save() },
		SaveEvery:   opt.CheckpointEvery,
		SaveAtEnd:   true,
		// A time budget counts the wall time of the steps, all sittings.
		Budget: &optim.Budget{Limit: opt.Budget, Used: &st.Seconds, Clock: func() time.Duration { return time.Since(began) }},
	}
	done, err := loop.Run(ctx, st.Step, opt.Steps)
	st.Step = done
	if err != nil {
		return err
	}
	rec := OracleRecord{
		Version: 1, Classes: classes, Config: opt.Config, Steps: st.Step, Batch: opt.Batch,
		TrainSeconds: st.Seconds, Seed: opt.Seed,
	}
	data, err := encodeOracle(w, rec)
	if err != nil {
		return err
	}
	o, err := DecodeOracle(data)
	if err != nil {
		return err
	}
	defer o.Close()
	if opt.HeldOut > 0 {
		if rec.HeldOutTop1, rec.HeldOutTop1Raw, err = heldOutTop1(o, atlas, opt.Seed+1000, opt.HeldOut); err != nil {
			return err
		}
		if data, err = encodeOracle(w, rec); err != nil {
			return err
		}
	}
	return safefile.Write(filepath.Join(dir, OracleFileName), func(wr io.Writer) error {
		_, err := wr.Write(data)
		return err
	})
}

// heldOutTop1 is the oracle's top-1 accuracy on n fresh single-object
// renders from the base model's training distribution (any sprite,
// mirrored half the time, a quarter on patterned backgrounds): through
// Classify (image and object view), and of the network on the images
// alone.
func heldOutTop1(o *Oracle, a *dataset.Atlas, seed uint64, n int) (acc, raw float64, err error) {
	rng := rand.New(rand.NewPCG(seed, 0x7E57))
	rd := dataset.NewRenderer(a)
	S := o.Record.Config.ImageSize
	per := S * S * 3
	imgs := make([]image.Image, n)
	x := make([]float32, n*per)
	want := make([]string, n)
	opt := dataset.SceneOptions{FlipProb: 0.5, PatternProb: 0.25}
	for i := 0; i < n; i++ {
		sc := a.RandomScene(rng, opt)
		v := x[i*per : (i+1)*per]
		rd.Render(sc, S, v)
		imgs[i] = FromNHWC(v, S)
		want[i] = a.Sprites[sc.Objects[0].Sprite].Name
	}
	got, _, err := o.Classify(imgs)
	if err != nil {
		return 0, 0, err
	}
	if o.Record.Config.Input == InputShape {
		for i := 0; i < n; i++ {
			shapeInput(x[i*per:(i+1)*per], S)
		}
	}
	logits, _, err := o.run(x, n)
	if err != nil {
		return 0, 0, err
	}
	for i := range got {
		if got[i] == want[i] {
			acc++
		}
		if o.Record.Classes[argmax(logits[i])] == want[i] {
			raw++
		}
	}
	return acc / float64(n), raw / float64(n), nil
}

// encodeOracle writes weights (F16) and the record.
func encodeOracle(w *nn.Weights, rec OracleRecord) ([]byte, error) {
	meta, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	f := &safetensors.File{Metadata: map[string]string{oracleMetaKey: string(meta)}, Tensors: w.Tensors("", true)}
	return safetensors.EncodeBytes(f)
}

func saveOracleCheckpoint(path string, w *nn.Weights, adam *optim.AdamW, pcg *rand.PCG, st oracleState) error {
	var err error
	if st.RNG, err = optim.EncodeRNG(pcg); err != nil {
		return err
	}
	return optim.WriteCheckpoint(path, oracleStateKey, st, nil, w.Tensors("w/", false), adam, nil)
}

// oracleStateKey is the checkpoint metadata key of the oracle's and the
// judge's training state.
const oracleStateKey = "conceptstudio.oracle_train_state"

func loadOracleCheckpoint(path string, w *nn.Weights, adam *optim.AdamW, pcg *rand.PCG) (oracleState, error) {
	var st oracleState
	adamState, _, rest, _, err := optim.ReadCheckpoint(path, oracleStateKey, &st, safetensors.ReadOptions{MaxHeaderSize: 4 << 20})
	if err != nil {
		return st, err
	}
	if _, err := w.LoadPrefixed(rest, "w/"); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if err := adam.Load(adamState, st.AdamStep); err != nil {
		return st, err
	}
	return st, optim.DecodeRNG(st.RNG, pcg)
}
