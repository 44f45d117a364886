package ops

import "conceptstudio/engine/optim"

// TrainingParams pairs a graph's learnable parameters with the
// optimizer's view of them, in order: weights in group 0 (weight decay),
// biases and normalisation scales (one-dimensional) in group 1 (none).
func TrainingParams(ps []*Param) (learn []*Param, params []*optim.Param) {
	for _, p := range ps {
		if !p.Learnable {
			continue
		}
		g := 0
		if len(p.Value.Shape()) == 1 {
			g = 1
		}
		learn = append(learn, p)
		params = append(params, &optim.Param{Name: p.Name, Value: p.Value.Data().([]float32), Group: g})
	}
	return learn, params
}

// SetGrads points each of params (from TrainingParams) at the last Run's
// gradient of its graph parameter, nil where the cost does not depend on
// it.
func (p *Program) SetGrads(learn []*Param, params []*optim.Param) {
	for i, q := range learn {
		if g := p.Grad(q); g != nil {
			params[i].Grad = g.Data().([]float32)
		} else {
			params[i].Grad = nil
		}
	}
}
