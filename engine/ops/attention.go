package ops

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// KeyLengths masks padding keys at run time: when L is set, key j of batch
// item i is used only when j < L[i]. Fill it before each Run.
type KeyLengths struct{ L []int }

// Attention is multi-head scaled dot-product attention. q [B, ..., Hd·D]
// (any middle axes are flattened into Lq), k, v [B, Lk, Hd·D]; the output
// has q's shape. mask may be nil; causal masks keys after the query's
// position (self-attention only).
func (b *Builder) Attention(q, k, v *Node, heads int, causal bool, mask *KeyLengths) *Node {
	s := b.attnShape(q, k, v, heads, causal)
	return b.apply("Attention", &attnKernel{s: s, mask: mask, ws32: &b.ws.attn32, ws64: &b.ws.attn64}, q.Shape(), q, k, v)
}

// attnShape checks Attention's inputs and counts its flops.
func (b *Builder) attnShape(q, k, v *Node, heads int, causal bool) kernels.AttnShape {
	qs, ks := []int(q.Shape()), []int(k.Shape())
	c := qs[len(qs)-1]
	if len(ks) != 3 || !k.Shape().Eq(v.Shape()) || ks[0] != qs[0] || ks[2] != c || c%heads != 0 {
		panic(fmt.Sprintf("ops: Attention of q %v, k %v, v %v with %d heads", qs, ks, v.Shape(), heads))
	}
	s := kernels.AttnShape{B: qs[0], Lq: prod(qs[1 : len(qs)-1]), Lk: ks[1], Heads: heads, Dh: c / heads, Causal: causal}
	b.flops += 4 * float64(s.B*s.Heads*s.Lq*s.Lk*s.Dh)
	return s
}

// AttentionBiased is Attention with bias [B, Lq, Lk] added to every
// head's scaled scores before the softmax (Lq: q's middle axes
// flattened); the bias gets a gradient, the heads' summed.
func (b *Builder) AttentionBiased(q, k, v, bias *Node, heads int, causal bool, mask *KeyLengths) *Node {
	s := b.attnShape(q, k, v, heads, causal)
	if bs := []int(bias.Shape()); len(bs) != 3 || bs[0] != s.B || bs[1] != s.Lq || bs[2] != s.Lk {
		panic(fmt.Sprintf("ops: AttentionBiased of q %v, k %v with bias %v", q.Shape(), k.Shape(), bias.Shape()))
	}
	return b.apply("AttentionBiased", &attnKernel{s: s, mask: mask, biased: true, ws32: &b.ws.attn32, ws64: &b.ws.attn64}, q.Shape(), q, k, v, bias)
}

// AttentionProbs returns the probabilities an Attention node of a float32
// graph computed in the last run, [B, Heads, Lq, Lk] (softmax over keys),
// with the node's shape; ok is false for other nodes or before a run.
// The slice is the op's own and is rewritten by the next run.
func AttentionProbs(n *Node) (probs []float32, s kernels.AttnShape, ok bool) {
	op, isOp := n.Op().(*fwdOp)
	if !isOp {
		return nil, s, false
	}
	k, isAttn := op.k.(*attnKernel)
	if !isAttn || len(k.probs32) < k.nprobs() {
		return nil, s, false
	}
	return k.probs32[:k.nprobs()], k.s, true
}

type attnKernel struct {
	s       kernels.AttnShape
	mask    *KeyLengths
	biased  bool // a fourth input: the scores' bias [B, Lq, Lk]
	probs32 []float32
	probs64 []float64
	ws32    *kernels.AttnWorkspace[float32] // the graph's, shared
	ws64    *kernels.AttnWorkspace[float64]
}

func (k *attnKernel) keyLen() []int {
	if k.mask == nil || k.mask.L == nil {
		return nil
	}
	if len(k.mask.L) != k.s.B {
		panic(fmt.Sprintf("ops: Attention: %d key lengths for batch %d", len(k.mask.L), k.s.B))
	}
	return k.mask.L
}

func (k *attnKernel) nprobs() int { return k.s.B * k.s.Heads * k.s.Lq * k.s.Lk }

func (k *attnKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		k.probs32 = grow(k.probs32, k.nprobs())
		attnFwd(k, in, k.probs32, slice[float32](out))
	} else {
		k.probs64 = grow(k.probs64, k.nprobs())
		attnFwd(k, in, k.probs64, slice[float64](out))
	}
}

func attnFwd[T kernels.Float](k *attnKernel, in []gorgonia.Value, probs, out []T) {
	var bias []T
	if k.biased {
		bias = slice[T](in[3])
	}
	kernels.AttentionBiased(k.s, slice[T](in[0]), slice[T](in[1]), slice[T](in[2]), bias, k.keyLen(), probs, out)
}

func (k *attnKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if isF32(dout) {
		attnBwd(k.s, in, dout, g, k.probs32, k.ws32)
	} else {
		attnBwd(k.s, in, dout, g, k.probs64, k.ws64)
	}
}

func attnBwd[T kernels.Float](s kernels.AttnShape, in []gorgonia.Value, dout gorgonia.Value, g []*tensor.Dense, probs []T, ws *kernels.AttnWorkspace[T]) {
	q, kk, v := slice[T](in[0]), slice[T](in[1]), slice[T](in[2])
	dq := orScratch[T](g[0], len(q))
	dk := orScratch[T](g[1], len(kk))
	dv := orScratch[T](g[2], len(v))
	var dbias []T
	if len(g) > 3 {
		dbias = orScratch[T](g[3], s.B*s.Lq*s.Lk)
	}
	kernels.AttentionBackwardBiased(s, q, kk, v, probs, slice[T](dout), dq, dk, dv, dbias, ws)
}

// TokenIDs holds token ids set at run time for an Embedding node.
type TokenIDs struct{ IDs []int }

// Embedding looks up rows of table [V, D] for the ids in ids (length
// prod(shape)), giving [shape..., D]. The table's gradient is dense; rows
// not looked up get zero.
func (b *Builder) Embedding(table *Node, ids *TokenIDs, shape ...int) *Node {
	ts := []int(table.Shape())
	if len(ts) != 2 {
		panic(fmt.Sprintf("ops: Embedding table %v", ts))
	}
	out := append(append([]int(nil), shape...), ts[1])
	return b.apply("Embedding", embedKernel{v: ts[0], d: ts[1], n: prod(shape), ids: ids}, out, table)
}

type embedKernel struct {
	v, d, n int
	ids     *TokenIDs
}

func (k embedKernel) check() []int {
	if len(k.ids.IDs) != k.n {
		panic(fmt.Sprintf("ops: Embedding: %d ids for %d positions", len(k.ids.IDs), k.n))
	}
	for _, id := range k.ids.IDs {
		if id < 0 || id >= k.v {
			panic(fmt.Sprintf("ops: Embedding: id %d outside the table of %d rows", id, k.v))
		}
	}
	return k.ids.IDs
}

func (k embedKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	ids := k.check()
	if isF32(out) {
		kernels.Embedding(k.d, slice[float32](in[0]), ids, slice[float32](out))
	} else {
		kernels.Embedding(k.d, slice[float64](in[0]), ids, slice[float64](out))
	}
}

func (k embedKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] == nil {
		return
	}
	if isF32(dout) {
		kernels.EmbeddingBackward(k.v, k.d, k.ids.IDs, slice[float32](dout), slice[float32](g[0]))
	} else {
		kernels.EmbeddingBackward(k.v, k.d, k.ids.IDs, slice[float64](dout), slice[float64](g[0]))
	}
}

// PlaceBias spreads per-token maps over an image's places for
// AttentionBiased: maps [B, L, G·G] (token j's value at each cell of a
// G×G grid) becomes [B, H·W, L], place (y, x) of an H×W feature map taking
// its cell's value (nearest; H and W multiples of G).
func (b *Builder) PlaceBias(maps *Node, h, w int) *Node {
	ms := []int(maps.Shape())
	g := int(math.Round(math.Sqrt(float64(ms[len(ms)-1]))))
	if len(ms) != 3 || g*g != ms[2] || g == 0 || h%g != 0 || w%g != 0 {
		panic(fmt.Sprintf("ops: PlaceBias of maps %v to %d×%d", ms, h, w))
	}
	return b.apply("PlaceBias", placeKernel{b: ms[0], l: ms[1], g: g, h: h, w: w}, []int{ms[0], h * w, ms[1]}, maps)
}

type placeKernel struct{ b, l, g, h, w int }

// cell is the grid cell of place p of the H×W map.
func (k placeKernel) cell(p int) int {
	y, x := p/k.w, p%k.w
	return (y*k.g/k.h)*k.g + x*k.g/k.w
}

func (k placeKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		placeFwd(k, slice[float32](in[0]), slice[float32](out))
	} else {
		placeFwd(k, slice[float64](in[0]), slice[float64](out))
	}
}

func placeFwd[T kernels.Float](k placeKernel, maps, out []T) {
	gg, hw := k.g*k.g, k.h*k.w
	for bi := 0; bi < k.b; bi++ {
		for p := 0; p < hw; p++ {
			c := k.cell(p)
			row := out[(bi*hw+p)*k.l:][:k.l]
			for j := range row {
				row[j] = maps[(bi*k.l+j)*gg+c]
			}
		}
	}
}

func (k placeKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] == nil {
		return
	}
	if isF32(dout) {
		placeBwd(k, slice[float32](dout), slice[float32](g[0]))
	} else {
		placeBwd(k, slice[float64](dout), slice[float64](g[0]))
	}
}

func placeBwd[T kernels.Float](k placeKernel, dout, dmaps []T) {
	gg, hw := k.g*k.g, k.h*k.w
	clear(dmaps[:k.b*k.l*gg])
	for bi := 0; bi < k.b; bi++ {
		for p := 0; p < hw; p++ {
			c := k.cell(p)
			row := dout[(bi*hw+p)*k.l:][:k.l]
			for j, v := range row {
				dmaps[(bi*k.l+j)*gg+c] += v
			}
		}
	}
}
