package segment

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"gorgonia.org/tensor"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/optim"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// TrainOptions configure Train; zero values take DefaultTrain's.
type TrainOptions struct {
	Config Config
	Steps  int // the learning-rate schedule's length
	Batch  int
	LR     float64
	Seed   uint64
	// Neighbours is the share of training pictures with sharp, vivid
	// things beside and behind the thing (dataset.PhotoMaker.Neighbours;
	// 0: none).
	Neighbours float64 `json:",omitempty"`
	// Budget ends the run once its steps have taken this much wall time,
	// all sittings together (0: none); the schedule then follows the
	// share of the budget spent when that is further than the steps'.
	Budget time.Duration `json:"-"`
	// StopAfter trains at most this many steps in this sitting (0: to
	// the end).
	StopAfter       int           `json:"-"`
	CheckpointEvery time.Duration `json:"-"`
}

// DefaultTrain is the shipped segmenter's recipe.
func DefaultTrain() TrainOptions {
	return TrainOptions{Config: DefaultConfig(), Steps: 12000, Batch: 16, LR: 2e-3, Seed: 1, CheckpointEvery: 5 * time.Minute}
}

// File is the name of the finished segmenter in a run folder.
const File = "segmenter.safetensors"

const (
	checkpointName = "checkpoint.safetensors"
	stateKey       = "conceptstudio.segmenter_train_state"
)

type state struct {
	Step     int     `json:"step"`
	AdamStep int     `json:"adam_step"`
	RNG      string  `json:"rng"`
	Seconds  float64 `json:"seconds"`
	Loss     float64 `json:"loss"`
	Options  string  `json:"options"`
}

func (s *state) ResumeFrom() (int, string) { return s.AdamStep, s.RNG }

// Progress is one report of Train.
type Progress struct {
	Step, Total int
	Loss        float64 // mean over the report window
	IoU         float64 // of the window's pictures, the cut at ½ against the answer
	Seconds     float64 // training time so far, all sittings
}

// Train trains a segmenter on photo-like pictures of the sprite world in
// dir, resumably (a folder with a checkpoint is continued exactly), and
// writes File (F16) with every checkpoint.
func Train(ctx context.Context, dir string, opt TrainOptions, progress func(Progress)) error {
	def := DefaultTrain()
	if opt.Config.Size == 0 {
		opt.Config = def.Config
	}
	opt.Steps, opt.Batch, opt.LR = cmp.Or(opt.Steps, def.Steps), cmp.Or(opt.Batch, def.Batch), cmp.Or(opt.LR, def.LR)
	opt.Seed, opt.CheckpointEvery = cmp.Or(opt.Seed, def.Seed), cmp.Or(opt.CheckpointEvery, def.CheckpointEvery)
	if progress == nil {
		progress = func(Progress) {}
	}
	if dir == "" {
		return errors.New("segment: training needs a run folder")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	maker := dataset.NewPhotoMaker(dataset.NewRenderer(atlas))
	maker.Neighbours = opt.Neighbours
	optsJSON, _ := json.Marshal(opt)

	w := nn.NewWeights(tensor.Float32, opt.Seed)
	n, err := buildNet(w, opt.Config, opt.Batch, true)
	if err != nil {
		return err
	}
	defer n.prog.Close()
	learn, params := ops.TrainingParams(n.g.B.Params())
	adam := optim.NewAdamW(optim.Group{LR: opt.LR, WeightDecay: 1e-4}, optim.Group{LR: opt.LR})
	pcg := rand.NewPCG(opt.Seed, 0x5E6)
	rng := rand.New(pcg)

	ckpt := filepath.Join(dir, checkpointName)
	st := state{Options: string(optsJSON)}
	load := func(rest []safetensors.Tensor) error { _, err := w.LoadPrefixed(rest, "w/"); return err }
	if found, err := optim.Resume(ckpt, stateKey, &st, load, adam, pcg); err != nil {
		return fmt.Errorf("segment: resuming from %s: %w", ckpt, err)
	} else if found && st.Options != string(optsJSON) {
		return fmt.Errorf("segment: %s holds a run with other settings; choose another folder", ckpt)
	}
	save := func() error {
		st.AdamStep = adam.StepCount()
		var err error
		if st.RNG, err = optim.EncodeRNG(pcg); err != nil {
			return err
		}
		if err := optim.WriteCheckpoint(ckpt, stateKey, st, nil, w.Tensors("w/", false), adam, nil); err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, File), w, Record{Config: opt.Config, Steps: st.Step, Batch: opt.Batch, Loss: st.Loss, TrainSeconds: st.Seconds, Seed: opt.Seed})
	}

	S, B := opt.Config.Size, opt.Batch
	rgb := make([]float32, 3*S*S)
	x := make([]float32, B*S*S*inChannels)
	t := make([]float32, B*S*S)
	wt := make([]float32, B*S*S)
	var inter, union float64
	progressAt := func(step int) float64 {
		p := float64(step) / float64(opt.Steps)
		if opt.Budget > 0 {
			p = max(p, st.Seconds/opt.Budget.Seconds())
		}
		return p
	}
	end := opt.Steps
	if opt.StopAfter > 0 {
		end = min(end, st.Step+opt.StopAfter)
	}
	began := time.Now()
	loop := &optim.Loop{
		Params: params, Adam: adam,
		Schedule: func(step int) {
			const res = 1 << 20
			lr := optim.CosineLR(int(min(1, progressAt(step))*res), res/50, res, opt.LR, opt.LR/50)
			for i := range adam.Groups {
				adam.Groups[i].LR = lr
			}
		},
		Grads: func(int) (float64, error) {
			for i := 0; i < B; i++ {
				mask := t[i*S*S : (i+1)*S*S]
				maker.Make(rng, S, rgb, mask)
				input(rgb, S, x[i*S*S*inChannels:(i+1)*S*S*inChannels])
			}
			// Each side weighs as much as the other in every picture, so
			// a small thing is not given up for its background.
			for i := 0; i < B; i++ {
				var fg float64
				for _, v := range t[i*S*S : (i+1)*S*S] {
					fg += float64(v)
				}
				share := min(0.95, max(0.05, fg/float64(S*S)))
				for j := i * S * S; j < (i+1)*S*S; j++ {
					wt[j] = float32(0.5*float64(t[j])/share + 0.5*float64(1-t[j])/(1-share))
				}
			}
			n.set(inPictures, x)
			n.set(inTargets, t)
			n.set(inWeights, wt)
			if err := n.prog.Run(); err != nil {
				return 0, err
			}
			n.prog.SetGrads(learn, params)
			lg := ops.Value(n.logits).Data().([]float32)
			for j, v := range lg {
				p, q := v > 0, t[j] > 0.5
				if p && q {
					inter++
				}
				if p || q {
					union++
				}
			}
			return ops.ScalarValue(n.loss), nil
		},
		Report: func(r optim.Report) {
			st.Loss = r.Loss
			progress(Progress{Step: r.Done, Total: opt.Steps, Loss: r.Loss, IoU: inter / max(1, union), Seconds: st.Seconds})
			inter, union = 0, 0
		},
		ReportEvery: 25,
		Save:        func(done int) error { st.Step = done; return save() },
		SaveEvery:   opt.CheckpointEvery,
		SaveAtEnd:   true,
		Budget:      &optim.Budget{Limit: opt.Budget, Used: &st.Seconds, Clock: func() time.Duration { return time.Since(began) }},
	}
	_, err = loop.Run(ctx, st.Step, end)
	return err
}

// writeFile writes the segmenter's weights (F16) and record.
func writeFile(path string, w *nn.Weights, rec Record) error {
	meta, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f := &safetensors.File{Metadata: map[string]string{recordKey: string(meta)}, Tensors: w.Tensors("", true)}
	return safefile.Write(path, func(wr io.Writer) error { return safetensors.Encode(wr, f) })
}

// ValidationIoU is the segmenter's mean IoU (p ≥ ½ against the answer)
// on n photo-like pictures drawn from seed: fresh pictures of the
// training's kind, for telling runs apart without looking at the real
// photographs that measure the cut.
func ValidationIoU(s *Segmenter, n int, seed uint64) (float64, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return 0, err
	}
	maker := dataset.NewPhotoMaker(dataset.NewRenderer(atlas))
	rng := rand.New(rand.NewPCG(seed, 0x7A11D))
	S := s.Record.Config.Size
	rgb, mask := make([]float32, 3*S*S), make([]float32, S*S)
	var sum float64
	for k := 0; k < n; k++ {
		maker.Make(rng, S, rgb, mask)
		img := image.NewNRGBA(image.Rect(0, 0, S, S))
		for i := 0; i < S*S; i++ {
			for c := 0; c < 3; c++ {
				img.Pix[4*i+c] = uint8(rgb[3*i+c]*255 + 0.5)
			}
			img.Pix[4*i+3] = 255
		}
		p, err := s.Predict(img, S, S)
		if err != nil {
			return 0, err
		}
		var in, un float64
		for i, v := range p {
			a, b := v >= 0.5, mask[i] >= 0.5
			if a && b {
				in++
			}
			if a || b {
				un++
			}
		}
		if un > 0 {
			sum += in / un
		}
	}
	return sum / float64(n), nil
}
