package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Node is a value in a graph being built.
type Node = gorgonia.Node

// Param is a weight tensor bound into a graph. Its Value shares memory with
// the model's weights, so optimizer updates are seen by every graph.
type Param struct {
	Name      string
	Node      *Node
	Value     *tensor.Dense
	Learnable bool
}

// Builder builds one graph of fixed shapes. Every node records whether it
// depends on a learnable parameter; ops compute input gradients only where
// one does.
type Builder struct {
	g      *gorgonia.ExprGraph
	dt     tensor.Dtype
	grad   map[*Node]bool
	params []*Param
	inputs map[string]*Node
	names  map[string]bool
	flops  float64
}

// FLOPs is the forward pass's multiply-add count ×2 for the matrix work
// (linear, convolution, attention) added so far: the numerator of the
// engine's achieved-GFLOPS figures.
func (b *Builder) FLOPs() float64 { return b.flops }

// NewBuilder starts a graph over dtype dt (tensor.Float32 or tensor.Float64).
func NewBuilder(dt tensor.Dtype) *Builder {
	if dt != tensor.Float32 && dt != tensor.Float64 {
		panic(fmt.Sprintf("ops: unsupported dtype %v", dt))
	}
	return &Builder{g: gorgonia.NewGraph(), dt: dt, grad: map[*Node]bool{}, inputs: map[string]*Node{}, names: map[string]bool{}}
}

// Dtype is the graph's element type.
func (b *Builder) Dtype() tensor.Dtype { return b.dt }

func (b *Builder) claim(name string) {
	if b.names[name] {
		panic(fmt.Sprintf("ops: two graph inputs named %q", name))
	}
	b.names[name] = true
}

// Input adds a data input of the given shape, zero-filled; set it before
// each run through its value (InputValue).
func (b *Builder) Input(name string, shape ...int) *Node {
	b.claim(name)
	v := tensor.New(tensor.Of(b.dt), tensor.WithShape(shape...))
	n := gorgonia.NewTensor(b.g, b.dt, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name), gorgonia.WithValue(v))
	b.inputs[name] = n
	return n
}

// Param binds a weight tensor (shared, not copied) into the graph.
func (b *Builder) Param(name string, value *tensor.Dense, learnable bool) *Node {
	b.claim(name)
	if value.Dtype() != b.dt {
		panic(fmt.Sprintf("ops: param %q is %v in a %v graph", name, value.Dtype(), b.dt))
	}
	shape := []int(value.Shape())
	n := gorgonia.NewTensor(b.g, b.dt, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name), gorgonia.WithValue(value))
	b.params = append(b.params, &Param{Name: name, Node: n, Value: value, Learnable: learnable})
	b.grad[n] = learnable
	return n
}

// Params lists the parameters bound so far.
func (b *Builder) Params() []*Param { return b.params }

// NeedsGrad says whether n depends on a learnable parameter.
func (b *Builder) NeedsGrad(n *Node) bool { return b.grad[n] }

// apply adds a kernel node. outShape nil means a scalar output.
func (b *Builder) apply(name string, k any, outShape []int, inputs ...*Node) *Node {
	op := &fwdOp{opBase: opBase{name: name}, k: k, outShape: outShape, need: make([]bool, len(inputs))}
	any := false
	for i, in := range inputs {
		op.inShapes = append(op.inShapes, append([]int(nil), []int(in.Shape())...))
		op.need[i] = b.grad[in]
		any = any || op.need[i]
	}
	n, err := gorgonia.ApplyOp(op, inputs...)
	if err != nil {
		panic(fmt.Sprintf("ops: %s: %v", name, err))
	}
	b.grad[n] = any
	return n
}

// Program is a compiled graph: run it, read outputs and gradients.
type Program struct {
	m     gorgonia.VM
	grads map[*Param]*Node
	b     *Builder
}

// Compile finishes the graph. With a (scalar) cost it also adds the
// backward pass for every learnable parameter the cost depends on.
func (b *Builder) Compile(cost *Node) (p *Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ops: compiling the graph: %v", r)
		}
	}()
	p = &Program{grads: map[*Param]*Node{}, b: b}
	if cost != nil {
		var wrt []*Node
		var ps []*Param
		for _, q := range b.params {
			if q.Learnable {
				wrt = append(wrt, q.Node)
				ps = append(ps, q)
			}
		}
		if len(wrt) > 0 {
			if _, err := gorgonia.Grad(cost, wrt...); err != nil {
				return nil, fmt.Errorf("ops: building the backward pass: %w", err)
			}
			for _, q := range ps {
				p.grads[q] = q.Node.Deriv()
			}
		}
	}
	p.m = gorgonia.NewTapeMachine(b.g)
	return p, nil
}

// Run executes the whole program once. A kernel panic (a programmer error)
// comes back as an error.
func (p *Program) Run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ops: running the graph: %v", r)
		}
	}()
	p.m.Reset()
	return p.m.RunAll()
}

// Close frees the machine.
func (p *Program) Close() error { return p.m.Close() }

// Grad returns the gradient computed by the last Run for a learnable
// parameter, or nil when the cost does not depend on it.
func (p *Program) Grad(q *Param) *tensor.Dense {
	n := p.grads[q]
	if n == nil || n.Value() == nil {
		return nil
	}
	return n.Value().(*tensor.Dense)
}

// InputValue returns the tensor bound to a data input; fill it before Run.
func (b *Builder) InputValue(name string) *tensor.Dense {
	n := b.inputs[name]
	if n == nil {
		panic(fmt.Sprintf("ops: no input %q", name))
	}
	return n.Value().(*tensor.Dense)
}

// Value returns a node's value after Run (nil before).
func Value(n *Node) *tensor.Dense {
	v := n.Value()
	if v == nil {
		return nil
	}
	if d, ok := v.(*tensor.Dense); ok {
		return d
	}
	return nil
}

// ScalarValue returns a scalar node's value after Run.
func ScalarValue(n *Node) float64 { return scalarOf(n.Value()) }
