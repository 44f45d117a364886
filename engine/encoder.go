package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gorgonia.org/tensor"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/optim"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// The E4T-style encoder (Gal et al. 2023, "Encoder-based Domain Tuning
// for Fast Personalization"): a small convolutional network that looks at
// one picture of an object and predicts where its pseudo-word's embedding
// should start, as an offset from the class word's. It is pretrained over
// the base model's world with the base frozen: each step shows it one
// render of an object and trains it so that the predicted word lets the
// frozen model denoise other scenes of that same object (the gradient
// reaches the encoder through the word's embedding row). A new concept
// then needs one image and a few tuning steps (the "e4t" method).
//
// E4T's other halves are options of the config: the frozen UNet's
// features of the noised picture as a second input (UNet), and a value
// head (Values) that predicts, for every cross-attention layer, an offset
// to the concept word's value: a rank-one change of the layer's value
// projection, which the e4t method writes as Perfusion's value targets
// o*_V (encoder_unet.go).

// EncoderConfig is the encoder's architecture: a 3×3 convolution at full
// resolution, one stride-2 3×3 convolution per further entry of Channels
// (each with GroupNorm and SiLU), the last map flattened into a Linear to
// Feature values, SiLU, and a zero-initialised Linear to the text width
// (so an untrained encoder predicts the class word itself).
type EncoderConfig struct {
	ImageSize int   `json:"image_size"`
	Channels  []int `json:"channels"`
	Groups    int   `json:"groups"`
	Feature   int   `json:"feature"`
	TextDim   int   `json:"text_dim"`
	// Values is the value head's length: the cross-attention layers'
	// value widths summed (0: no value head, the embedding alone).
	Values int `json:"values,omitempty"`
	// UNet is the width of the frozen UNet's middle-block features, the
	// second input (0: the picture alone); FeatureT the timestep the
	// picture is noised to before they are read.
	UNet     int `json:"unet,omitempty"`
	FeatureT int `json:"feature_t,omitempty"`
}

// DefaultEncoderConfig is the encoder for a base model whose text width
// is dim: 32×32 → 32 → 16×16×64 → 8×8×128 → 4×4×128 → 256 → dim.
func DefaultEncoderConfig(dim int) EncoderConfig {
	return EncoderConfig{ImageSize: 32, Channels: []int{32, 64, 128, 128}, Groups: 8, Feature: 256, TextDim: dim}
}

// TinyEncoderConfig is for tests.
func TinyEncoderConfig(dim int) EncoderConfig {
	return EncoderConfig{ImageSize: 16, Channels: []int{8, 16}, Groups: 4, Feature: 16, TextDim: dim}
}

func (c EncoderConfig) validate() error {
	if c.ImageSize < 4 || len(c.Channels) < 1 || c.Groups < 1 || c.Feature < 1 || c.TextDim < 1 || c.Values < 0 || c.UNet < 0 || c.FeatureT < 0 {
		return fmt.Errorf("encoder: bad config %+v", c)
	}
	for _, ch := range c.Channels {
		if ch%c.Groups != 0 {
			return fmt.Errorf("encoder: %d channels in %d groups", ch, c.Groups)
		}
	}
	return nil
}

const (
	encPrefix     = "enc"
	encInImages   = "images"
	encInUpstream = "upstream"
	encInUNet     = "unet_features"
	encRecordKey  = "conceptstudio.encoder"
	encStateKey   = "conceptstudio.encoder_train_state"
	EncoderFile   = "encoder.safetensors"
	encCheckpoint = "checkpoint.safetensors"
)

// encoderNet is one compiled graph of the encoder for a batch: offsets
// out (TextDim for the word, then Values for the value head), and the
// loss Σ offset⊙upstream, whose gradient with respect to the
// encoder's weights is the chain rule's for an upstream gradient of the
// offsets (set "upstream" to dL/d offset).
type encoderNet struct {
	g      *nn.Graph
	prog   *ops.Program
	offset *ops.Node
}

func buildEncoderNet(w *nn.Weights, c EncoderConfig, batch int) (*encoderNet, error) {
	return ops.Retry(func() (*encoderNet, error) { return buildEncoderNetOnce(w, c, batch) })
}

// buildEncoderNetOnce is one try of buildEncoderNet.
func buildEncoderNetOnce(w *nn.Weights, c EncoderConfig, batch int) (n *encoderNet, err error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encoder: building the network: %v", r)
		}
	}()
	g := nn.NewGraph(w, nil)
	b := g.B
	root := g.Root().Sub(encPrefix)
	h := b.Input(encInImages, batch, c.ImageSize, c.ImageSize, 3)
	side := c.ImageSize
	for i, ch := range c.Channels {
		stride := 2
		if i == 0 {
			stride = 1
		} else {
			side = (side + 1) / 2
		}
		h = root.Sub(fmt.Sprintf("conv%d", i)).Conv(h, ch, 3, stride)
		h = b.SiLU(root.Sub(fmt.Sprintf("norm%d", i)).GroupNorm(h, c.Groups))
	}
	h = b.Reshape(h, batch, side*side*c.Channels[len(c.Channels)-1])
	h = root.Sub("feat").Linear(h, c.Feature, true)
	if c.UNet > 0 {
		h = b.Add(h, root.Sub("unet").Linear(b.Input(encInUNet, batch, c.UNet), c.Feature, false))
	}
	h = b.SiLU(h)
	n = &encoderNet{g: g}
	n.offset = root.Sub("head").LinearZero(h, c.TextDim+c.Values)
	up := b.Input(encInUpstream, batch, c.TextDim+c.Values)
	if n.prog, err = b.Compile(b.Dot(n.offset, up), n.offset); err != nil {
		return nil, err
	}
	return n, nil
}

// run sets the inputs (unet nil unless the config takes UNet features)
// and runs forward and backward; it returns the offsets
// (batch×(TextDim+Values), valid until the next run).
func (n *encoderNet) run(images, unet, upstream []float32) ([]float32, error) {
	copy(n.g.B.InputValue(encInImages).Data().([]float32), images)
	if unet != nil {
		copy(n.g.B.InputValue(encInUNet).Data().([]float32), unet)
	}
	up := n.g.B.InputValue(encInUpstream).Data().([]float32)
	if upstream == nil {
		clear(up)
	} else {
		copy(up, upstream)
	}
	if err := n.prog.Run(); err != nil {
		return nil, err
	}
	return ops.Value(n.offset).Data().([]float32), nil
}

// EncoderRecord is what an encoder file says of itself.
type EncoderRecord struct {
	Config     EncoderConfig `json:"config"`
	BaseID     string        `json:"base_id"` // the base model it was trained for
	Steps      int           `json:"steps"`
	Loss       float64       `json:"loss"`
	CPUSeconds float64       `json:"cpu_seconds"`
}

// Encoder is a trained encoder. It is safe for concurrent use.
type Encoder struct {
	Record EncoderRecord
	w      *nn.Weights
	mu     sync.Mutex
	nets   map[int]*encoderNet
}

// LoadEncoder reads an encoder file written by TrainEncoder.
func LoadEncoder(path string) (*Encoder, error) {
	f, err := safetensors.ReadFile(path, safetensors.ReadOptions{MaxHeaderSize: 4 << 20, RejectNonFinite: true})
	if err != nil {
		return nil, fmt.Errorf("reading the encoder %s: %w", path, err)
	}
	var rec EncoderRecord
	if err := json.Unmarshal([]byte(f.Metadata[encRecordKey]), &rec); err != nil {
		return nil, fmt.Errorf("%s is not an encoder file Concept Studio wrote", path)
	}
	e, err := encoderFromTensors(rec, f.Tensors, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// encoderFromTensors builds an encoder from its record and the tensors
// named prefix + weight name.
func encoderFromTensors(rec EncoderRecord, ts []safetensors.Tensor, prefix string) (*Encoder, error) {
	if err := rec.Config.validate(); err != nil {
		return nil, err
	}
	w := nn.NewWeights(tensor.Float32, 1)
	if _, err := buildEncoderNet(w, rec.Config, 1); err != nil {
		return nil, err
	}
	if err := w.LoadAll(ts, prefix); err != nil {
		return nil, err
	}
	return &Encoder{Record: rec, w: w, nets: map[int]*encoderNet{}}, nil
}

// encFilePrefix names an encoder's tensors in a base-model file (it does
// not change the base's ID: it draws nothing).
const encFilePrefix = "enc/"

// appendTo adds the encoder's weights (F16 when half) and record to a
// model file.
func (e *Encoder) appendTo(f *safetensors.File, half bool) error {
	rec, err := json.Marshal(e.Record)
	if err != nil {
		return err
	}
	f.Metadata[encRecordKey] = string(rec)
	f.Tensors = append(f.Tensors, e.w.Tensors(encFilePrefix, half)...)
	return nil
}

// ModelHasEncoder reports whether a model file's metadata says it carries
// an encoder (the e4t method's start), reading the header only.
func ModelHasEncoder(meta map[string]string) bool {
	_, ok := meta[encRecordKey]
	return ok
}

// AttachEncoder gives the base an encoder trained for it (Save then
// writes it into the model file).
func (b *Base) AttachEncoder(e *Encoder) error {
	if err := e.fits(b); err != nil {
		return err
	}
	b.Encoder = e
	return nil
}

// fits says whether the encoder was trained for base b, in plain words if
// not.
func (e *Encoder) fits(b *Base) error {
	if e.Record.BaseID != b.ID() {
		return fmt.Errorf("the encoder was trained for another base model (%s, this one is %s); train one for this model with the encoder command", e.Record.BaseID, b.ID())
	}
	if e.Record.Config.TextDim != b.Cfg.TextDim {
		return fmt.Errorf("the encoder predicts %d values, the model's words have %d", e.Record.Config.TextDim, b.Cfg.TextDim)
	}
	return nil
}

// Predict returns the encoder's offsets for each picture (ImageSize² × 3
// values in [-1, 1], NHWC): the word's (TextDim values), then the value
// head's (Values). unet holds each picture's UNet features (UNet values;
// nil for an encoder without that input).
func (e *Encoder) Predict(pictures, unet [][]float32) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.Record.Config
	per := c.ImageSize * c.ImageSize * 3
	if (c.UNet > 0) != (unet != nil) || (unet != nil && len(unet) != len(pictures)) {
		return nil, fmt.Errorf("encoder: %d pictures with %d UNet readings for an encoder that takes %d features", len(pictures), len(unet), c.UNet)
	}
	n := e.nets[len(pictures)]
	if n == nil {
		var err error
		if n, err = buildEncoderNet(e.w, c, len(pictures)); err != nil {
			return nil, err
		}
		e.nets[len(pictures)] = n
	}
	x := make([]float32, len(pictures)*per)
	for i, p := range pictures {
		if len(p) != per {
			return nil, fmt.Errorf("encoder: a picture of %d values, want %d", len(p), per)
		}
		copy(x[i*per:], p)
	}
	var u []float32
	for _, f := range unet {
		if len(f) != c.UNet {
			return nil, fmt.Errorf("encoder: %d UNet features, want %d", len(f), c.UNet)
		}
		u = append(u, f...)
	}
	off, err := n.run(x, u, nil)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(pictures))
	W := c.TextDim + c.Values
	for i := range out {
		out[i] = slices.Clone(off[i*W : (i+1)*W])
	}
	return out, nil
}

// EncoderTrainOptions configure TrainEncoder; zero values take
// DefaultEncoderTrain's.
type EncoderTrainOptions struct {
	Dir    string
	Config EncoderConfig // zero: DefaultEncoderConfig(the base's text width)
	Steps  int           // the learning-rate schedule's length
	Batch  int
	LR     float64
	// L2 weighs the squared length of the predicted offsets (E4T's
	// regulariser: the word stays near its class, the values near theirs).
	L2 float64
	// ValueHead adds the value head (EncoderConfig.Values), UNetInput the
	// frozen UNet's features as a second input (EncoderConfig.UNet).
	ValueHead, UNetInput bool
	Seed                 uint64
	// CPUBudget ends the run once its training has used this much CPU
	// time, all sittings together (0: none).
	CPUBudget time.Duration
	// StopAfter trains at most this many steps in this sitting (0: to
	// the end).
	StopAfter       int
	CheckpointEvery time.Duration
}

// DefaultEncoderTrain is the encoder's pretraining recipe.
func DefaultEncoderTrain() EncoderTrainOptions {
	return EncoderTrainOptions{Steps: 4000, Batch: 16, LR: 3e-4, L2: 1e-3, Seed: 1, CheckpointEvery: 5 * time.Minute}
}

// EncoderProgress is one report of TrainEncoder.
type EncoderProgress struct {
	Step, Total int
	Loss        float64 // the diffusion loss, mean over the report window
	CPUHours    float64
	Message     string
}

type encoderState struct {
	Step       int     `json:"step"`
	AdamStep   int     `json:"adam_step"`
	RNG        string  `json:"rng"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Loss       float64 `json:"loss"`
	Options    string  `json:"options"`
}

func (s *encoderState) ResumeFrom() (int, string) { return s.AdamStep, s.RNG }

// encoderSlot names the pseudo-word of picture i of a training batch (one per
// picture of the batch, reused each step).
func encoderSlot(i int) string {
	return fmt.Sprintf("encslot%c", 'a'+rune(i%26)) + strings.Repeat("z", i/26)
}

// TrainEncoder pretrains an encoder for the base model in opt.Dir,
// resumably (a folder with a checkpoint is continued exactly), writing
// EncoderFile at every checkpoint.
func (b *Base) TrainEncoder(ctx context.Context, opt EncoderTrainOptions, progress func(EncoderProgress)) error {
	def := DefaultEncoderTrain()
	if opt.Config.ImageSize == 0 {
		opt.Config = DefaultEncoderConfig(b.Cfg.TextDim)
	}
	opt.Config.TextDim = b.Cfg.TextDim
	if opt.ValueHead {
		opt.Config.Values = b.valueWidth()
	}
	if opt.UNetInput {
		opt.Config.UNet, opt.Config.FeatureT = unetFeatureWidth(b.Cfg), encoderFeatureT
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
	if opt.L2 == 0 {
		opt.L2 = def.L2
	}
	if opt.Seed == 0 {
		opt.Seed = def.Seed
	}
	if opt.CheckpointEvery == 0 {
		opt.CheckpointEvery = def.CheckpointEvery
	}
	if progress == nil {
		progress = func(EncoderProgress) {}
	}
	if opt.Dir == "" {
		return errors.New("encoder training needs a run folder")
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return err
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	B, D := opt.Batch, b.Cfg.TextDim

	// The encoder and its optimizer.
	ew := nn.NewWeights(tensor.Float32, opt.Seed)
	enc, err := buildEncoderNet(ew, opt.Config, B)
	if err != nil {
		return err
	}
	defer enc.prog.Close()
	learn, params := ops.TrainingParams(enc.g.B.Params())
	adam := optim.NewAdamW(optim.Group{LR: opt.LR, WeightDecay: 0.01}, optim.Group{LR: opt.LR})
	pcg := rand.NewPCG(opt.Seed, 0xE47)
	rng := rand.New(pcg)

	recipe := opt
	recipe.CPUBudget, recipe.StopAfter, recipe.Dir = 0, 0, ""
	optsJSON, _ := json.Marshal(recipe)
	st := encoderState{Options: string(optsJSON)}
	ckpt := filepath.Join(opt.Dir, encCheckpoint)
	load := func(rest []safetensors.Tensor) error { _, err := ew.LoadPrefixed(rest, ""); return err }
	if found, err := optim.Resume(ckpt, encStateKey, &st, load, adam, pcg); err != nil {
		return fmt.Errorf("resuming from %s: %w", ckpt, err)
	} else if found {
		if st.Options != string(optsJSON) {
			return fmt.Errorf("%s holds an encoder run with other settings; choose another folder", ckpt)
		}
		progress(EncoderProgress{Step: st.Step, Total: opt.Steps, Message: fmt.Sprintf("resumed at step %d", st.Step)})
	}
	save := func() error {
		st.AdamStep = adam.StepCount()
		var err error
		if st.RNG, err = optim.EncodeRNG(pcg); err != nil {
			return err
		}
		if err := optim.WriteCheckpoint(ckpt, encStateKey, st, nil, ew.Tensors("", false), adam, nil); err != nil {
			return err
		}
		return writeEncoder(filepath.Join(opt.Dir, EncoderFile), ew, EncoderRecord{Config: opt.Config, BaseID: b.ID(), Steps: st.Step, Loss: st.Loss, CPUSeconds: st.CPUSeconds})
	}

	// The frozen base, with one pseudo-word per picture of a batch; only
	// the token table's gradient is wanted (it carries dL/d word).
	s := b.newSession()
	slots := make([]int, B)
	for i := range slots {
		if slots[i], err = s.tok.BindPseudoWord(encoderSlot(i)); err != nil {
			return err
		}
	}
	// The value head's offsets enter every cross-attention layer at the
	// slot words (slotValues); only they and the token table learn.
	layers := b.crossLayers()
	if opt.Config.Values > 0 {
		for _, l := range layers {
			s.kv[l] = slotValues{batch: B}
		}
	}
	frozen := func(name string) bool {
		return name != tokTable && !strings.HasSuffix(name, "."+slotValueWeight)
	}
	reps, err := newReplicas(s.w, b.Cfg, B, 0, model.NetOptions{Frozen: frozen, KV: s.kv}, nil)
	if err != nil {
		return err
	}
	defer reps.Close()
	var embFull *optim.Param
	dvs := map[string]*optim.Param{}
	for _, p := range reps.Params {
		if p.Name == tokTable {
			embFull = p
		}
		if l, ok := strings.CutSuffix(p.Name, "."+slotValueWeight); ok {
			dvs[l] = p
		}
	}
	if opt.Config.Values > 0 && len(dvs) != len(layers) {
		return fmt.Errorf("encoder: the value head found %d of %d cross-attention layers", len(dvs), len(layers))
	}
	var reader *unetReader
	if opt.Config.UNet > 0 {
		if reader, err = b.newUNetReader(s, B, opt.Config.FeatureT); err != nil {
			return err
		}
		defer reader.Close()
	}
	W := D + opt.Config.Values
	if embFull == nil {
		return errors.New("encoder: the base model has no token table")
	}
	td := embFull.Value // the rows the replicas read

	renderer := dataset.NewRenderer(atlas)
	S, C, L := b.Cfg.ImageSize, b.Cfg.InChannels, b.Cfg.MaxLen
	per := S * S * C
	P := b.PictureSize()
	var pix []float32
	if b.AE != nil {
		pix = make([]float32, B*P*P*3)
	}
	E := opt.Config.ImageSize
	eper := E * E * 3
	encIn := make([]float32, B*eper)
	x0 := make([]float32, B*per)
	noise := make([]float32, B*per)
	ids := make([]int, B*L)
	lengths := make([]int, B)
	// A base that takes frames (and reference pictures) is given them as
	// concept training gives them (trainingFrames): the slot's own
	// picture in its frame, so the encoder learns what the words add to
	// the picture the base draws from.
	var frames [][model.FrameSlots]model.Frame
	if b.Cfg.Frames {
		frames = make([][model.FrameSlots]model.Frame, B)
	}
	refs, rper := b.refBuffer(B)
	classEmb := make([]float32, B*D)
	upstream := make([]float32, B*W)
	nSprites := len(atlas.Sprites)
	budget := &optim.Budget{Limit: opt.CPUBudget, Clock: processCPU, Used: &st.CPUSeconds}
	end := opt.Steps
	if opt.StopAfter > 0 {
		end = min(end, st.Step+opt.StopAfter)
	}
	loop := &optim.Loop{
		Params: params, Adam: adam, Budget: budget,
		Schedule: func(step int) {
			lr := optim.CosineLR(step, min(200, opt.Steps/10), opt.Steps, opt.LR, opt.LR/10)
			adam.Groups[0].LR, adam.Groups[1].LR = lr, lr
		},
		Grads: func(int) (float64, error) {
			for i := 0; i < B; i++ {
				sprite := rng.IntN(nSprites)
				name := atlas.Sprites[sprite].Name
				ref, err := encoderView(atlas, sprite, rng.Float64() < 0.5)
				if err != nil {
					return 0, err
				}
				renderer.Render(ref, E, encIn[i*eper:(i+1)*eper])
				if reader != nil {
					if err := reader.set(i, renderer, ref, name); err != nil {
						return 0, err
					}
				}
				sc := atlas.RandomScene(rng, dataset.SceneOptions{Sprites: []int{sprite}, PatternProb: 0.25, FlipProb: 0.5})
				if pix != nil {
					renderer.Render(sc, P, pix[i*P*P*3:(i+1)*P*P*3])
				} else {
					renderer.Render(sc, S, x0[i*per:(i+1)*per])
				}
				caption := wordForClass(dataset.Caption(atlas, sc, rng), name, encoderSlot(i)+"*")
				e, n, err := s.encode(caption)
				if err != nil {
					return 0, fmt.Errorf("training caption %q: %w", caption, err)
				}
				copy(ids[i*L:(i+1)*L], e)
				lengths[i] = n
				if frames != nil {
					clear(refsOf(refs, i, rper))
					frames[i] = b.trainingFrames(renderer, sc, caption, rng, refsOf(refs, i, rper))
				}
				words := dataset.Words(name)
				cid, ok := s.tok.ID(words[len(words)-1])
				if !ok {
					return 0, fmt.Errorf("encoder: the model does not know the class word %q", name)
				}
				copy(classEmb[i*D:(i+1)*D], b.classEmbedding(cid))
			}
			if pix != nil {
				z, err := b.encodePictures(pix, B)
				if err != nil {
					return 0, err
				}
				copy(x0, z)
			}
			var feats []float32
			if reader != nil {
				if feats, err = reader.read(rng); err != nil {
					return 0, err
				}
			}
			// The encoder's words: class word + predicted offset; its
			// values' offsets into each layer's slot weight.
			off, err := enc.run(encIn, feats, nil)
			if err != nil {
				return 0, err
			}
			for i, id := range slots {
				for j := 0; j < D; j++ {
					td[id*D+j] = classEmb[i*D+j] + off[i*W+j]
				}
			}
			eachValue(layers, dvs, B, D, func(dv *optim.Param, i, c, at int) { dv.Value[i*(len(dv.Value)/B)+c] = off[i*W+at] })
			nb, err := b.noiseBatch(rng, x0, noise, B, lossWeighting{minSNR: 5})
			if err != nil {
				return 0, err
			}
			loss, err := reps.run(func(net *model.Net, lo, hi int) error {
				if err := net.Set(nb.xt[lo*per:hi*per], nb.t[lo:hi], ids[lo*L:hi*L], lengths[lo:hi], nb.target[lo*per:hi*per], nb.weights[lo:hi]); err != nil {
					return err
				}
				if len(dvs) > 0 {
					if err := net.SetExtra(encSlotsInput, slotMask(ids, slots, L, lo, hi)); err != nil {
						return err
					}
				}
				return setPlaces(net, frames, refs, rper, lo, hi)
			})
			if err != nil {
				return 0, err
			}
			// dL/d offset_i is the gradient of picture i's word row (and
			// of its slot values), plus the regulariser's 2·L2·offset.
			l2 := float32(2 * opt.L2)
			for i, id := range slots {
				for j := 0; j < D; j++ {
					upstream[i*W+j] = embFull.Grad[id*D+j] + l2*off[i*W+j]
				}
			}
			eachValue(layers, dvs, B, D, func(dv *optim.Param, i, c, at int) {
				upstream[i*W+at] = dv.Grad[i*(len(dv.Value)/B)+c] + l2*off[i*W+at]
			})
			if _, err := enc.run(encIn, feats, upstream); err != nil {
				return 0, err
			}
			enc.prog.SetGrads(learn, params)
			return loss, nil
		},
		Report: func(r optim.Report) {
			st.Step, st.Loss = r.Done, r.Loss
			progress(EncoderProgress{Step: r.Done, Total: opt.Steps, Loss: r.Loss, CPUHours: st.CPUSeconds / 3600})
		},
		ReportEvery: 25,
		Save:        func(done int) error { st.Step = done; return save() },
		SaveEvery:   opt.CheckpointEvery,
		SaveAtEnd:   true,
	}
	done, err := loop.Run(ctx, st.Step, end)
	st.Step = done
	if err != nil {
		return err
	}
	if budget.Spent() {
		progress(EncoderProgress{Step: st.Step, Total: opt.Steps, CPUHours: st.CPUSeconds / 3600, Message: fmt.Sprintf("stopped at the CPU budget: %.2f CPU-hours", st.CPUSeconds/3600)})
	}
	return nil
}

// eachValue calls f for every value-head output: layer weight dv, picture
// i, channel c, and its place at in a picture's offsets (after the D of
// the word). No layers, no calls.
func eachValue(layers []string, dvs map[string]*optim.Param, B, D int, f func(dv *optim.Param, i, c, at int)) {
	if len(dvs) == 0 {
		return
	}
	at := D
	for _, l := range layers {
		dv := dvs[l]
		C := len(dv.Value) / B
		for i := 0; i < B; i++ {
			for c := 0; c < C; c++ {
				f(dv, i, c, at+c)
			}
		}
		at += C
	}
}

// encoderView is what the encoder sees of an object: the sprite alone,
// big in the middle of a plain white picture (gray, then black, where
// white is not allowed behind it: a white object), as a user's cut-out is
// shown to it.
func encoderView(a *dataset.Atlas, sprite int, flip bool) (dataset.Scene, error) {
	p, err := a.PlaceSingle(nil, sprite, "centre", "big", flip)
	if err != nil {
		return dataset.Scene{}, err
	}
	return dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: encoderBackground(func(bg string) bool { return a.BackgroundAllowed(sprite, bg) })}}, nil
}

func encoderBackground(allowed func(string) bool) string {
	for _, bg := range []string{"white", "gray", "black"} {
		if allowed(bg) {
			return bg
		}
	}
	return "white"
}

// wordForClass puts word in place of the first mention of the class name
// in a caption ("a big teddy bear on the left" → "a big encslota* on the
// left"); a caption that does not name it gets "a word" instead.
func wordForClass(caption, class, word string) string {
	if i := strings.Index(caption, class); i >= 0 {
		return caption[:i] + word + caption[i+len(class):]
	}
	return "a " + word
}

// classEmbedding is the base model's embedding row of a token.
func (b *Base) classEmbedding(id int) []float32 {
	t, _ := b.W.Lookup(tokTable)
	D := b.Cfg.TextDim
	return t.Data().([]float32)[id*D : (id+1)*D]
}

func writeEncoder(path string, w *nn.Weights, rec EncoderRecord) error {
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f := &safetensors.File{Metadata: map[string]string{encRecordKey: string(recJSON)}, Tensors: w.Tensors("", false)}
	return safefile.Write(path, func(wr io.Writer) error { return safetensors.Encode(wr, f) })
}
