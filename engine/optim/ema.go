package optim

import "fmt"

// EMA keeps an exponential moving average ("shadow" copy) of the weights,
// which is what one usually samples from after training a diffusion model.
// Each Update moves every shadow towards the current weights:
//
//	shadow ← shadow − (1 − d)·(shadow − θ)
//
// with d = Decay, or with Warmup d_t = min(Decay, (1 + t)/(10 + t)) where t
// is the number of updates made before this one (as diffusers' EMAModel
// without power warm-up), so that early, poorly trained weights are
// forgotten quickly.
//
// Shadows are keyed by Param.Name and start as copies of the weights given
// to NewEMA.
type EMA struct {
	Decay  float64
	Warmup bool

	updates int
	shadow  map[string][]float32
}

// NewEMA copies the current weights into a new average with the given
// decay (in [0, 1]) and warm-up off. Frozen parameters (nil Grad) are
// averaged too, which is harmless since they do not change.
func NewEMA(params []*Param, decay float64) (*EMA, error) {
	if !(decay >= 0 && decay <= 1) {
		return nil, fmt.Errorf("optim: EMA decay %g must lie in [0, 1]", decay)
	}
	if err := checkParams(params); err != nil {
		return nil, err
	}
	e := &EMA{Decay: decay, shadow: make(map[string][]float32, len(params))}
	for _, p := range params {
		e.shadow[p.Name] = append([]float32(nil), p.Value...)
	}
	return e, nil
}

// Updates is the number of Update calls made (or restored by Load).
func (e *EMA) Updates() int { return e.updates }

// CurrentDecay is the decay the next Update will use.
func (e *EMA) CurrentDecay() float64 {
	d := e.Decay
	if e.Warmup {
		t := float64(e.updates)
		d = min(d, (1+t)/(10+t))
	}
	return d
}

// Update folds the current weights into the average. Every parameter must
// have a shadow of matching length; on error nothing changes.
func (e *EMA) Update(params []*Param) error {
	if err := e.check(params); err != nil {
		return err
	}
	a := 1 - e.CurrentDecay()
	for _, p := range params {
		s, val := e.shadow[p.Name], p.Value
		parallelFor(len(s), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				si := float64(s[i])
				s[i] = float32(si - a*(si-float64(val[i])))
			}
		})
	}
	e.updates++
	return nil
}

// Shadow returns the averaged weights for a parameter name, or nil if there
// are none. The slice is the EMA's own storage: read it, do not keep or
// modify it across updates.
func (e *EMA) Shadow(name string) []float32 { return e.shadow[name] }

// CopyTo overwrites the parameters' values with their averages (for
// exporting or sampling from the averaged model when the training weights
// are no longer needed).
func (e *EMA) CopyTo(params []*Param) error {
	if err := e.check(params); err != nil {
		return err
	}
	for _, p := range params {
		copy(p.Value, e.shadow[p.Name])
	}
	return nil
}

// Swap exchanges the parameters' values with their averages: call it once
// to evaluate or sample with the averaged weights and once more to get the
// training weights back. The shadow then holds the training weights, so do
// not Update between the two calls.
func (e *EMA) Swap(params []*Param) error {
	if err := e.check(params); err != nil {
		return err
	}
	for _, p := range params {
		s := e.shadow[p.Name]
		for i := range s {
			s[i], p.Value[i] = p.Value[i], s[i]
		}
	}
	return nil
}

// State returns a copy of the averaged weights keyed by parameter name,
// i.e. a weight dictionary that can also be loaded as the model itself.
// Save Updates alongside for Load.
func (e *EMA) State() map[string][]float32 {
	st := make(map[string][]float32, len(e.shadow))
	for name, s := range e.shadow {
		st[name] = append([]float32(nil), s...)
	}
	return st
}

// Load restores averages and update count saved from State and Updates.
// The state must hold exactly the names the EMA was created with, each of
// the same length. The data is copied; on error nothing changes.
func (e *EMA) Load(state map[string][]float32, updates int) error {
	if updates < 0 {
		return fmt.Errorf("optim: EMA update count %d is negative", updates)
	}
	for name, s := range e.shadow {
		data, ok := state[name]
		if !ok {
			return fmt.Errorf("optim: EMA state lacks %q", name)
		}
		if len(data) != len(s) {
			return fmt.Errorf("optim: EMA state %q has %d elements, want %d", name, len(data), len(s))
		}
	}
	for name := range state {
		if _, ok := e.shadow[name]; !ok {
			return fmt.Errorf("optim: EMA state has unknown parameter %q", name)
		}
	}
	for name, s := range e.shadow {
		copy(s, state[name])
	}
	e.updates = updates
	return nil
}

func (e *EMA) check(params []*Param) error {
	if !(e.Decay >= 0 && e.Decay <= 1) {
		return fmt.Errorf("optim: EMA decay %g must lie in [0, 1]", e.Decay)
	}
	if err := checkParams(params); err != nil {
		return err
	}
	for _, p := range params {
		s, ok := e.shadow[p.Name]
		if !ok {
			return fmt.Errorf("optim: EMA has no shadow for %q", p.Name)
		}
		if len(s) != len(p.Value) {
			return fmt.Errorf("optim: param %q has %d elements but its EMA shadow %d", p.Name, len(p.Value), len(s))
		}
	}
	return nil
}
