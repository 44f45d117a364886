package nn

import (
	"fmt"
)

func lastDim(n *Node) int {
	s := []int(n.Shape())
	return s[len(s)-1]
}

// Linear is x·W + b over the last axis (W [in, out] named "w", b "b").
func (s Scope) Linear(x *Node, out int, bias bool) *Node {
	in := lastDim(x)
	w := s.Param("w", []int{in, out}, FanIn(in))
	var b *Node
	if bias {
		b = s.Param("b", []int{out}, Zeros)
	}
	y := s.G.B.Linear(x, w, b)
	if hook, ok := s.G.Linear[s.Path]; ok {
		y = hook(s, x, y)
	}
	return y
}

// LinearZero is Linear with weights starting at zero (the last layer of a
// residual branch, so a new block starts as the identity).
func (s Scope) LinearZero(x *Node, out int) *Node {
	in := lastDim(x)
	w := s.Param("w", []int{in, out}, Zeros)
	b := s.Param("b", []int{out}, Zeros)
	return s.G.B.Linear(x, w, b)
}

// Conv is a K×K convolution with bias on NHWC x (w [K,K,in,out]).
func (s Scope) Conv(x *Node, out, k, stride int) *Node {
	in := lastDim(x)
	w := s.Param("w", []int{k, k, in, out}, FanIn(k*k*in))
	b := s.Param("b", []int{out}, Zeros)
	return s.G.B.Conv2D(x, w, b, stride)
}

// ConvZero is Conv starting at zero.
func (s Scope) ConvZero(x *Node, out, k int) *Node {
	in := lastDim(x)
	w := s.Param("w", []int{k, k, in, out}, Zeros)
	b := s.Param("b", []int{out}, Zeros)
	return s.G.B.Conv2D(x, w, b, 1)
}

// GroupNorm with learnable scale "g" and shift "b".
func (s Scope) GroupNorm(x *Node, groups int) *Node {
	c := lastDim(x)
	if c%groups != 0 {
		panic(fmt.Sprintf("nn: %s: %d channels in %d groups", s.Path, c, groups))
	}
	return s.G.B.GroupNorm(x, s.Param("g", []int{c}, Ones), s.Param("b", []int{c}, Zeros), groups, 1e-5)
}

// LayerNorm with learnable scale "g" and shift "b".
func (s Scope) LayerNorm(x *Node) *Node {
	c := lastDim(x)
	return s.G.B.LayerNorm(x, s.Param("g", []int{c}, Ones), s.Param("b", []int{c}, Zeros), 1e-5)
}

// ResBlock is GN→SiLU→Conv3 (+ time embedding) → GN→SiLU→Conv3(zero) plus
// a skip (1×1 conv when the channel count changes). temb [N, T].
func (s Scope) ResBlock(x, temb *Node, out, groups int) *Node {
	b := s.G.B
	h := s.Sub("conv1").Conv(b.SiLU(s.Sub("norm1").GroupNorm(x, groups)), out, 3, 1)
	h = b.AddBroadcast(h, s.Sub("temb").Linear(b.SiLU(temb), out, true))
	h = s.Sub("conv2").ConvZero(b.SiLU(s.Sub("norm2").GroupNorm(h, groups)), out, 3)
	skip := x
	if lastDim(x) != out {
		skip = s.Sub("skip").Linear(x, out, true)
	}
	return b.Add(skip, h)
}

// SelfAttention over the tokens of x [B, L..., C]; causal for text.
func (s Scope) SelfAttention(x *Node, heads int, causal bool, mask bool) *Node {
	c := lastDim(x)
	b := s.G.B
	shape := []int(x.Shape())
	seq := b.Reshape(x, shape[0], prod(shape[1:len(shape)-1]), c)
	q := s.Sub("q").Linear(x, c, false)
	k := s.Sub("k").Linear(seq, c, false)
	v := s.Sub("v").Linear(seq, c, false)
	var kl = s.G.TextLen
	if !mask {
		kl = nil
	}
	a := b.Attention(q, k, v, heads, causal, kl)
	return s.Sub("out").Linear(a, c, true)
}

// CrossAttention lets x [B, ..., C] attend to the text ctx [B, L, D]. Its
// keys and values come from the layer's KV override when one is set.
func (s Scope) CrossAttention(x, ctx *Node, heads int) *Node {
	c := lastDim(x)
	q := s.Sub("q").Linear(x, c, false)
	var k, v *Node
	if kv, ok := s.G.KV[s.Path]; ok {
		k, v = kv.KeysValues(s, ctx, c)
	} else {
		k, v = DefaultKV{}.KeysValues(s, ctx, c)
	}
	var a *Node
	if xs := []int(x.Shape()); len(xs) == 4 && s.G.PlaceBias != nil {
		a = s.G.B.AttentionBiased(q, k, v, s.G.PlaceBias(xs[1], xs[2]), heads, false, s.G.TextLen)
	} else {
		a = s.G.B.Attention(q, k, v, heads, false, s.G.TextLen)
	}
	if xs := []int(x.Shape()); len(xs) == 4 {
		s.G.CrossAttn = append(s.G.CrossAttn, AttnSite{Node: a, H: xs[1], W: xs[2]})
	}
	return s.Sub("out").Linear(a, c, true)
}

// DefaultKV is the plain pair of key and value projections ("k", "v").
type DefaultKV struct{}

// KeysValues projects ctx with the layer's own k and v weights.
func (DefaultKV) KeysValues(s Scope, ctx *Node, dim int) (*Node, *Node) {
	return s.Sub("k").Linear(ctx, dim, false), s.Sub("v").Linear(ctx, dim, false)
}

// FeedForward is Linear(4C)→GELU→Linear(C).
func (s Scope) FeedForward(x *Node, mult int) *Node {
	c := lastDim(x)
	return s.Sub("fc2").Linear(s.G.B.GELU(s.Sub("fc1").Linear(x, mult*c, true)), c, true)
}

// SpatialTransformer is the UNet's attention block on NHWC x: GroupNorm,
// 1×1 in, [self-attention], cross-attention to ctx, feed-forward (each
// pre-LayerNorm, residual), 1×1 out (zero-initialised), residual.
func (s Scope) SpatialTransformer(x, ctx *Node, heads, groups int, selfAttn bool) *Node {
	b := s.G.B
	c := lastDim(x)
	h := s.Sub("proj_in").Linear(s.Sub("norm").GroupNorm(x, groups), c, true)
	if selfAttn {
		h = b.Add(h, s.Sub("attn1").SelfAttention(s.Sub("ln1").LayerNorm(h), heads, false, false))
	}
	h = b.Add(h, s.Sub("attn2").CrossAttention(s.Sub("ln2").LayerNorm(h), ctx, heads))
	h = b.Add(h, s.Sub("ff").FeedForward(s.Sub("ln3").LayerNorm(h), 4))
	return b.Add(x, s.Sub("proj_out").LinearZero(h, c))
}

func prod(d []int) int {
	p := 1
	for _, v := range d {
		p *= v
	}
	return p
}
