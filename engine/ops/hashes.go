package ops

import (
	"errors"
	"fmt"

	"gorgonia.org/gorgonia"
)

// Gorgonia's TapeMachine compiler numbers values by each node's 32-bit
// structural hash alone (gorgonia analysis.go, dataflow.vn: "CSE"): two
// different nodes whose hashes happen to be equal are taken for one
// value, so every reader of the second reads the first's register. The
// graph itself keeps the two apart (ExprGraph.AddNode compares nodes on a
// hash collision); the compiler does not. Our ops hash by their address,
// so which nodes collide changes from one build to the next: about one
// graph in a few hundred of the UNet's size (N nodes collide with
// probability about N²/2³³) compiled into a program that read a wrong
// value — a panic when the shapes differed ("GroupNorm: input shape
// [1 24 128], graph built for [1 4 4 256]", or a nil input when the
// value it was handed is computed later), wrong numbers when they did not.
//
// Compile therefore refuses a graph in which two nodes share a hash
// (ErrHashCollision), and Retry builds such a graph again: new ops at new
// addresses hash differently.

// ErrHashCollision says that two nodes of a graph have the same hash,
// which Gorgonia's compiler would treat as one value. Build the graph
// again (Retry).
var ErrHashCollision = errors.New("ops: two nodes of the graph share a hash")

// maxBuildTries bounds Retry. A graph of N nodes collides with probability
// about N²/2³³ (0.3% at 5000 nodes), so a second try nearly always
// succeeds; a collision that survives every try is between nodes whose
// hashes do not depend on addresses (inputs named alike), a programmer
// error that the error names.
const maxBuildTries = 8

// checkHashes returns ErrHashCollision, naming the two nodes, when two
// distinct nodes of the graph share a hash.
func (b *Builder) checkHashes() error {
	all := b.g.AllNodes()
	seen := make(map[uint32]*gorgonia.Node, len(all))
	for _, n := range all {
		h := n.Hashcode()
		if o, ok := seen[h]; ok && o != n {
			return fmt.Errorf("%w: %v and %v (%#08x)", ErrHashCollision, o, n, h)
		}
		seen[h] = n
	}
	return nil
}

// Retry calls build, which builds and compiles a graph, again while its
// graph's hashes collide (ErrHashCollision), at most maxBuildTries times.
func Retry[T any](build func() (T, error)) (T, error) {
	var v T
	var err error
	for range maxBuildTries {
		if v, err = build(); !errors.Is(err, ErrHashCollision) {
			return v, err
		}
	}
	return v, err
}
