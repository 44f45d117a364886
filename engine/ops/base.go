package ops

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// opBase gives an op the Op methods that are the same for all of ours.
// Every op value is a distinct pointer and hashes by its address, so
// Gorgonia never merges two of our nodes.
type opBase struct {
	name string
}

func (o *opBase) ReturnsPtr() bool      { return false }
func (o *opBase) CallsExtern() bool     { return false }
func (o *opBase) OverwritesInput() int  { return -1 }
func (o *opBase) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s@%p", o.name, o) }
func (o *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *opBase) String() string { return o.name }

// DoDiff is for Gorgonia's LispMachine, which the engine does not use.
func (o *opBase) DoDiff(gorgonia.ExecutionContext, gorgonia.Nodes, *gorgonia.Node) error {
	return errors.New("ops: " + o.name + " supports only the TapeMachine (symbolic differentiation)")
}

// tt is a tensor type of the given rank over the type variable 'a'.
func tt(dims int) gorgonia.TensorType {
	return gorgonia.TensorType{Dims: dims, Of: hmA()}
}

// buffer is an op-owned output tensor, allocated on first use and reused.
type buffer struct {
	t *tensor.Dense
}

// get returns the buffer as a tensor of dtype dt and the given shape.
func (b *buffer) get(dt tensor.Dtype, shape ...int) *tensor.Dense {
	if b.t == nil || b.t.Dtype() != dt || !b.t.Shape().Eq(tensor.Shape(shape)) {
		b.t = tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	}
	return b.t
}

// slice returns the backing slice of a value as []T. Our tensors are never
// views, so the backing covers exactly the elements.
func slice[T kernels.Float](v gorgonia.Value) []T {
	switch v := v.(type) {
	case *tensor.Dense:
		s := v.Data()
		if d, ok := s.([]T); ok {
			return d[:v.Shape().TotalSize()]
		}
		// 0-dim dense tensors hold a scalar, not a slice.
		if x, ok := s.(T); ok {
			return []T{x}
		}
	case *gorgonia.F32:
		x := T(float32(*v))
		return []T{x}
	case *gorgonia.F64:
		x := T(float64(*v))
		return []T{x}
	}
	panic(fmt.Sprintf("ops: value %T does not hold %T", v, []T{}))
}

// isF32 says whether a value holds float32 data (else float64).
func isF32(v gorgonia.Value) bool {
	return v.Dtype() == tensor.Float32
}

// shapeOf returns a value's shape as ints.
func shapeOf(v gorgonia.Value) []int {
	return []int(v.Shape())
}

// checkShape panics when a value's shape differs from the one the graph was
// built with (a programmer error: a graph is built for fixed shapes).
func checkShape(op string, v gorgonia.Value, want []int) {
	got := shapeOf(v)
	if len(got) != len(want) {
		panic(fmt.Sprintf("ops: %s: input shape %v, graph built for %v", op, got, want))
	}
	for i := range got {
		if got[i] != want[i] {
			panic(fmt.Sprintf("ops: %s: input shape %v, graph built for %v", op, got, want))
		}
	}
}

// prod is the product of dims.
func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}
