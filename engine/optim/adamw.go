package optim

import (
	"fmt"
	"math"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), with the
// same update as PyTorch's torch.optim.AdamW (amsgrad off). For step t,
// gradient g, group learning rate lr and weight decay λ:
//
//	θ ← θ·(1 − lr·λ)
//	m ← β1·m + (1 − β1)·g
//	v ← β2·v + (1 − β2)·g²
//	θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
//
// The first and second moments m and v are created lazily (zeros) the
// first time a parameter is stepped and are keyed by Param.Name. The step
// counter t is shared by all parameters, so every parameter should take
// part from the first step on. Parameters with a nil Grad are skipped.
//
// Learning rates live in Groups and may be changed between steps (see
// CosineLR); Beta1, Beta2 and Eps may be set after NewAdamW.
type AdamW struct {
	Beta1, Beta2, Eps float64
	Groups            []Group

	step int
	m, v map[string][]float32
}

// NewAdamW returns an optimiser over the given parameter groups with
// PyTorch's defaults β1 = 0.9, β2 = 0.999, ε = 1e-8. Param.Group indexes
// into groups.
func NewAdamW(groups ...Group) *AdamW {
	return &AdamW{
		Beta1:  0.9,
		Beta2:  0.999,
		Eps:    1e-8,
		Groups: groups,
		m:      map[string][]float32{},
		v:      map[string][]float32{},
	}
}

// StepCount is the number of steps taken (or restored by Load).
func (o *AdamW) StepCount() int { return o.step }

// Step applies one update to every parameter with a gradient. All inputs
// are validated before anything is changed, so on error the weights, the
// moments and the step count are untouched.
func (o *AdamW) Step(params []*Param) error {
	if err := o.validate(params); err != nil {
		return err
	}
	if o.m == nil {
		o.m, o.v = map[string][]float32{}, map[string][]float32{}
	}
	o.step++
	b1, b2, eps := o.Beta1, o.Beta2, o.Eps
	bc1 := 1 - math.Pow(b1, float64(o.step))
	sqrtBC2 := math.Sqrt(1 - math.Pow(b2, float64(o.step)))
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		m, ok := o.m[p.Name]
		if !ok {
			m = make([]float32, len(p.Value))
			o.m[p.Name] = m
			o.v[p.Name] = make([]float32, len(p.Value))
		}
		v := o.v[p.Name]
		g := o.Groups[p.Group]
		decay := 1 - g.LR*g.WeightDecay
		stepSize := g.LR / bc1
		val, grad := p.Value, p.Grad
		parallelFor(len(val), func(lo, hi int) {
			adamwUpdate(val[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi], b1, b2, decay, stepSize, sqrtBC2, eps)
		})
	}
	return nil
}

func (o *AdamW) validate(params []*Param) error {
	if !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) {
		return fmt.Errorf("optim: AdamW betas (%g, %g) must lie in [0, 1)", o.Beta1, o.Beta2)
	}
	if !(o.Eps >= 0) {
		return fmt.Errorf("optim: AdamW eps %g must be >= 0", o.Eps)
	}
	if err := checkParams(params); err != nil {
		return err
	}
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		if p.Group < 0 || p.Group >= len(o.Groups) {
			return fmt.Errorf("optim: param %q: group %d out of range [0, %d)", p.Name, p.Group, len(o.Groups))
		}
		g := o.Groups[p.Group]
		if math.IsNaN(g.LR) || math.IsInf(g.LR, 0) || math.IsNaN(g.WeightDecay) || math.IsInf(g.WeightDecay, 0) {
			return fmt.Errorf("optim: group %d has non-finite hyper-parameters %+v", p.Group, g)
		}
		if m, ok := o.m[p.Name]; ok && (len(m) != len(p.Value) || len(o.v[p.Name]) != len(p.Value)) {
			return fmt.Errorf("optim: param %q has %d elements but its AdamW state has %d", p.Name, len(p.Value), len(m))
		}
	}
	return nil
}

// adamwUpdateGo is the update in Go: m ← b1·m + (1−b1)·g, v ← b2·v +
// (1−b2)·g², val ← val·decay − stepSize·m/(√v/sqrtBC2 + eps), in float64.
// The purego build runs it; the C loop (adamw_vec.go) must match it bit
// for bit.
func adamwUpdateGo(val, grad, m, v []float32, b1, b2, decay, stepSize, sqrtBC2, eps float64) {
	for i := range val {
		gi := float64(grad[i])
		mi := b1*float64(m[i]) + (1-b1)*gi
		vi := b2*float64(v[i]) + (1-b2)*gi*gi
		m[i], v[i] = float32(mi), float32(vi)
		w := float64(val[i]) * decay
		w -= stepSize * mi / (math.Sqrt(vi)/sqrtBC2 + eps)
		val[i] = float32(w)
	}
}
