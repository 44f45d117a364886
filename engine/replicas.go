package engine

import (
	"fmt"
	"runtime"
	"sync"

	"conceptstudio/engine/kernels"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/optim"
)

// replicas trains one copy of a Net per core, each on its share of the
// batch, with shared weights and single-threaded BLAS: on a 2-core machine
// this beats one Net whose BLAS calls use both cores, because the
// elementwise kernels between the matrix products then run on both cores
// too instead of beside a spinning BLAS thread. Gradients are averaged.
type replicas struct {
	nets []*model.Net
	// infer are forward-only nets on the same weights, one per replica,
	// built on first use (self-conditioning's first pass, inferPass).
	infer []*model.Net
	w     *nn.Weights
	cfg   model.Config
	parts []*netParams
	// Params are the optimizer's view: values shared with the weights,
	// gradients the replicas' average.
	Params []*optim.Param
	per    int
	began  bool // holds kernels.BeginReplicas
}

// replicaCount picks how many replicas split a batch: want when set, else
// one per CPU, as long as they divide the batch evenly.
func replicaCount(batch, want int) int {
	n := min(runtime.GOMAXPROCS(0), batch)
	if want > 0 {
		n = min(want, batch)
	}
	for n > 1 && batch%n != 0 {
		n--
	}
	return max(n, 1)
}

// newReplicas builds the replicas of a training net of the given batch.
func newReplicas(w *nn.Weights, c model.Config, batch, want int, opt model.NetOptions, group func(string) int) (*replicas, error) {
	n := replicaCount(batch, want)
	r := &replicas{per: batch / n, w: w, cfg: c}
	opt.Batch, opt.Train = r.per, true
	for i := 0; i < n; i++ {
		net, err := model.Build(w, c, opt)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.nets = append(r.nets, net)
		r.parts = append(r.parts, learnable(net, group))
	}
	for _, p := range r.parts[0].Params {
		r.Params = append(r.Params, &optim.Param{Name: p.Name, Value: p.Value, Group: p.Group, Grad: make([]float32, len(p.Value))})
	}
	if n > 1 {
		kernels.BeginReplicas()
		r.began = true
	}
	return r, nil
}

// Close frees the nets.
func (r *replicas) Close() {
	for _, n := range r.nets {
		n.Close()
	}
	for _, n := range r.infer {
		n.Close()
	}
	if r.began {
		kernels.EndReplicas()
		r.began = false
	}
}

// inferPass runs the forward-only nets concurrently, each filled by set with
// its share of the batch, and returns their outputs in batch order
// (image space): a pass that computes no gradients and leaves the
// training nets' inputs alone.
func (r *replicas) inferPass(set func(net *model.Net, lo, hi int) error) ([]float32, error) {
	if r.infer == nil {
		for range r.nets {
			net, err := model.Build(r.w, r.cfg, model.NetOptions{Batch: r.per})
			if err != nil {
				return nil, err
			}
			r.infer = append(r.infer, net)
		}
	}
	outs := make([][]float32, len(r.infer))
	err := r.each(r.infer, func(i int, net *model.Net, lo, hi int) error {
		if err := set(net, lo, hi); err != nil {
			return err
		}
		if err := net.Run(); err != nil {
			return err
		}
		outs[i] = net.Output()
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []float32
	for _, o := range outs {
		all = append(all, o...)
	}
	return all, nil
}

// each calls f for every net concurrently with its index and the
// half-open range of batch samples it owns, and returns the first
// replica's error that went wrong, saying which.
func (r *replicas) each(nets []*model.Net, f func(i int, net *model.Net, lo, hi int) error) error {
	errs := make([]error, len(nets))
	var wg sync.WaitGroup
	for i, net := range nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i, net, i*r.per, (i+1)*r.per)
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("replica %d: %w", i, e)
		}
	}
	return nil
}

// run fills each replica with set (its net and the half-open range of
// batch samples it owns), runs all concurrently, and averages losses and
// gradients.
func (r *replicas) run(set func(net *model.Net, lo, hi int) error) (loss float64, err error) {
	err = r.each(r.nets, func(_ int, net *model.Net, lo, hi int) error {
		if err := set(net, lo, hi); err != nil {
			return err
		}
		return net.Run()
	})
	if err != nil {
		return 0, err
	}
	inv := 1 / float32(len(r.nets))
	for _, part := range r.parts {
		part.collect()
	}
	kernels.Parallel(len(r.Params), 1, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			g := r.Params[j].Grad
			copy(g, r.parts[0].Params[j].Grad)
			for _, part := range r.parts[1:] {
				for k, v := range part.Params[j].Grad {
					g[k] += v
				}
			}
			if len(r.parts) > 1 {
				for k := range g {
					g[k] *= inv
				}
			}
		}
	})
	for _, net := range r.nets {
		loss += net.Loss()
	}
	return loss / float64(len(r.nets)), nil
}
