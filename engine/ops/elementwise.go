package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// Add is a + b for equal shapes (a fresh output: never in place).
func (b *Builder) Add(x, y *Node) *Node {
	if !x.Shape().Eq(y.Shape()) {
		panic(fmt.Sprintf("ops: Add of %v and %v", x.Shape(), y.Shape()))
	}
	return b.apply("Add", addKernel{}, []int(x.Shape()), x, y)
}

type addKernel struct{}

func (addKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		addFwd[float32](in, out)
	} else {
		addFwd[float64](in, out)
	}
}

func addFwd[T kernels.Float](in []gorgonia.Value, out *tensor.Dense) {
	a, c, y := slice[T](in[0]), slice[T](in[1]), slice[T](out)
	for i := range y {
		y[i] = a[i] + c[i]
	}
}

func (addKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	for _, gi := range g {
		if gi != nil {
			copyValue(gi, dout)
		}
	}
}

// AddPositional is x + p for x [N, rest...] and p [rest...]: the same
// p added to every sample (a learned position embedding over a feature
// map).
func (b *Builder) AddPositional(x, p *Node) *Node {
	xs, ps := []int(x.Shape()), []int(p.Shape())
	if len(xs) != len(ps)+1 || !tensor.Shape(xs[1:]).Eq(tensor.Shape(ps)) {
		panic(fmt.Sprintf("ops: AddPositional of %v and %v", xs, ps))
	}
	return b.apply("AddPositional", posKernel{n: xs[0], per: prod(ps)}, xs, x, p)
}

type posKernel struct{ n, per int }

func (k posKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		posFwd[float32](k, in, out)
	} else {
		posFwd[float64](k, in, out)
	}
}

func posFwd[T kernels.Float](k posKernel, in []gorgonia.Value, out *tensor.Dense) {
	x, p, y := slice[T](in[0]), slice[T](in[1]), slice[T](out)
	for n := 0; n < k.n; n++ {
		yn, xn := y[n*k.per:(n+1)*k.per], x[n*k.per:(n+1)*k.per]
		for i, v := range p {
			yn[i] = xn[i] + v
		}
	}
}

func (k posKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] != nil {
		copyValue(g[0], dout)
	}
	if g[1] != nil {
		if isF32(g[1]) {
			posBwd[float32](k, dout, g[1])
		} else {
			posBwd[float64](k, dout, g[1])
		}
	}
}

func posBwd[T kernels.Float](k posKernel, dout gorgonia.Value, g *tensor.Dense) {
	dy, dp := slice[T](dout), slice[T](g)
	copy(dp, dy[:k.per])
	for n := 1; n < k.n; n++ {
		for i, v := range dy[n*k.per : (n+1)*k.per] {
			dp[i] += v
		}
	}
}

// sumKernel adds any number of equal-shaped inputs (gradient sums; it is
// never differentiated).
type sumKernel struct{}

func (sumKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		sumFwd[float32](in, out)
	} else {
		sumFwd[float64](in, out)
	}
}

func sumFwd[T kernels.Float](in []gorgonia.Value, out *tensor.Dense) {
	y := slice[T](out)
	copy(y, slice[T](in[0]))
	for _, v := range in[1:] {
		for i, x := range slice[T](v) {
			y[i] += x
		}
	}
}

func (sumKernel) backward([]gorgonia.Value, gorgonia.Value, gorgonia.Value, []*tensor.Dense) {
	panic("ops: a gradient sum has no backward")
}

// AddBroadcast is x + v with v [N, C] broadcast over the middle axes of
// x [N, ..., C] (a per-sample, per-channel shift such as a time embedding).
func (b *Builder) AddBroadcast(x, v *Node) *Node {
	xs, vs := []int(x.Shape()), []int(v.Shape())
	if len(vs) != 2 || len(xs) < 2 || xs[0] != vs[0] || xs[len(xs)-1] != vs[1] {
		panic(fmt.Sprintf("ops: AddBroadcast of %v and %v", xs, vs))
	}
	k := bcastKernel{n: xs[0], mid: prod(xs[1 : len(xs)-1]), c: vs[1]}
	return b.apply("AddBroadcast", k, xs, x, v)
}

type bcastKernel struct{ n, mid, c int }

func (k bcastKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		bcastFwd[float32](k, in, out)
	} else {
		bcastFwd[float64](k, in, out)
	}
}

func bcastFwd[T kernels.Float](k bcastKernel, in []gorgonia.Value, out *tensor.Dense) {
	x, v, y := slice[T](in[0]), slice[T](in[1]), slice[T](out)
	for n := 0; n < k.n; n++ {
		vn := v[n*k.c : (n+1)*k.c]
		for m := 0; m < k.mid; m++ {
			o := (n*k.mid + m) * k.c
			xr, yr := x[o:o+k.c], y[o:o+k.c]
			for j := range yr {
				yr[j] = xr[j] + vn[j]
			}
		}
	}
}

func (k bcastKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] != nil {
		copyValue(g[0], dout)
	}
	if g[1] != nil {
		if isF32(dout) {
			bcastBwd[float32](k, dout, g[1])
		} else {
			bcastBwd[float64](k, dout, g[1])
		}
	}
}

func bcastBwd[T kernels.Float](k bcastKernel, dout gorgonia.Value, g *tensor.Dense) {
	dy, dv := slice[T](dout), slice[T](g)
	clear(dv)
	for n := 0; n < k.n; n++ {
		dvn := dv[n*k.c : (n+1)*k.c]
		for m := 0; m < k.mid; m++ {
			o := (n*k.mid + m) * k.c
			for j, d := range dy[o : o+k.c] {
				dvn[j] += d
			}
		}
	}
}

// Reshape returns a copy of x with a new shape of the same size (a copy,
// never a view: Gorgonia's in-place ops corrupt views).
func (b *Builder) Reshape(x *Node, shape ...int) *Node {
	if prod(shape) != prod([]int(x.Shape())) {
		panic(fmt.Sprintf("ops: Reshape %v to %v", x.Shape(), shape))
	}
	return b.apply("Reshape", reshapeKernel{}, append([]int(nil), shape...), x)
}

type reshapeKernel struct{}

func (reshapeKernel) forward(in []gorgonia.Value, out *tensor.Dense) { copyValue(out, in[0]) }
func (reshapeKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] != nil {
		copyValue(g[0], dout)
	}
}

// Scale is x·s for a constant s.
func (b *Builder) Scale(x *Node, s float64) *Node {
	return b.apply(fmt.Sprintf("Scale(%g)", s), scaleKernel{s}, []int(x.Shape()), x)
}

type scaleKernel struct{ s float64 }

func (k scaleKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		scaleInto[float32](slice[float32](out), slice[float32](in[0]), float32(k.s))
	} else {
		scaleInto[float64](slice[float64](out), slice[float64](in[0]), k.s)
	}
}

func (k scaleKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] == nil {
		return
	}
	if isF32(dout) {
		scaleInto[float32](slice[float32](g[0]), slice[float32](dout), float32(k.s))
	} else {
		scaleInto[float64](slice[float64](g[0]), slice[float64](dout), k.s)
	}
}

func scaleInto[T kernels.Float](dst, src []T, s T) {
	for i, v := range src {
		dst[i] = v * s
	}
}

// copyValue copies src's elements into dst (same size, same dtype).
func copyValue(dst *tensor.Dense, src gorgonia.Value) {
	if isF32(dst) {
		copy(slice[float32](dst), slice[float32](src))
	} else {
		copy(slice[float64](dst), slice[float64](src))
	}
}
