package engine

import (
	"conceptstudio/engine/model"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/optim"
)

// netParams links a Net's learnable weights to optimizer parameters. The
// values are shared (the optimizer updates the weights in place); the
// gradients are re-pointed after each run, at no copy.
type netParams struct {
	net    *model.Net
	ops    []*ops.Param
	Params []*optim.Param
}

// learnable collects the learnable weights of net; group picks each
// weight's parameter group by name (nil: all in group 0).
func learnable(net *model.Net, group func(name string) int) *netParams {
	np := &netParams{net: net}
	for _, p := range net.Params() {
		if !p.Learnable {
			continue
		}
		g := 0
		if group != nil {
			g = group(p.Name)
		}
		np.ops = append(np.ops, p)
		np.Params = append(np.Params, &optim.Param{Name: p.Name, Value: p.Value.Data().([]float32), Group: g})
	}
	return np
}

// collect points each parameter's Grad at the last run's gradient (zeros
// when the loss did not reach it).
func (np *netParams) collect() {
	for i, p := range np.ops {
		if g := np.net.Grad(p); g != nil {
			np.Params[i].Grad = g.Data().([]float32)
		} else {
			if np.Params[i].Grad == nil {
				np.Params[i].Grad = make([]float32, len(np.Params[i].Value))
			}
			clear(np.Params[i].Grad)
		}
	}
}
