package ops

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"testing"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sameHashScale multiplies its input by k. Every sameHashScale writes the
// same structural hash (WriteHash), as two unrelated ops do by chance once
// in 2³² pairs, while Hashcode tells them apart, so the graph keeps both
// nodes (ExprGraph.AddNode compares them on the collision).
type sameHashScale struct {
	opBase
	k     float32
	shape []int
}

func (o *sameHashScale) Arity() int            { return 1 }
func (o *sameHashScale) Type() hm.Type         { return fnType(tt(len(o.shape)), tt(len(o.shape))) }
func (o *sameHashScale) WriteHash(h hash.Hash) { io.WriteString(h, "colliding") }
func (o *sameHashScale) Hashcode() uint32      { return uint32(o.k * 1000) }
func (o *sameHashScale) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(append([]int(nil), o.shape...)), nil
}
func (o *sameHashScale) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x := slice[float32](in[0])
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = o.k * v
	}
	return tensor.New(tensor.WithShape(o.shape...), tensor.WithBacking(out)), nil
}

// collidingGraph builds y = 2x and z = 3x with ops whose nodes share a
// hash, and keeps both.
func collidingGraph(t *testing.T) (b *Builder, y, z *Node) {
	t.Helper()
	b = NewBuilder(tensor.Float32)
	x := b.Input("x", 2, 2)
	copy(b.InputValue("x").Data().([]float32), []float32{1, 2, 3, 4})
	var err error
	if y, err = b.Apply(&sameHashScale{opBase: opBase{name: "two"}, k: 2, shape: []int{2, 2}}, x); err != nil {
		t.Fatal(err)
	}
	if z, err = b.Apply(&sameHashScale{opBase: opBase{name: "three"}, k: 3, shape: []int{2, 2}}, x); err != nil {
		t.Fatal(err)
	}
	if y == z || y.Hashcode() != z.Hashcode() {
		t.Fatalf("the test needs two nodes with one hash: %p %#x, %p %#x", y, y.Hashcode(), z, z.Hashcode())
	}
	return b, y, z
}

// TestGorgoniaMergesCollidingNodes shows why Compile checks hashes: a
// TapeMachine compiled straight from a graph with two nodes of one hash
// computes one of them and hands its value to the other's readers. (If a
// Gorgonia upgrade makes this test fail, its compiler tells such nodes
// apart and checkHashes may go.)
func TestGorgoniaMergesCollidingNodes(t *testing.T) {
	b, y, z := collidingGraph(t)
	m := gorgonia.NewTapeMachine(b.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	show := func(n *Node) string {
		if n.Value() == nil {
			return "never computed"
		}
		return fmt.Sprint(n.Value().Data())
	}
	got := show(y) + ", " + show(z)
	if got == "[2 4 6 8], [3 6 9 12]" {
		t.Fatalf("Gorgonia computed both colliding nodes (%s); its compiler no longer merges nodes by hash alone", got)
	}
	t.Logf("2x and 3x compiled by Gorgonia alone: %s", got)
}

// TestCompileRefusesCollidingHashes: our Compile refuses the graph with
// ErrHashCollision, naming both nodes, instead of running it wrong.
func TestCompileRefusesCollidingHashes(t *testing.T) {
	b, _, _ := collidingGraph(t)
	_, err := b.Compile(nil)
	if !errors.Is(err, ErrHashCollision) {
		t.Fatalf("Compile: got %v, want ErrHashCollision", err)
	}
	t.Log(err)
}

// TestRetryBuildsAgainOnlyOnCollisions: Retry tries again after a
// collision, returns any other outcome at once, and gives up after
// maxBuildTries collisions with the collision error.
func TestRetryBuildsAgainOnlyOnCollisions(t *testing.T) {
	calls := 0
	v, err := Retry(func() (int, error) {
		calls++
		if calls < 3 {
			return 0, fmt.Errorf("building: %w", ErrHashCollision)
		}
		return 42, nil
	})
	if v != 42 || err != nil || calls != 3 {
		t.Fatalf("two collisions then success: got %d, %v after %d calls", v, err, calls)
	}
	other := errors.New("bad shape")
	calls = 0
	if _, err := Retry(func() (int, error) { calls++; return 0, other }); err != other || calls != 1 {
		t.Fatalf("another error: got %v after %d calls, want it at once", err, calls)
	}
	calls = 0
	if _, err := Retry(func() (int, error) { calls++; return 0, ErrHashCollision }); !errors.Is(err, ErrHashCollision) || calls != maxBuildTries {
		t.Fatalf("always colliding: got %v after %d calls, want the collision after %d", err, calls, maxBuildTries)
	}
}
