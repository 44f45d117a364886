package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// GroupNorm normalises x [N, ..., C] over groups of C/groups channels
// and all middle positions, then applies gamma, beta [C].
func (b *Builder) GroupNorm(x, gamma, beta *Node, groups int, eps float64) *Node {
	xs := []int(x.Shape())
	c := xs[len(xs)-1]
	if len(xs) < 2 || c%groups != 0 || gamma.Shape().TotalSize() != c || beta.Shape().TotalSize() != c {
		panic(fmt.Sprintf("ops: GroupNorm(%d groups) of %v", groups, xs))
	}
	k := &normKernel{group: true, n: xs[0], hw: prod(xs[1 : len(xs)-1]), c: c, groups: groups, eps: eps}
	return b.apply("GroupNorm", k, xs, x, gamma, beta)
}

// LayerNorm normalises over the last axis of x with gamma, beta [C].
func (b *Builder) LayerNorm(x, gamma, beta *Node, eps float64) *Node {
	xs := []int(x.Shape())
	c := xs[len(xs)-1]
	if gamma.Shape().TotalSize() != c || beta.Shape().TotalSize() != c {
		panic(fmt.Sprintf("ops: LayerNorm of %v", xs))
	}
	k := &normKernel{n: prod(xs[:len(xs)-1]), c: c, eps: eps}
	return b.apply("LayerNorm", k, xs, x, gamma, beta)
}

// normKernel is GroupNorm (group) or LayerNorm; it keeps the statistics of
// the last forward for the backward of the same run.
type normKernel struct {
	group            bool
	n, hw, c, groups int
	eps              float64
	mean32, rstd32   []float32
	mean64, rstd64   []float64
}

func (k *normKernel) stats() int {
	if k.group {
		return k.n * k.groups
	}
	return k.n
}

func (k *normKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		k.mean32, k.rstd32 = grow(k.mean32, k.stats()), grow(k.rstd32, k.stats())
		normFwd(k, in, out, k.mean32, k.rstd32)
	} else {
		k.mean64, k.rstd64 = grow(k.mean64, k.stats()), grow(k.rstd64, k.stats())
		normFwd(k, in, out, k.mean64, k.rstd64)
	}
}

func normFwd[T kernels.Float](k *normKernel, in []gorgonia.Value, out *tensor.Dense, mean, rstd []T) {
	x, gamma, beta, y := slice[T](in[0]), slice[T](in[1]), slice[T](in[2]), slice[T](out)
	if k.group {
		kernels.GroupNorm(k.n, k.hw, k.c, k.groups, T(k.eps), x, gamma, beta, y, mean, rstd)
	} else {
		kernels.LayerNorm(k.n, k.c, T(k.eps), x, gamma, beta, y, mean, rstd)
	}
}

func (k *normKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if isF32(dout) {
		normBwd(k, in, dout, g, k.mean32, k.rstd32)
	} else {
		normBwd(k, in, dout, g, k.mean64, k.rstd64)
	}
}

func normBwd[T kernels.Float](k *normKernel, in []gorgonia.Value, dout gorgonia.Value, g []*tensor.Dense, mean, rstd []T) {
	x, gamma, dy := slice[T](in[0]), slice[T](in[1]), slice[T](dout)
	dx := orScratch[T](g[0], len(x))
	dgamma := orScratch[T](g[1], k.c)
	dbeta := orScratch[T](g[2], k.c)
	if k.group {
		kernels.GroupNormBackward(k.n, k.hw, k.c, k.groups, x, gamma, mean, rstd, dy, dx, dgamma, dbeta)
	} else {
		kernels.LayerNormBackward(k.n, k.c, x, gamma, mean, rstd, dy, dx, dgamma, dbeta)
	}
}

// orScratch returns g's data, or a throw-away buffer when the gradient is
// not wanted (kernels that compute several gradients in one pass).
func orScratch[T kernels.Float](g *tensor.Dense, n int) []T {
	if g != nil {
		return slice[T](g)
	}
	return make([]T, n)
}

// grow returns s resized to n, reusing its memory when it is large enough.
func grow[T kernels.Float](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// SiLU is x·σ(x), elementwise.
func (b *Builder) SiLU(x *Node) *Node {
	return b.apply("SiLU", actKernel{gelu: false}, []int(x.Shape()), x)
}

// GELU is x·Φ(x) (the exact erf form), elementwise.
func (b *Builder) GELU(x *Node) *Node {
	return b.apply("GELU", actKernel{gelu: true}, []int(x.Shape()), x)
}

type actKernel struct{ gelu bool }

func (k actKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		actFwd[float32](k, in[0], out)
	} else {
		actFwd[float64](k, in[0], out)
	}
}

func actFwd[T kernels.Float](k actKernel, x gorgonia.Value, out *tensor.Dense) {
	if k.gelu {
		kernels.GELU(slice[T](x), slice[T](out))
	} else {
		kernels.SiLU(slice[T](x), slice[T](out))
	}
}

func (k actKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] == nil {
		return
	}
	if isF32(dout) {
		actBwd[float32](k, in[0], dout, g[0])
	} else {
		actBwd[float64](k, in[0], dout, g[0])
	}
}

func actBwd[T kernels.Float](k actKernel, x, dout gorgonia.Value, g *tensor.Dense) {
	if k.gelu {
		kernels.GELUBackward(slice[T](x), slice[T](dout), slice[T](g))
	} else {
		kernels.SiLUBackward(slice[T](x), slice[T](dout), slice[T](g))
	}
}
