package optim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"

	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// Checkpoint tensor-name prefixes shared by every training loop: the
// optimizer's moments and the moving average's shadows.
const (
	adamPrefix = "adam/"
	emaPrefix  = "ema/"
)

// AppendState adds what a resumed run needs of the optimizer to a
// checkpoint file: AdamW's moments as "adam/…" and, when ema is not nil,
// the moving average's shadows as "ema/…" (F32). Save the step counts
// (StepCount, Updates) in the file's metadata.
func AppendState(f *safetensors.File, adam *AdamW, ema *EMA) {
	for k, v := range adam.State() {
		f.Tensors = append(f.Tensors, safetensors.F32Tensor(adamPrefix+k, []int{len(v)}, v))
	}
	if ema == nil {
		return
	}
	for k, v := range ema.State() {
		f.Tensors = append(f.Tensors, safetensors.F32Tensor(emaPrefix+k, []int{len(v)}, v))
	}
}

// SplitState is AppendState's reverse: it takes a checkpoint's "adam/" and
// "ema/" tensors out (copied, for AdamW.Load and EMA.Load) and returns the
// rest as they are.
func SplitState(f *safetensors.File) (adam, ema map[string][]float32, rest []safetensors.Tensor, err error) {
	adam, ema = map[string][]float32{}, map[string][]float32{}
	for _, t := range f.Tensors {
		dst := adam
		name, ok := strings.CutPrefix(t.Name, adamPrefix)
		if !ok {
			dst = ema
			name, ok = strings.CutPrefix(t.Name, emaPrefix)
		}
		if !ok || name == "" {
			rest = append(rest, t)
			continue
		}
		v, err := t.Float32()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("checkpoint tensor %s: %w", t.Name, err)
		}
		dst[name] = append([]float32(nil), v...)
	}
	return adam, ema, rest, nil
}

// EncodeRNG writes a generator's state as text, for a checkpoint's
// metadata.
func EncodeRNG(p *rand.PCG) (string, error) {
	b, err := p.MarshalBinary()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeRNG restores a generator from EncodeRNG's text.
func DecodeRNG(s string, p *rand.PCG) error {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("checkpoint random state: %w", err)
	}
	if err := p.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("checkpoint random state: %w", err)
	}
	return nil
}

// WriteCheckpoint writes a training run's resumable state in one file,
// atomically: the run's tensors (named by the caller), AdamW's moments and,
// with ema, the moving average's shadows (AppendState), and state as JSON
// under the metadata key key (meta: more metadata; may be nil). Every
// training loop (base model, concept, judge and oracle, autoencoder) saves
// through it.
func WriteCheckpoint(path, key string, state any, meta map[string]string, tensors []safetensors.Tensor, adam *AdamW, ema *EMA) error {
	js, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("checkpoint state: %w", err)
	}
	f := &safetensors.File{Metadata: map[string]string{}, Tensors: tensors}
	for k, v := range meta {
		f.Metadata[k] = v
	}
	f.Metadata[key] = string(js)
	AppendState(f, adam, ema)
	return safefile.Write(path, func(w io.Writer) error { return safetensors.Encode(w, f) })
}

// ReadCheckpoint reads what WriteCheckpoint wrote: state from the key's
// JSON, then the optimizer's and average's tensors (SplitState) and the
// rest, with the file's metadata.
func ReadCheckpoint(path, key string, state any, opt safetensors.ReadOptions) (adam, ema map[string][]float32, rest []safetensors.Tensor, meta map[string]string, err error) {
	f, err := safetensors.ReadFile(path, opt)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := json.Unmarshal([]byte(f.Metadata[key]), state); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%s: train state: %w", path, err)
	}
	adam, ema, rest, err = SplitState(f)
	return adam, ema, rest, f.Metadata, err
}

// Resumable is a trainer's checkpointed state as Resume needs it: the
// optimizer's step count and the random source (EncodeRNG's).
type Resumable interface {
	ResumeFrom() (adamStep int, rng string)
}

// Resume continues a run from the checkpoint at path when there is one
// (found false when there is none): the trainer's state into state,
// load(rest) for its weights, AdamW's moments at the state's step count
// and the random source pcg. The trainers without a moving average share
// it (the segmenter, the encoder).
func Resume(path, key string, state Resumable, load func(rest []safetensors.Tensor) error, adam *AdamW, pcg *rand.PCG) (found bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	adamState, _, rest, _, err := ReadCheckpoint(path, key, state, safetensors.ReadOptions{MaxHeaderSize: 4 << 20})
	if err == nil {
		err = load(rest)
	}
	step, rng := state.ResumeFrom()
	if err == nil {
		err = adam.Load(adamState, step)
	}
	if err == nil {
		err = DecodeRNG(rng, pcg)
	}
	return true, err
}
