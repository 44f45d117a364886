package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// Conv2D convolves NHWC x [N,H,W,Cin] with w [K,K,Cin,Cout] (+ bias [Cout],
// nil for none), padding K/2, stride 1 or 2 → [N,OH,OW,Cout].
func (b *Builder) Conv2D(x, w, bias *Node, stride int) *Node {
	xs, ws := []int(x.Shape()), []int(w.Shape())
	if len(xs) != 4 || len(ws) != 4 || ws[0] != ws[1] || ws[2] != xs[3] {
		panic(fmt.Sprintf("ops: Conv2D of %v by %v", xs, ws))
	}
	s := kernels.ConvShape{N: xs[0], H: xs[1], W: xs[2], Cin: xs[3], Cout: ws[3], K: ws[0], Stride: stride, Pad: ws[0] / 2}
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("ops: Conv2D: %v", err))
	}
	k := &convKernel{s: s, ws32: &b.ws.conv32, ws64: &b.ws.conv64}
	b.flops += s.FLOPs()
	out := []int{s.N, s.OutH(), s.OutW(), s.Cout}
	if bias == nil {
		return b.apply("Conv2D", k, out, x, w)
	}
	return b.apply("Conv2D", k, out, x, w, bias)
}

// convKernel uses its graph's workspace (one per dtype), reused across
// steps and shared by every convolution of the graph, which run one at a
// time.
type convKernel struct {
	s    kernels.ConvShape
	ws32 *kernels.ConvWorkspace[float32]
	ws64 *kernels.ConvWorkspace[float64]
}

func (k *convKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		convFwd(k.s, in, out, k.ws32)
	} else {
		convFwd(k.s, in, out, k.ws64)
	}
}

func convFwd[T kernels.Float](s kernels.ConvShape, in []gorgonia.Value, out *tensor.Dense, ws *kernels.ConvWorkspace[T]) {
	var bias []T
	if len(in) == 3 {
		bias = slice[T](in[2])
	}
	kernels.Conv2D(s, slice[T](in[0]), slice[T](in[1]), bias, slice[T](out), ws)
}

func (k *convKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if isF32(dout) {
		convBwd(k.s, in, dout, g, k.ws32)
	} else {
		convBwd(k.s, in, dout, g, k.ws64)
	}
}

func convBwd[T kernels.Float](s kernels.ConvShape, in []gorgonia.Value, dout gorgonia.Value, g []*tensor.Dense, ws *kernels.ConvWorkspace[T]) {
	var dx, dw, db []T
	if g[0] != nil {
		dx = slice[T](g[0])
	}
	if g[1] != nil {
		dw = slice[T](g[1])
	}
	if len(g) == 3 && g[2] != nil {
		db = slice[T](g[2])
	}
	kernels.Conv2DBackward(s, slice[T](in[0]), slice[T](in[1]), slice[T](dout), dx, dw, db, ws)
}

// Upsample2x is nearest-neighbour ×2 on NHWC.
func (b *Builder) Upsample2x(x *Node) *Node {
	xs := []int(x.Shape())
	if len(xs) != 4 {
		panic(fmt.Sprintf("ops: Upsample2x of %v", xs))
	}
	return b.apply("Upsample2x", upKernel{xs[0], xs[1], xs[2], xs[3]}, []int{xs[0], 2 * xs[1], 2 * xs[2], xs[3]}, x)
}

type upKernel struct{ n, h, w, c int }

func (k upKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		kernels.Upsample2x(k.n, k.h, k.w, k.c, slice[float32](in[0]), slice[float32](out))
	} else {
		kernels.Upsample2x(k.n, k.h, k.w, k.c, slice[float64](in[0]), slice[float64](out))
	}
}

func (k upKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if g[0] == nil {
		return
	}
	if isF32(dout) {
		kernels.Upsample2xBackward(k.n, k.h, k.w, k.c, slice[float32](dout), slice[float32](g[0]))
	} else {
		kernels.Upsample2xBackward(k.n, k.h, k.w, k.c, slice[float64](dout), slice[float64](g[0]))
	}
}

// Concat joins x [..., Ca] and y [..., Cb] along the last axis.
func (b *Builder) Concat(x, y *Node) *Node {
	xs, ys := []int(x.Shape()), []int(y.Shape())
	if len(xs) != len(ys) || prod(xs[:len(xs)-1]) != prod(ys[:len(ys)-1]) {
		panic(fmt.Sprintf("ops: Concat of %v and %v", xs, ys))
	}
	ca, cb := xs[len(xs)-1], ys[len(ys)-1]
	out := append(append([]int(nil), xs[:len(xs)-1]...), ca+cb)
	return b.apply("Concat", concatKernel{rows: prod(xs[:len(xs)-1]), ca: ca, cb: cb}, out, x, y)
}

type concatKernel struct{ rows, ca, cb int }

func (k concatKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		kernels.ConcatChannels(k.rows, k.ca, k.cb, slice[float32](in[0]), slice[float32](in[1]), slice[float32](out))
	} else {
		kernels.ConcatChannels(k.rows, k.ca, k.cb, slice[float64](in[0]), slice[float64](in[1]), slice[float64](out))
	}
}

func (k concatKernel) backward(_ []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if isF32(dout) {
		concatBwd[float32](k, dout, g)
	} else {
		concatBwd[float64](k, dout, g)
	}
}

func concatBwd[T kernels.Float](k concatKernel, dout gorgonia.Value, g []*tensor.Dense) {
	var da, db []T
	if g[0] != nil {
		da = slice[T](g[0])
	}
	if g[1] != nil {
		db = slice[T](g[1])
	}
	kernels.ConcatChannelsBackward(k.rows, k.ca, k.cb, slice[T](dout), da, db)
}
