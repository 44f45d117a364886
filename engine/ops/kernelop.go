package ops

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernel is one differentiable computation on fixed shapes. The generic
// wrappers below turn it into a forward gorgonia.Op and, when gradients
// are needed, a backward op plus "pick" ops for its extra outputs.
type kernel interface {
	// forward overwrites out from the inputs.
	forward(in []gorgonia.Value, out *tensor.Dense)
	// backward overwrites grads[i] for every i with grads[i] != nil, from
	// the inputs, the forward output and the output's gradient dout.
	backward(in []gorgonia.Value, out, dout gorgonia.Value, grads []*tensor.Dense)
}

// scalarKernel is a kernel whose output is a scalar (a loss).
type scalarKernel interface {
	forwardScalar(in []gorgonia.Value) float64
	backward(in []gorgonia.Value, out, dout gorgonia.Value, grads []*tensor.Dense)
}

// fwdOp is the forward gorgonia.Op of a kernel.
type fwdOp struct {
	opBase
	k        any // kernel or scalarKernel
	inShapes [][]int
	outShape []int // nil for a scalar output
	need     []bool
	out      buffer
}

func (o *fwdOp) Arity() int { return len(o.inShapes) }

func (o *fwdOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.inShapes)+1)
	for _, s := range o.inShapes {
		ts = append(ts, typeOfRank(len(s)))
	}
	ts = append(ts, typeOfRank(len(o.outShape)))
	return fnType(ts...)
}

func (o *fwdOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if o.outShape == nil {
		return tensor.ScalarShape(), nil
	}
	return tensor.Shape(append([]int(nil), o.outShape...)), nil
}

func (o *fwdOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	for i, v := range in {
		checkShape(o.name, v, o.inShapes[i])
	}
	if memCheck {
		checkInputs(o.name, in)
	}
	dt := in[0].Dtype()
	if sk, ok := o.k.(scalarKernel); ok {
		return scalarValue(dt, sk.forwardScalar(in)), nil
	}
	out := o.out.get(dt, o.outShape...)
	if memCheck {
		claimOutput(out)
	}
	o.k.(kernel).forward(in, out)
	return out, nil
}

func (o *fwdOp) DiffWRT(n int) []bool { return append([]bool(nil), o.need...) }

// SymDiff returns one gradient node per input: the backward op's node for
// the first needed input and pick nodes for the others; nil where not needed.
func (o *fwdOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	bwd := &bwdOp{opBase: opBase{name: o.name + "ᵀ"}, fwd: o, outs: make([]buffer, len(inputs)), first: -1}
	for i, n := range o.need {
		if n && bwd.first < 0 {
			bwd.first = i
		}
	}
	if bwd.first < 0 {
		return make(gorgonia.Nodes, len(inputs)), nil
	}
	children := append(append(gorgonia.Nodes{}, inputs...), output, grad)
	first, err := gorgonia.ApplyOp(bwd, children...)
	if err != nil {
		return nil, fmt.Errorf("ops: backward of %s: %w", o.name, err)
	}
	grads := make(gorgonia.Nodes, len(inputs))
	for i, n := range o.need {
		switch {
		case !n:
		case i == bwd.first:
			grads[i] = first
		default:
			if grads[i], err = gorgonia.ApplyOp(&pickOp{opBase: opBase{name: fmt.Sprintf("%s[%d]", bwd.name, i)}, bwd: bwd, idx: i}, first); err != nil {
				return nil, fmt.Errorf("ops: gradient %d of %s: %w", i, o.name, err)
			}
		}
	}
	return grads, nil
}

// bwdOp computes all needed input gradients of one forward op in one pass.
// Its children are the forward inputs, the forward output and the output
// gradient; its own value is the gradient of the first needed input.
type bwdOp struct {
	opBase
	fwd   *fwdOp
	outs  []buffer
	first int
}

func (o *bwdOp) Arity() int { return len(o.fwd.inShapes) + 2 }

func (o *bwdOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.fwd.inShapes)+3)
	for _, s := range o.fwd.inShapes {
		ts = append(ts, typeOfRank(len(s)))
	}
	r := len(o.fwd.outShape)
	ts = append(ts, typeOfRank(r), typeOfRank(r), typeOfRank(len(o.fwd.inShapes[o.first])))
	return fnType(ts...)
}

func (o *bwdOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), o.fwd.inShapes[o.first]...)), nil
}

func (o *bwdOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	n := len(o.fwd.inShapes)
	in, out, dout := vals[:n], vals[n], vals[n+1]
	dt := in[0].Dtype()
	grads := make([]*tensor.Dense, n)
	for i, need := range o.fwd.need {
		if need {
			grads[i] = o.outs[i].get(dt, o.fwd.inShapes[i]...)
		}
	}
	if memCheck {
		checkInputs(o.name, vals)
		for _, g := range grads {
			if g != nil {
				claimOutput(g)
			}
		}
	}
	switch k := o.fwd.k.(type) {
	case kernel:
		k.backward(in, out, dout, grads)
	case scalarKernel:
		k.backward(in, out, dout, grads)
	}
	return grads[o.first], nil
}

func (o *bwdOp) DiffWRT(n int) []bool { return make([]bool, n) }
func (o *bwdOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("ops: %s has no second derivative", o.name)
}

// pickOp hands out one more gradient computed by a bwdOp. Its only child
// is the bwdOp's node, so it always runs after it.
type pickOp struct {
	opBase
	bwd *bwdOp
	idx int
}

func (o *pickOp) Arity() int { return 1 }
func (o *pickOp) Type() hm.Type {
	return fnType(typeOfRank(len(o.bwd.fwd.inShapes[o.bwd.first])), typeOfRank(len(o.bwd.fwd.inShapes[o.idx])))
}
func (o *pickOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), o.bwd.fwd.inShapes[o.idx]...)), nil
}
func (o *pickOp) Do(...gorgonia.Value) (gorgonia.Value, error) {
	if memCheck {
		checkInputs(o.name, []gorgonia.Value{o.bwd.outs[o.idx].t})
	}
	return o.bwd.outs[o.idx].t, nil
}
func (o *pickOp) DiffWRT(n int) []bool { return make([]bool, n) }
func (o *pickOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("ops: %s has no second derivative", o.name)
}

// typeOfRank is a tensor type of that rank over 'a', or 'a' itself for a
// scalar.
func typeOfRank(r int) hm.Type {
	if r == 0 {
		return hmA()
	}
	return tt(r)
}

// scalarValue wraps a number as a Gorgonia scalar of dtype dt.
func scalarValue(dt tensor.Dtype, v float64) gorgonia.Value {
	if dt == tensor.Float32 {
		return gorgonia.NewF32(float32(v))
	}
	return gorgonia.NewF64(v)
}

// ScalarOf reads a scalar Gorgonia value (a loss or its gradient) as
// float64, for ops written outside this package.
func ScalarOf(v gorgonia.Value) float64 { return scalarOf(v) }

// scalarOf reads a scalar value (a loss gradient) as float64.
func scalarOf(v gorgonia.Value) float64 {
	switch v := v.(type) {
	case *gorgonia.F32:
		return float64(*v)
	case *gorgonia.F64:
		return float64(*v)
	case *tensor.Dense:
		switch d := v.Data().(type) {
		case float32:
			return float64(d)
		case float64:
			return d
		case []float32:
			return float64(d[0])
		case []float64:
			return d[0]
		}
	}
	panic(fmt.Sprintf("ops: %T is not a scalar", v))
}
