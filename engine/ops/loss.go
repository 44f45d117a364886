package ops

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// WeightedMSE is Σ_n w[n]·mean_i (pred[n,i] − target[n,i])² / N: a mean
// squared error with a per-sample weight (all ones for the plain loss;
// min-SNR weights or masks otherwise). pred and target are [N, ...],
// w is [N].
func (b *Builder) WeightedMSE(pred, target, w *Node) *Node {
	ps := []int(pred.Shape())
	if !pred.Shape().Eq(target.Shape()) || len([]int(w.Shape())) != 1 || w.Shape()[0] != ps[0] {
		panic(fmt.Sprintf("ops: WeightedMSE of %v, %v with weights %v", ps, target.Shape(), w.Shape()))
	}
	return b.apply("WeightedMSE", mseKernel{n: ps[0], per: prod(ps[1:])}, nil, pred, target, w)
}

type mseKernel struct{ n, per int }

func (k mseKernel) forwardScalar(in []gorgonia.Value) float64 {
	if isF32(in[0]) {
		return mseFwd[float32](k, in)
	}
	return mseFwd[float64](k, in)
}

func mseFwd[T kernels.Float](k mseKernel, in []gorgonia.Value) float64 {
	p, t, w := slice[T](in[0]), slice[T](in[1]), slice[T](in[2])
	var total float64
	for n := 0; n < k.n; n++ {
		var s float64
		for i := n * k.per; i < (n+1)*k.per; i++ {
			d := float64(p[i] - t[i])
			s += d * d
		}
		total += float64(w[n]) * s / float64(k.per)
	}
	return total / float64(k.n)
}

func (k mseKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if isF32(in[0]) {
		mseBwd[float32](k, in, scalarOf(dout), g)
	} else {
		mseBwd[float64](k, in, scalarOf(dout), g)
	}
}

func mseBwd[T kernels.Float](k mseKernel, in []gorgonia.Value, dl float64, g []*tensor.Dense) {
	p, t, w := slice[T](in[0]), slice[T](in[1]), slice[T](in[2])
	for j, gj := range g[:2] {
		if gj == nil {
			continue
		}
		d := slice[T](gj)
		sign := 1.0
		if j == 1 {
			sign = -1
		}
		for n := 0; n < k.n; n++ {
			c := T(sign * dl * 2 * float64(w[n]) / float64(k.per*k.n))
			for i := n * k.per; i < (n+1)*k.per; i++ {
				d[i] = c * (p[i] - t[i])
			}
		}
	}
	if g[2] != nil {
		dw := slice[T](g[2])
		for n := 0; n < k.n; n++ {
			var s float64
			for i := n * k.per; i < (n+1)*k.per; i++ {
				d := float64(p[i] - t[i])
				s += d * d
			}
			dw[n] = T(dl * s / float64(k.per*k.n))
		}
	}
}

// Dot is Σ x⊙r: a scalar that makes any output a test loss whose gradient
// with respect to x is r.
func (b *Builder) Dot(x, r *Node) *Node {
	if !x.Shape().Eq(r.Shape()) {
		panic(fmt.Sprintf("ops: Dot of %v and %v", x.Shape(), r.Shape()))
	}
	return b.apply("Dot", dotKernel{}, nil, x, r)
}

type dotKernel struct{}

func (dotKernel) forwardScalar(in []gorgonia.Value) float64 {
	if isF32(in[0]) {
		return dotFwd[float32](in)
	}
	return dotFwd[float64](in)
}

func dotFwd[T kernels.Float](in []gorgonia.Value) float64 {
	x, r := slice[T](in[0]), slice[T](in[1])
	var s float64
	for i := range x {
		s += float64(x[i]) * float64(r[i])
	}
	return s
}

func (dotKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	dl := scalarOf(dout)
	for j, gj := range g {
		if gj == nil {
			continue
		}
		other := in[1-j]
		if isF32(gj) {
			scaleInto(slice[float32](gj), slice[float32](other), float32(dl))
		} else {
			scaleInto(slice[float64](gj), slice[float64](other), dl)
		}
	}
}

// WeightedBCE is Σ_i w[i]·(softplus(x[i]) − t[i]·x[i]) / N: binary
// cross-entropy of logits x against targets t in [0, 1], with a weight per
// element (a mask, or more weight on the rarer side), averaged over the N
// elements. x, t and w have one shape; only x gets a gradient:
// w·(σ(x) − t)/N.
func (b *Builder) WeightedBCE(x, target, w *Node) *Node {
	if !x.Shape().Eq(target.Shape()) || !x.Shape().Eq(w.Shape()) {
		panic(fmt.Sprintf("ops: WeightedBCE of %v, %v with weights %v", x.Shape(), target.Shape(), w.Shape()))
	}
	if b.NeedsGrad(target) || b.NeedsGrad(w) {
		panic("ops: WeightedBCE differentiates its logits only")
	}
	return b.apply("WeightedBCE", bceKernel{n: prod([]int(x.Shape()))}, nil, x, target, w)
}

type bceKernel struct{ n int }

// softplus is log(1 + eˣ), computed without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func (k bceKernel) forwardScalar(in []gorgonia.Value) float64 {
	if isF32(in[0]) {
		return bceFwd[float32](k, in)
	}
	return bceFwd[float64](k, in)
}

func bceFwd[T kernels.Float](k bceKernel, in []gorgonia.Value) float64 {
	x, t, w := slice[T](in[0]), slice[T](in[1]), slice[T](in[2])
	var s float64
	for i := range x {
		xi := float64(x[i])
		s += float64(w[i]) * (softplus(xi) - float64(t[i])*xi)
	}
	return s / float64(k.n)
}

func (k bceKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] == nil {
		return
	}
	if isF32(in[0]) {
		bceBwd[float32](k, in, scalarOf(dout), g[0])
	} else {
		bceBwd[float64](k, in, scalarOf(dout), g[0])
	}
}

func bceBwd[T kernels.Float](k bceKernel, in []gorgonia.Value, dl float64, g *tensor.Dense) {
	x, t, w := slice[T](in[0]), slice[T](in[1]), slice[T](in[2])
	d := slice[T](g)
	c := dl / float64(k.n)
	for i := range x {
		d[i] = T(c * float64(w[i]) * (sigmoid(float64(x[i])) - float64(t[i])))
	}
}
