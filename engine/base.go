package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// covInvName is the model-file tensor holding Perfusion's C⁻¹.
const covInvName = "perfusion.cov_inverse"

// ErrBadModel marks a base-model file that cannot be used.
var ErrBadModel = errors.New("not a usable base model")

// Base is a text-to-image base model: configuration, weights, tokenizer
// and the diffusion set-up it was trained with.
type Base struct {
	Cfg   model.Config
	Pred  diffusion.PredKind
	Sched *diffusion.Schedule
	W     *nn.Weights
	Tok   *dataset.Tokenizer
	// AE is the latent design's autoencoder (nil for pixel designs): the
	// UNet works on its latents (Cfg.ImageSize is the latent's side,
	// Cfg.InChannels its channels) and pictures are its decodings.
	AE *autoenc.Model
	// Encoder, when not nil, predicts a concept's word from its pictures
	// (the e4t method); trained for this base by TrainEncoder.
	Encoder *Encoder
	id      string
}

// aePrefix names an autoencoder's tensors in a base-model file.
const aePrefix = "ae/"

// PictureSize is the side of the pictures the model draws: the
// autoencoder's for a latent design, else the UNet's.
func (b *Base) PictureSize() int {
	if b.AE != nil {
		return b.AE.Record.Config.ImageSize
	}
	return b.Cfg.ImageSize
}

// EmbeddedConfig is the embedded model's architecture (the refs design:
// BaseConfig told where each thing goes and given a reference picture of
// it; model.Config.Frames and Refs) for a tokenizer.
func EmbeddedConfig(tok *dataset.Tokenizer) model.Config {
	c := BaseConfig(tok)
	c.Frames, c.Refs = true, true
	return c
}

// BaseConfig is the base model's architecture for a tokenizer: the
// reference network on a pixel-unshuffled 16×16×12 latent (a quarter of
// the 32×32 network's work per image) with text attention at every level.
func BaseConfig(tok *dataset.Tokenizer) model.Config {
	c := model.Reference()
	c.Unshuffle = true
	c.CrossAttn = []bool{true, true, true}
	c.SelfAttn = []bool{false, true, true}
	// Position embeddings at every spatial transformer: at step 5500
	// without them, prompts' positions were followed at chance (0.12).
	c.PosEmb = true
	// A map from the whole prompt to places at the lowest resolution: with
	// position embeddings alone the base run still ignored "on the left"
	// at step 16400 (model.Config.TextLayout says why).
	c.TextLayout = true
	// Per-token place maps biasing cross-attention: the word maps say
	// that something goes left, not which object ("a cat on the left of a
	// car" and "a car on the left of a cat" pooled the same maps and drew
	// the same pictures at step 21795); model.Config.TextPlaces.
	c.TextPlaces = true
	c.Vocab = len(tok.Vocab())
	c.MaxLen = dataset.MaxCaptionTokens
	return c
}

// NewBase makes an untrained base model with weights drawn from seed.
func NewBase(cfg model.Config, tok *dataset.Tokenizer, pred diffusion.PredKind, seed uint64) (*Base, error) {
	b := &Base{Cfg: cfg, Pred: pred, Sched: diffusion.Cosine(diffusion.DefaultT), W: nn.NewWeights(tensor.Float32, seed), Tok: tok}
	// Building a net once creates every weight.
	n, err := model.Build(b.W, cfg, model.NetOptions{Batch: 1})
	if err != nil {
		return nil, err
	}
	n.Close()
	return b, nil
}

// baseMeta is what a model file's metadata holds besides the weights.
type baseMeta struct {
	Config   model.Config `json:"config"`
	Pred     string       `json:"prediction"`
	Schedule string       `json:"schedule"`
	Vocab    []string     `json:"vocab"`
}

// ID identifies the weights: concept files record it, so a concept made
// for another base model is refused. It is a hash of the weight bytes.
func (b *Base) ID() string {
	if b.id == "" {
		h := sha256.New()
		hash := func(w *nn.Weights, prefix string) {
			for _, name := range w.Names() {
				if trainingOnly(name) {
					continue
				}
				t, _ := w.Lookup(name)
				io.WriteString(h, prefix+name)
				for _, v := range t.Data().([]float32) {
					bits := math.Float32bits(v)
					h.Write([]byte{byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)})
				}
			}
		}
		hash(b.W, "")
		if b.AE != nil {
			hash(b.AE.Weights(), aePrefix)
		}
		b.id = hex.EncodeToString(h.Sum(nil))[:16]
	}
	return b.id
}

// EncodeModel writes the model as safetensors (F16 weights when half is set).
func (b *Base) EncodeModel(w io.Writer, half bool) error {
	f, err := b.file(half)
	if err != nil {
		return err
	}
	f.Tensors = slices.DeleteFunc(f.Tensors, func(t safetensors.Tensor) bool { return trainingOnly(t.Name) })
	return safetensors.Encode(w, f)
}

// trainingOnly reports whether weight name is training's own (the
// representation alignment's MLP), kept in checkpoints but not in model
// files nor in the model's ID.
func trainingOnly(name string) bool { return strings.HasPrefix(name, model.AlignScope+".") }

func (b *Base) file(half bool) (*safetensors.File, error) {
	meta, err := json.Marshal(baseMeta{Config: b.Cfg, Pred: b.Pred.String(), Schedule: "cosine", Vocab: b.Tok.Vocab()})
	if err != nil {
		return nil, err
	}
	f := &safetensors.File{Metadata: map[string]string{"conceptstudio.base": string(meta), "conceptstudio.base_id": b.ID()}}
	if st, ok := baseStats.Load(b); ok && st.(*textStats).cinv != nil {
		cinv := st.(*textStats).cinv
		D := b.Cfg.TextDim
		// Kept in F32 even in half files: it is small and ill-conditioned.
		f.Tensors = append(f.Tensors, safetensors.F32Tensor(covInvName, []int{D, D}, toF32s(cinv)))
	}
	f.Tensors = append(f.Tensors, b.W.Tensors("", half)...)
	if b.AE != nil {
		if err := b.AE.AppendTo(f, aePrefix, half); err != nil {
			return nil, err
		}
	}
	if b.Encoder != nil {
		if err := b.Encoder.appendTo(f, half); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Save writes the model file atomically.
func (b *Base) Save(path string, half bool) error {
	return safefile.Write(path, func(w io.Writer) error { return b.EncodeModel(w, half) })
}

// LoadBase reads a model file (from disk or embedded bytes).
func LoadBase(data []byte) (*Base, error) {
	f, err := safetensors.Decode(data, safetensors.ReadOptions{RejectNonFinite: true, MaxHeaderSize: 64 << 20})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	raw, ok := f.Metadata["conceptstudio.base"]
	if !ok {
		return nil, fmt.Errorf("%w: the file has no Concept Studio base-model metadata", ErrBadModel)
	}
	var m baseMeta
	if err := json.NewDecoder(bytes.NewReader([]byte(raw))).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: metadata: %w", ErrBadModel, err)
	}
	if err := m.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	pred, err := diffusion.ParsePredKind(m.Pred)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	tok, err := dataset.NewTokenizerFromVocab(m.Vocab)
	if err != nil {
		return nil, fmt.Errorf("%w: vocabulary: %w", ErrBadModel, err)
	}
	b := &Base{Cfg: m.Config, Pred: pred, Sched: diffusion.Cosine(diffusion.DefaultT), W: nn.NewWeights(tensor.Float32, 0), Tok: tok}
	if rec, ok, err := autoenc.RecordOf(f); err != nil {
		return nil, fmt.Errorf("%w: autoencoder: %w", ErrBadModel, err)
	} else if ok {
		if b.AE, err = autoenc.FromTensors(rec, f.Tensors, aePrefix); err != nil {
			return nil, fmt.Errorf("%w: autoencoder: %w", ErrBadModel, err)
		}
		if c := rec.Config; c.LatentSize() != m.Config.ImageSize || c.Latent != m.Config.InChannels || m.Config.Unshuffle {
			return nil, fmt.Errorf("%w: the autoencoder's %d×%d×%d latents do not fit the UNet's %d×%d×%d input", ErrBadModel, c.LatentSize(), c.LatentSize(), c.Latent, m.Config.ImageSize, m.Config.ImageSize, m.Config.InChannels)
		}
	}
	for _, t := range f.Tensors {
		if strings.HasPrefix(t.Name, aePrefix) || strings.HasPrefix(t.Name, encFilePrefix) {
			continue
		}
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
		}
		if t.Name == covInvName {
			D := m.Config.TextDim
			if len(v) != D*D {
				return nil, fmt.Errorf("%w: %s has %d values, want %d", ErrBadModel, covInvName, len(v), D*D)
			}
			st := &textStats{cinv: toF64(v)}
			st.once.Do(func() {})
			baseStats.Store(b, st)
			continue
		}
		b.W.Set(t.Name, tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(append([]float32(nil), v...))))
	}
	// Every weight the architecture needs must be present with its shape.
	want := nn.NewWeights(tensor.Float32, 0)
	n, err := model.Build(want, m.Config, model.NetOptions{Batch: 1})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	n.Close()
	var missing []string
	for _, name := range want.Names() {
		wt, _ := want.Lookup(name)
		got, ok := b.W.Lookup(name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		if !got.Shape().Eq(wt.Shape()) {
			return nil, fmt.Errorf("%w: weight %s has shape %v, the architecture needs %v", ErrBadModel, name, got.Shape(), wt.Shape())
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: %d weights missing (first %s)", ErrBadModel, len(missing), missing[0])
	}
	if id := f.Metadata["conceptstudio.base_id"]; id != "" && id != b.ID() {
		// F16 files hash differently from the F32 weights they came from;
		// the recorded id is the model's identity.
		b.id = id
	}
	if raw, ok := f.Metadata[encRecordKey]; ok {
		var rec EncoderRecord
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			return nil, fmt.Errorf("%w: encoder: %w", ErrBadModel, err)
		}
		e, err := encoderFromTensors(rec, f.Tensors, encFilePrefix)
		if err != nil {
			return nil, fmt.Errorf("%w: encoder: %w", ErrBadModel, err)
		}
		if err := b.AttachEncoder(e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
		}
	}
	return b, nil
}

// LoadBaseFile reads a model file from disk.
func LoadBaseFile(path string) (*Base, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := LoadBase(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// ExportBase writes a trained model (a run's model-ema.safetensors) as the
// file to embed: F16 weights plus Perfusion's C⁻¹, computed now.
func ExportBase(from, to string) error {
	b, err := LoadBaseFile(from)
	if err != nil {
		return err
	}
	return exportBase(b, to)
}

// ExportRunRaw is ExportBase for a run's current optimizer weights instead
// of their moving average: the newest checkpoint's "w/" tensors in the
// architecture and vocabulary of the run's model-ema.safetensors. The
// average lags the weights by about 1/(1-decay) steps, so this shows sooner
// whether the run has started to learn something.
func ExportRunRaw(dir, to string) error {
	b, err := LoadBaseFile(filepath.Join(dir, emaModelFile))
	if err != nil {
		return err
	}
	path := filepath.Join(dir, checkpointFile)
	f, err := safetensors.ReadFile(path, safetensors.ReadOptions{MaxHeaderSize: 64 << 20, RejectNonFinite: true})
	if err != nil {
		return err
	}
	found, err := b.W.LoadPrefixed(f.Tensors, checkpointWeights)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, name := range b.W.Names() {
		if !found[name] {
			return fmt.Errorf("%s: the checkpoint has no weight %s", path, name)
		}
	}
	b.id = ""
	baseStats.Delete(b) // C⁻¹ belongs to the averaged text encoder
	return exportBase(b, to)
}

func exportBase(b *Base, to string) error {
	if _, err := b.CovInverse(); err != nil {
		return err
	}
	b.ID() // the identity is the F32 weights'
	return b.Save(to, true)
}
