package eval

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/ops"
)

// The oracle is trained with softmax cross-entropy. Package ops has no such
// loss, and the oracle is its only user, so it lives here as one small
// Gorgonia op pair (forward: the loss; backward: its gradient with respect
// to the logits) that follows the rules package ops sets for its own ops:
// no views of inputs, inputs never written, output buffers owned by the op
// and rewritten fully each run, and everything the backward reads passed to
// it as graph inputs. Nothing in package ops is changed.

// softmaxCE adds mean_n −Σ_k y[n,k]·log softmax(z[n])_k for logits z
// [N, K] and target distributions y [N, K] (one-hot, or smoothed rows
// summing to 1). Only the logits get a gradient.
func softmaxCE(b *ops.Builder, logits, target *gorgonia.Node) (*gorgonia.Node, error) {
	s := []int(logits.Shape())
	if len(s) != 2 || !logits.Shape().Eq(target.Shape()) {
		return nil, fmt.Errorf("eval: softmax cross-entropy of %v and %v", logits.Shape(), target.Shape())
	}
	return b.Apply(&ceOp{n: s[0], k: s[1]}, logits, target)
}

// ceOp is the forward op: a scalar loss.
type ceOp struct{ n, k int }

func (o *ceOp) Arity() int { return 2 }
func (o *ceOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t2 := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(t2, t2, a)
}
func (o *ceOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (o *ceOp) ReturnsPtr() bool      { return false }
func (o *ceOp) CallsExtern() bool     { return false }
func (o *ceOp) OverwritesInput() int  { return -1 }
func (o *ceOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "SoftmaxCE@%p", o) }
func (o *ceOp) Hashcode() uint32      { return opHash(o) }
func (o *ceOp) String() string        { return "SoftmaxCE" }

func (o *ceOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := o.check(in[0], in[1]); err != nil {
		return nil, err
	}
	if in[0].Dtype() == tensor.Float32 {
		return gorgonia.NewF32(float32(ceLoss(o.n, o.k, floats[float32](in[0]), floats[float32](in[1])))), nil
	}
	return gorgonia.NewF64(ceLoss(o.n, o.k, floats[float64](in[0]), floats[float64](in[1]))), nil
}

func (o *ceOp) check(vs ...gorgonia.Value) error {
	for _, v := range vs {
		if s := v.Shape(); len(s) != 2 || s[0] != o.n || s[1] != o.k {
			return fmt.Errorf("eval: SoftmaxCE: input shape %v, graph built for [%d %d]", s, o.n, o.k)
		}
	}
	return nil
}

func (o *ceOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *ceOp) SymDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(&ceGradOp{fwd: o}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, fmt.Errorf("eval: backward of SoftmaxCE: %w", err)
	}
	return gorgonia.Nodes{g, nil}, nil
}

// ceGradOp is the backward op: dL/dz = dout·(softmax(z)·Σy − y)/N.
type ceGradOp struct {
	fwd *ceOp
	out *tensor.Dense
}

func (o *ceGradOp) Arity() int { return 3 }
func (o *ceGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t2 := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(t2, t2, a, t2)
}
func (o *ceGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.fwd.n, o.fwd.k}, nil
}
func (o *ceGradOp) ReturnsPtr() bool      { return false }
func (o *ceGradOp) CallsExtern() bool     { return false }
func (o *ceGradOp) OverwritesInput() int  { return -1 }
func (o *ceGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "SoftmaxCEᵀ@%p", o) }
func (o *ceGradOp) Hashcode() uint32      { return opHash(o) }
func (o *ceGradOp) String() string        { return "SoftmaxCEᵀ" }
func (o *ceGradOp) DiffWRT(n int) []bool  { return make([]bool, n) }
func (o *ceGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("eval: SoftmaxCE has no second derivative")
}

func (o *ceGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := o.fwd.check(in[0], in[1]); err != nil {
		return nil, err
	}
	dt := in[0].Dtype()
	if o.out == nil || o.out.Dtype() != dt {
		o.out = tensor.New(tensor.Of(dt), tensor.WithShape(o.fwd.n, o.fwd.k))
	}
	dl := scalar(in[2])
	if dt == tensor.Float32 {
		ceGrad(o.fwd.n, o.fwd.k, floats[float32](in[0]), floats[float32](in[1]), dl, o.out.Data().([]float32))
	} else {
		ceGrad(o.fwd.n, o.fwd.k, floats[float64](in[0]), floats[float64](in[1]), dl, o.out.Data().([]float64))
	}
	return o.out, nil
}

type float interface{ ~float32 | ~float64 }

func floats[T float](v gorgonia.Value) []T {
	return v.(*tensor.Dense).Data().([]T)
}

// scalar reads a scalar value (a loss gradient) as float64.
func scalar(v gorgonia.Value) float64 { return ops.ScalarOf(v) }

func opHash(o fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s@%p", o.String(), o)
	return h.Sum32()
}

// logSoftmax writes log softmax(z) of one row into dst.
func logSoftmax[T float](z []T, dst []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	ls := m + math.Log(s)
	for i, v := range z {
		dst[i] = float64(v) - ls
	}
}

func ceLoss[T float](n, k int, z, y []T) float64 {
	lp := make([]float64, k)
	var total float64
	for r := 0; r < n; r++ {
		logSoftmax(z[r*k:(r+1)*k], lp)
		for i, yi := range y[r*k : (r+1)*k] {
			if yi != 0 {
				total -= float64(yi) * lp[i]
			}
		}
	}
	return total / float64(n)
}

func ceGrad[T float](n, k int, z, y []T, dl float64, dz []T) {
	lp := make([]float64, k)
	c := dl / float64(n)
	for r := 0; r < n; r++ {
		logSoftmax(z[r*k:(r+1)*k], lp)
		yr := y[r*k : (r+1)*k]
		var sy float64
		for _, v := range yr {
			sy += float64(v)
		}
		for i := range lp {
			dz[r*k+i] = T(c * (math.Exp(lp[i])*sy - float64(yr[i])))
		}
	}
}
