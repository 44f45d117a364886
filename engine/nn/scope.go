package nn

import (
	"strings"

	"conceptstudio/engine/ops"
)

// Node is a value in the graph being built.
type Node = ops.Node

// KV computes the keys and values of one cross-attention layer from the
// text encoding ctx [B, L, D]. The default is two plain projections;
// LoRA and Perfusion replace it for the layers they edit, without copying
// the base weights.
type KV interface {
	KeysValues(s Scope, ctx *Node, dim int) (k, v *Node)
}

// LinearHook changes a linear layer's output: it gets the layer's scope,
// its input and the plain output x·W (+b) and returns what the layer gives
// instead (LoRA adds a low-rank branch here).
type LinearHook func(s Scope, x, plain *Node) *Node

// Graph is what all scopes of one graph share.
type Graph struct {
	B       *ops.Builder
	W       *Weights
	nodes   map[string]*Node
	frozen  func(name string) bool
	KV      map[string]KV         // cross-attention overrides by layer path
	Linear  map[string]LinearHook // linear-layer hooks by layer path
	TextLen *ops.KeyLengths
	// KeyCtx is a second text encoding for keys (Perfusion's global
	// locking), or nil.
	KeyCtx *Node
	// CrossAttn lists the image-to-text attention nodes (for attention
	// maps), with the feature map size their queries come from.
	CrossAttn []AttnSite
	// PlaceBias, when set, gives the bias [B, H·W, L] that image-to-text
	// attention over an H×W feature map adds to its scores (per token and
	// place; ops.AttentionBiased).
	PlaceBias func(h, w int) *Node
}

// AttnSite is one cross-attention node over an H×W feature map.
type AttnSite struct {
	Node *Node
	H, W int
}

// NewGraph starts building over weights w. frozen(name) says which weights
// get no gradient (nil: all learnable).
func NewGraph(w *Weights, frozen func(name string) bool) *Graph {
	return &Graph{B: ops.NewBuilder(w.Dtype()), W: w, nodes: map[string]*Node{}, frozen: frozen, KV: map[string]KV{}, Linear: map[string]LinearHook{}, TextLen: &ops.KeyLengths{}}
}

// Scope is a graph plus a name prefix.
type Scope struct {
	G    *Graph
	Path string
}

// Root is the unprefixed scope of g.
func (g *Graph) Root() Scope { return Scope{G: g} }

// Sub is the scope for a named child layer.
func (s Scope) Sub(name string) Scope {
	if s.Path == "" {
		return Scope{G: s.G, Path: name}
	}
	return Scope{G: s.G, Path: s.Path + "." + name}
}

// Name is the full name of a weight in this scope.
func (s Scope) Name(name string) string { return s.Sub(name).Path }

// Param binds the weight called name (created with init when missing).
// Binding the same weight twice in one graph gives the same node.
func (s Scope) Param(name string, shape []int, init Init) *Node {
	full := s.Name(name)
	if n, ok := s.G.nodes[full]; ok {
		return n
	}
	t := s.G.W.Get(full, shape, init)
	learn := s.G.frozen == nil || !s.G.frozen(full)
	n := s.G.B.Param(full, t, learn)
	s.G.nodes[full] = n
	return n
}

// FreezeAllBut returns a frozen-predicate that leaves learnable only the
// weights whose names start with one of the prefixes.
func FreezeAllBut(prefixes ...string) func(string) bool {
	return func(name string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return false
			}
		}
		return true
	}
}
