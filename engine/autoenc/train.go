package autoenc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"gorgonia.org/tensor"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/optim"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// Files in a run folder.
const (
	CheckpointFile = "checkpoint.safetensors"
	ModelFile      = "autoencoder.safetensors" // the weights and Record, written at each checkpoint
	recordKey      = "conceptstudio.autoencoder"
	stateKey       = "conceptstudio.autoencoder_train_state"
)

// TrainOptions configure Train; zero values take DefaultTrain's.
type TrainOptions struct {
	Dir    string
	Config Config
	Steps  int // length of the learning-rate schedule
	Batch  int
	LR     float64
	Seed   uint64
	// CPUBudget stops the run once its training has used this much CPU
	// time, all sittings together (0: none); CPUTime reads the process's
	// CPU time (nil: wall time is used).
	CPUBudget time.Duration
	CPUTime   func() time.Duration `json:"-"`
	// StopAfter trains at most this many steps in this sitting (0: to
	// the end).
	StopAfter       int
	CheckpointEvery time.Duration
}

// DefaultTrain is design B's autoencoder training.
func DefaultTrain() TrainOptions {
	return TrainOptions{Config: Default(), Steps: 20000, Batch: 16, LR: 1e-3, Seed: 1, CheckpointEvery: 5 * time.Minute}
}

// Record is what the model file says of its run.
type Record struct {
	Config Config `json:"config"`
	Steps  int    `json:"steps"`
	// Scale is 1 / the standard deviation of the latents of a batch of
	// renders, so that scaled latents have unit variance for the
	// diffusion model (Stable Diffusion's 0.18215).
	Scale      float64 `json:"scale"`
	Loss       float64 `json:"loss"` // the mean squared error over the last report window
	CPUSeconds float64 `json:"cpu_seconds"`
}

// trainState is what a checkpoint restores besides tensors.
type trainState struct {
	Step       int     `json:"step"`
	AdamStep   int     `json:"adam_step"`
	RNG        string  `json:"rng"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Loss       float64 `json:"loss"`
	Options    string  `json:"options"`
}

// Progress is one report of Train.
type Progress struct {
	Step, Total int
	Loss        float64 // mean over the report window
	CPUHours    float64
	Message     string
}

// Train trains the autoencoder on renders of the world's scenes (as
// pretrain draws them, at the autoencoder's size), checkpointing every
// few minutes, when ctx ends and at the end, and writing the model file
// with each checkpoint. A folder with a checkpoint is resumed, exactly:
// weights, optimizer, random state, step, CPU time.
func Train(ctx context.Context, opt TrainOptions, progress func(Progress)) error {
	def := DefaultTrain()
	if opt.Config.ImageSize == 0 {
		opt.Config = def.Config
	}
	if opt.Steps == 0 {
		opt.Steps = def.Steps
	}
	if opt.Batch == 0 {
		opt.Batch = def.Batch
	}
	if opt.LR == 0 {
		opt.LR = def.LR
	}
	if opt.Seed == 0 {
		opt.Seed = def.Seed
	}
	if opt.CheckpointEvery == 0 {
		opt.CheckpointEvery = def.CheckpointEvery
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	clock := opt.CPUTime
	if clock == nil {
		began := time.Now()
		clock = func() time.Duration { return time.Since(began) }
	}
	if err := opt.Config.Validate(); err != nil {
		return err
	}
	if opt.Dir == "" {
		return errors.New("autoenc: Train needs a run folder")
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return err
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	w := nn.NewWeights(tensor.Float32, opt.Seed)
	net, err := Build(w, opt.Config, opt.Batch, Training)
	if err != nil {
		return err
	}
	defer net.Close()
	learn, params := ops.TrainingParams(net.Params())
	adam := optim.NewAdamW(optim.Group{LR: opt.LR, WeightDecay: 0.01}, optim.Group{LR: opt.LR})
	pcg := rand.NewPCG(opt.Seed, 0xAE)
	rng := rand.New(pcg)
	recipe := opt
	recipe.CPUBudget, recipe.StopAfter, recipe.CPUTime, recipe.Dir = 0, 0, nil, ""
	optsJSON, _ := json.Marshal(recipe)
	st := trainState{Options: string(optsJSON)}
	ckpt := filepath.Join(opt.Dir, CheckpointFile)
	if _, err := os.Stat(ckpt); err == nil {
		if st, err = loadCheckpoint(ckpt, w, adam, pcg); err != nil {
			return fmt.Errorf("resuming from %s: %w", ckpt, err)
		}
		if st.Options != string(optsJSON) {
			return fmt.Errorf("%s holds an autoencoder run with other settings; choose another folder", ckpt)
		}
		progress(Progress{Step: st.Step, Total: opt.Steps, Message: fmt.Sprintf("resumed at step %d", st.Step)})
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	save := func() error {
		st.AdamStep = adam.StepCount()
		if err := saveCheckpoint(ckpt, w, adam, pcg, st); err != nil {
			return err
		}
		return writeModel(filepath.Join(opt.Dir, ModelFile), w, opt.Config, st, atlas)
	}
	S := opt.Config.ImageSize
	per := S * S * 3
	x := make([]float32, opt.Batch*per)
	rd := dataset.NewRenderer(atlas)
	sceneOpt := dataset.DefaultSceneOptions()
	end := opt.Steps
	if opt.StopAfter > 0 {
		end = min(end, st.Step+opt.StopAfter)
	}
	budget := &optim.Budget{Limit: opt.CPUBudget, Clock: clock, Used: &st.CPUSeconds}
	loop := &optim.Loop{
		Params: params, Adam: adam,
		Schedule: func(step int) {
			lr := optim.CosineLR(step, min(500, opt.Steps/10), opt.Steps, opt.LR, opt.LR/20)
			adam.Groups[0].LR, adam.Groups[1].LR = lr, lr
		},
		Grads: func(int) (float64, error) {
			for i := 0; i < opt.Batch; i++ {
				rd.Render(atlas.RandomScene(rng, sceneOpt), S, x[i*per:(i+1)*per])
			}
			if _, err := net.Run(x); err != nil {
				return 0, err
			}
			for i, p := range learn {
				params[i].Grad = net.Grad(p)
			}
			return net.Loss(), nil
		},
		Save:      func(done int) error { st.Step = done; return save() },
		SaveEvery: opt.CheckpointEvery,
		SaveAtEnd: true,
		Budget:    budget,
		Report: func(r optim.Report) {
			st.Step, st.Loss = r.Done, r.Loss
			progress(Progress{Step: r.Done, Total: opt.Steps, Loss: r.Loss, CPUHours: st.CPUSeconds / 3600})
		},
		ReportEvery: 50,
	}
	done, err := loop.Run(ctx, st.Step, end)
	st.Step = done
	if err != nil {
		return err
	}
	if budget.Spent() {
		progress(Progress{Step: st.Step, Total: opt.Steps, CPUHours: st.CPUSeconds / 3600, Message: fmt.Sprintf("stopped at the CPU budget: %.2f CPU-hours", st.CPUSeconds/3600)})
	}
	return nil
}

func saveCheckpoint(path string, w *nn.Weights, adam *optim.AdamW, pcg *rand.PCG, st trainState) error {
	var err error
	if st.RNG, err = optim.EncodeRNG(pcg); err != nil {
		return err
	}
	f := &safetensors.File{}
	f.Tensors = append(f.Tensors, w.Tensors("w/", false)...)
	return optim.WriteCheckpoint(path, stateKey, st, nil, f.Tensors, adam, nil)
}

func loadCheckpoint(path string, w *nn.Weights, adam *optim.AdamW, pcg *rand.PCG) (trainState, error) {
	var st trainState
	adamState, _, rest, _, err := optim.ReadCheckpoint(path, stateKey, &st, safetensors.ReadOptions{MaxHeaderSize: 4 << 20})
	if err != nil {
		return st, err
	}
	if _, err := w.LoadPrefixed(rest, "w/"); err != nil {
		return st, err
	}
	if err := adam.Load(adamState, st.AdamStep); err != nil {
		return st, err
	}
	return st, optim.DecodeRNG(st.RNG, pcg)
}

// latentScaleBatch is how many renders measure the latents' spread.
const latentScaleBatch = 32

// writeModel writes the weights and the record, with the latent scale
// measured on a fixed batch of renders.
func writeModel(path string, w *nn.Weights, c Config, st trainState, atlas *dataset.Atlas) error {
	enc, err := Build(w, c, latentScaleBatch, Encoding)
	if err != nil {
		return err
	}
	defer enc.Close()
	rng := rand.New(rand.NewPCG(99, 99))
	rd := dataset.NewRenderer(atlas)
	S := c.ImageSize
	x := make([]float32, latentScaleBatch*S*S*3)
	for i := 0; i < latentScaleBatch; i++ {
		rd.Render(atlas.RandomScene(rng, dataset.DefaultSceneOptions()), S, x[i*S*S*3:(i+1)*S*S*3])
	}
	z, err := enc.Run(x)
	if err != nil {
		return err
	}
	var mean, sq float64
	for _, v := range z {
		mean += float64(v)
	}
	mean /= float64(len(z))
	for _, v := range z {
		sq += (float64(v) - mean) * (float64(v) - mean)
	}
	std := math.Sqrt(sq / float64(len(z)))
	rec := Record{Config: c, Steps: st.Step, Scale: 1 / math.Max(std, 1e-6), Loss: st.Loss, CPUSeconds: st.CPUSeconds}
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f := &safetensors.File{Metadata: map[string]string{recordKey: string(recJSON)}}
	f.Tensors = append(f.Tensors, w.Tensors("", false)...)
	return safefile.Write(path, func(wr io.Writer) error { return safetensors.Encode(wr, f) })
}

// Model is a trained autoencoder, ready to encode and decode. It is safe
// for concurrent use (calls are serialised).
type Model struct {
	Record Record
	w      *nn.Weights
	mu     sync.Mutex
	nets   map[[3]int]*Net // by kind, batch and share (EncodeSplit)
}

// Load reads a model file written by Train.
func Load(path string) (*Model, error) {
	f, err := safetensors.ReadFile(path, safetensors.ReadOptions{MaxHeaderSize: 4 << 20})
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal([]byte(f.Metadata[recordKey]), &rec); err != nil {
		return nil, fmt.Errorf("%s is not an autoencoder file: %w", path, err)
	}
	m, err := FromTensors(rec, f.Tensors, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromTensors makes a model of rec's configuration from the tensors whose
// names start with prefix (the rest are ignored); every weight must be
// there.
func FromTensors(rec Record, ts []safetensors.Tensor, prefix string) (*Model, error) {
	if err := rec.Config.Validate(); err != nil {
		return nil, err
	}
	w := nn.NewWeights(tensor.Float32, 1)
	// Build once so every weight exists with its shape, then load.
	n, err := Build(w, rec.Config, 1, Training)
	if err != nil {
		return nil, err
	}
	n.Close()
	if err := w.LoadAll(ts, prefix); err != nil {
		return nil, err
	}
	return &Model{Record: rec, w: w, nets: map[[3]int]*Net{}}, nil
}

// Untrained is a model of configuration c with freshly initialised
// weights (seeded) and scale 1: what benchmarks time.
func Untrained(c Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := nn.NewWeights(tensor.Float32, seed)
	n, err := Build(w, c, 1, Training)
	if err != nil {
		return nil, err
	}
	n.Close()
	return &Model{Record: Record{Config: c, Scale: 1}, w: w, nets: map[[3]int]*Net{}}, nil
}

// AppendTo adds the weights to f under prefix (F16 when half) and the
// record to its metadata.
func (m *Model) AppendTo(f *safetensors.File, prefix string, half bool) error {
	rec, err := json.Marshal(m.Record)
	if err != nil {
		return err
	}
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	f.Metadata[recordKey] = string(rec)
	f.Tensors = append(f.Tensors, m.w.Tensors(prefix, half)...)
	return nil
}

// RecordOf reads the autoencoder record from a file's metadata; ok is
// false when there is none.
func RecordOf(f *safetensors.File) (Record, bool, error) {
	raw, ok := f.Metadata[recordKey]
	if !ok {
		return Record{}, false, nil
	}
	var rec Record
	err := json.Unmarshal([]byte(raw), &rec)
	return rec, true, err
}

// Weights are the model's weights (read only).
func (m *Model) Weights() *nn.Weights { return m.w }

func (m *Model) net(kind Kind, batch int) (*Net, error) { return m.netFor(kind, batch, 0) }

// netFor is the compiled graph of one share of a split batch.
func (m *Model) netFor(kind Kind, batch, share int) (*Net, error) {
	key := [3]int{int(kind), batch, share}
	if n, ok := m.nets[key]; ok {
		return n, nil
	}
	n, err := Build(m.w, m.Record.Config, batch, kind)
	if err == nil {
		m.nets[key] = n
	}
	return n, err
}

// Encode turns batch pictures (NHWC in [−1, 1]) into latents.
func (m *Model) Encode(x []float32, batch int) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.net(Encoding, batch)
	if err != nil {
		return nil, err
	}
	return n.Run(x)
}

// EncodeSplit is Encode with the batch split into parts equal shares
// encoded at once, each on its own goroutine and graph: training encodes
// its pictures this way while its kernels are single-threaded per
// replica. Each picture's latent is Encode's (pictures do not mix).
func (m *Model) EncodeSplit(x []float32, batch, parts int) ([]float32, error) {
	if parts <= 1 || batch%parts != 0 {
		return m.Encode(x, batch)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	per, in := batch/parts, len(x)/batch
	nets := make([]*Net, parts)
	for i := range nets {
		var err error
		if nets[i], err = m.netFor(Encoding, per, i); err != nil {
			return nil, err
		}
	}
	outs, errs := make([][]float32, parts), make([]error, parts)
	var wg sync.WaitGroup
	for i := range nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = nets[i].Run(x[i*per*in : (i+1)*per*in])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(outs...), nil
}

// Decode turns batch latents into pictures (NHWC, about [−1, 1]).
func (m *Model) Decode(z []float32, batch int) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.net(Decoding, batch)
	if err != nil {
		return nil, err
	}
	return n.Run(z)
}

// Close frees the compiled graphs.
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.nets {
		n.Close()
	}
	m.nets = map[[3]int]*Net{}
}
