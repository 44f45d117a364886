package ops

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
)

// Linear is y = x·w (+ bias) over the last dimension of x: x [..., K],
// w [K, N], bias [N] (nil for none) → y [..., N]. It is also a 1×1
// convolution on NHWC images.
func (b *Builder) Linear(x, w, bias *Node) *Node {
	xs, ws := []int(x.Shape()), []int(w.Shape())
	if len(ws) != 2 || xs[len(xs)-1] != ws[0] {
		panic(fmt.Sprintf("ops: Linear of %v by %v", xs, ws))
	}
	out := append(append([]int(nil), xs[:len(xs)-1]...), ws[1])
	k := linearKernel{rows: prod(xs[:len(xs)-1]), in: ws[0], out: ws[1]}
	b.flops += 2 * float64(k.rows) * float64(k.in) * float64(k.out)
	if bias == nil {
		return b.apply("Linear", k, out, x, w)
	}
	if bs := []int(bias.Shape()); len(bs) != 1 || bs[0] != ws[1] {
		panic(fmt.Sprintf("ops: Linear bias %v for %d outputs", bs, ws[1]))
	}
	return b.apply("Linear", k, out, x, w, bias)
}

type linearKernel struct{ rows, in, out int }

func (k linearKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	if isF32(out) {
		linearFwd[float32](k, in, out)
	} else {
		linearFwd[float64](k, in, out)
	}
}

func linearFwd[T kernels.Float](k linearKernel, in []gorgonia.Value, out *tensor.Dense) {
	x, w, y := slice[T](in[0]), slice[T](in[1]), slice[T](out)
	var beta T
	if len(in) == 3 {
		bias := slice[T](in[2])
		for r := 0; r < k.rows; r++ {
			copy(y[r*k.out:(r+1)*k.out], bias)
		}
		beta = 1
	}
	kernels.Gemm(false, false, k.rows, k.out, k.in, 1, x, k.in, w, k.out, beta, y, k.out)
}

func (k linearKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	if isF32(dout) {
		linearBwd[float32](k, in, dout, g)
	} else {
		linearBwd[float64](k, in, dout, g)
	}
}

func linearBwd[T kernels.Float](k linearKernel, in []gorgonia.Value, dout gorgonia.Value, g []*tensor.Dense) {
	x, w, dy := slice[T](in[0]), slice[T](in[1]), slice[T](dout)
	if g[0] != nil { // dx = dy·wᵀ
		kernels.Gemm(false, true, k.rows, k.in, k.out, 1, dy, k.out, w, k.out, 0, slice[T](g[0]), k.in)
	}
	if g[1] != nil { // dw = xᵀ·dy
		kernels.Gemm(true, false, k.in, k.out, k.rows, 1, x, k.in, dy, k.out, 0, slice[T](g[1]), k.out)
	}
	if len(g) == 3 && g[2] != nil { // dbias = Σ_rows dy
		db := slice[T](g[2])
		clear(db)
		for r := 0; r < k.rows; r++ {
			row := dy[r*k.out : (r+1)*k.out]
			for j, v := range row {
				db[j] += v
			}
		}
	}
}
