package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
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
	kids   map[*Node][]*Node // each op node's inputs, in order
	ws     *workspaces

	// Unshared gives every op-owned buffer memory of its own instead of
	// sharing slabs between buffers whose lifetimes do not overlap (for
	// tests that compare the two).
	Unshared bool
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
	return &Builder{g: gorgonia.NewGraph(), dt: dt, grad: map[*Node]bool{}, kids: map[*Node][]*Node{}, ws: &workspaces{}, inputs: map[string]*Node{}, names: map[string]bool{}}
}

// workspaces is scratch shared by all ops of one graph: a program runs its
// ops one at a time, and no kernel carries scratch from one call to the
// next. (Each graph has its own, so graphs may run concurrently.)
type workspaces struct {
	conv32 kernels.ConvWorkspace[float32]
	conv64 kernels.ConvWorkspace[float64]
	attn32 kernels.AttnWorkspace[float32]
	attn64 kernels.AttnWorkspace[float64]
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
	b.kids[n] = inputs
	return n
}

// Apply adds a node of an op written outside this package. The op must
// follow the rules in doc.go, must not implement Gorgonia's in-place
// interfaces, and, to be differentiated, must provide SymDiff.
func (b *Builder) Apply(op gorgonia.Op, inputs ...*Node) (*Node, error) {
	switch op.(type) {
	case gorgonia.UsePreallocDoer, gorgonia.UnsafeDoer:
		return nil, fmt.Errorf("ops: %v writes into memory it does not own", op)
	}
	n, err := gorgonia.ApplyOp(op, inputs...)
	if err != nil {
		return nil, err
	}
	for _, in := range inputs {
		b.grad[n] = b.grad[n] || b.grad[in]
	}
	b.kids[n] = inputs
	return n, nil
}

// symDiffer is an op that builds its own backward nodes.
type symDiffer interface {
	SymDiff(inputs gorgonia.Nodes, output, grad *Node) (gorgonia.Nodes, error)
}

// backprop adds the backward pass from a scalar cost and returns the
// gradient node of each wrt node the cost depends on. It does Gorgonia's
// job itself so that the graph holds only our ops: Gorgonia sums the
// gradients of a value with several consumers with its own Add, which
// writes into whatever tensor its register last held, and that memory may
// now belong to another buffer (see memplan.go).
func (b *Builder) backprop(cost *Node, wrt []*Node) (map[*Node]*Node, error) {
	sorted, err := gorgonia.Sort(b.g) // consumers before their inputs
	if err != nil {
		return nil, err
	}
	var one gorgonia.Value = gorgonia.NewF64(1)
	if b.dt == tensor.Float32 {
		one = gorgonia.NewF32(1)
	}
	seed := gorgonia.NewScalar(b.g, b.dt, gorgonia.WithName("∂cost"), gorgonia.WithValue(one))
	contrib := map[*Node][]*Node{cost: {seed}}
	want := map[*Node]bool{}
	for _, n := range wrt {
		want[n] = true
	}
	out := map[*Node]*Node{}
	for _, n := range sorted {
		gs := contrib[n]
		if len(gs) == 0 {
			continue
		}
		total := gs[0]
		if len(gs) > 1 {
			total = b.apply("ΣGrad", sumKernel{}, []int(n.Shape()), gs...)
		}
		if want[n] {
			out[n] = total
		}
		if n.Op() == nil || !b.grad[n] {
			continue
		}
		d, ok := n.Op().(symDiffer)
		kids := b.kids[n]
		if !ok || kids == nil {
			return nil, fmt.Errorf("ops: cannot differentiate %v", n.Op())
		}
		cg, err := d.SymDiff(kids, n, total)
		if err != nil {
			return nil, err
		}
		for i, g := range cg {
			if g != nil && b.grad[kids[i]] {
				contrib[kids[i]] = append(contrib[kids[i]], g)
			}
		}
	}
	return out, nil
}

// Program is a compiled graph: run it, read outputs and gradients.
type Program struct {
	m     gorgonia.VM
	grads map[*Param]*Node
	b     *Builder
	mem   MemoryStats
}

// Memory describes the program's planned buffers.
func (p *Program) Memory() MemoryStats { return p.mem }

// Compile finishes the graph. With a (scalar) cost it also adds the
// backward pass for every learnable parameter the cost depends on. Values
// of graph roots (outputs, the cost, gradients) and of the keep nodes stay
// readable after Run; other nodes' buffers are shared between ops whose
// lifetimes do not overlap, so their values are not.
func (b *Builder) Compile(cost *Node, keep ...*Node) (p *Program, err error) {
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
			gs, err := b.backprop(cost, wrt)
			if err != nil {
				return nil, fmt.Errorf("ops: building the backward pass: %w", err)
			}
			for _, q := range ps {
				if g := gs[q.Node]; g != nil {
					p.grads[q] = g
				}
			}
		}
	}
	if err := b.checkHashes(); err != nil {
		return nil, err
	}
	if !b.Unshared {
		for _, g := range p.grads {
			keep = append(keep, g)
		}
		if p.mem, err = b.planMemory(keep); err != nil {
			return nil, fmt.Errorf("ops: planning memory: %w", err)
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

// InputNode is the input of that name, nil when the graph has none (a
// hook that adds one input for many layers reuses it).
func (b *Builder) InputNode(name string) *Node { return b.inputs[name] }

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
