package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"time"

	"conceptstudio/engine/nn"
	"conceptstudio/engine/optim"
	"conceptstudio/engine/safetensors"
)

// conceptCheckpoint saves and restores a concept-training run: the learned
// values, the optimizer's moments, Perfusion's i*, the random state and
// the step.
type conceptCheckpoint struct {
	path   string
	opt    TrainOptions
	params []*optim.Param
	adam   *optim.AdamW
	pcg    *rand.PCG
	pc     *perfusionConcept
	start  time.Time // when this sitting started
	prior  float64   // training seconds of earlier sittings (after load)
}

type conceptCkptMeta struct {
	Method   Method  `json:"method"`
	Name     string  `json:"name"`
	Class    string  `json:"class"`
	Steps    int     `json:"steps"`
	Batch    int     `json:"batch"`
	Seed     uint64  `json:"seed"`
	Step     int     `json:"step"`
	AdamStep int     `json:"adam_step"`
	RNG      string  `json:"rng"`
	Global   bool    `json:"global_locking,omitempty"`
	Keys     bool    `json:"trained_keys,omitempty"`
	Seconds  float64 `json:"seconds"` // training time so far, all sittings
}

func (c *conceptCheckpoint) meta(step int) (conceptCkptMeta, error) {
	rng, err := optim.EncodeRNG(c.pcg)
	if err != nil {
		return conceptCkptMeta{}, err
	}
	return conceptCkptMeta{Method: c.opt.Method, Name: c.opt.Name, Class: c.opt.Class, Steps: c.opt.Steps, Batch: c.opt.Batch,
		Seed: c.opt.Seed, Step: step, AdamStep: c.adam.StepCount(), RNG: rng,
		Global: c.opt.GlobalLocking, Keys: c.opt.TrainKeys, Seconds: c.prior + time.Since(c.start).Seconds()}, nil
}

// save writes the state before step `step` atomically.
func (c *conceptCheckpoint) save(step int) error {
	m, err := c.meta(step)
	if err != nil {
		return err
	}
	var ts []safetensors.Tensor
	for _, p := range c.params {
		ts = append(ts, safetensors.F32Tensor("param/"+p.Name, []int{len(p.Value)}, p.Value))
	}
	if c.pc != nil {
		// i* is kept in float64: store its exact bits, so a resumed run
		// matches an uninterrupted one bit for bit.
		raw := make([]byte, 8*len(c.pc.iStar))
		for i, v := range c.pc.iStar {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
		}
		ts = append(ts, safetensors.Tensor{Name: "i_star", DType: safetensors.U8, Shape: []int{len(raw)}, Data: raw})
	}
	return optim.WriteCheckpoint(c.path, conceptStateKey, m, nil, ts, c.adam, nil)
}

// conceptStateKey is the checkpoint metadata key of a concept training's
// state.
const conceptStateKey = "conceptstudio.train_concept"

// load restores a checkpoint if one exists and returns the step to start
// from (0 when there is none). A checkpoint of another run is refused.
func (c *conceptCheckpoint) load(w *nn.Weights) (int, error) {
	var m conceptCkptMeta
	adamState, _, rest, _, err := optim.ReadCheckpoint(c.path, conceptStateKey, &m, safetensors.ReadOptions{RejectNonFinite: true})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("training checkpoint: %w", err)
	}
	if m.Method != c.opt.Method || m.Name != c.opt.Name || m.Class != c.opt.Class || m.Steps != c.opt.Steps || m.Batch != c.opt.Batch || m.Seed != c.opt.Seed || m.Global != c.opt.GlobalLocking || m.Keys != c.opt.TrainKeys {
		return 0, fmt.Errorf("the training checkpoint %s belongs to another run (%s %s* of %q, %d steps); delete it to start afresh", c.path, m.Method, m.Name, m.Class, m.Steps)
	}
	byName := map[string]*optim.Param{}
	for _, p := range c.params {
		byName[p.Name] = p
	}
	for _, t := range rest {
		if t.Name == "i_star" {
			if c.pc == nil || t.DType != safetensors.U8 || len(t.Data) != 8*len(c.pc.iStar) {
				return 0, fmt.Errorf("training checkpoint: i_star does not fit this run")
			}
			for i := range c.pc.iStar {
				c.pc.iStar[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
			}
			c.pc.refresh(w)
			continue
		}
		v, err := t.Float32()
		if err != nil {
			return 0, err
		}
		switch {
		case len(t.Name) > 6 && t.Name[:6] == "param/":
			p := byName[t.Name[6:]]
			if p == nil || len(p.Value) != len(v) {
				return 0, fmt.Errorf("training checkpoint: %s does not fit this run", t.Name)
			}
			copy(p.Value, v)
		}
	}
	if err := c.adam.Load(adamState, m.AdamStep); err != nil {
		return 0, err
	}
	if err := optim.DecodeRNG(m.RNG, c.pcg); err != nil {
		return 0, err
	}
	c.prior = m.Seconds
	return m.Step, nil
}
