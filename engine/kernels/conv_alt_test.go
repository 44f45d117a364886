package kernels

import (
	"math/rand/v2"
	"testing"
)

// The "shifted GEMMs" lowering of a 3×3 stride-1 pad-1 convolution, kept
// as a benchmark baseline for the im2col path Conv2D uses. x is copied
// zero-padded to [N, H+2, W+2, Cin]; on that padded grid the input rows of
// tap (ky, kx) for all output positions are one contiguous slice offset by
// ky·(W+2)+kx, so 9 GEMMs with K = Cin accumulate into a padded-grid
// output, whose valid region is then copied out with the bias. It runs in
// chunks of padded rows so the output chunk stays in cache.
//
// Measured on the 2-core EPYC (float32, batch 32, best of 6 interleaved
// runs), forward GFLOPS, im2col vs shifted: 64→64@32×32 117 vs 93,
// 128→128@16×16 120 vs 102, 128→128@8×8 153 vs 99. The K = Cin GEMMs run
// less efficiently than one K = 9·Cin GEMM, the output chunk is re-read 9
// times, and the padded grid wastes (H+2)(W+2)/(HW) − 1 of the work (56%
// at 8×8), which outweighs the copy im2col saves.
type convShiftWS struct{ xp, yp []float32 }

func convShiftForward(s ConvShape, x, w, b, y []float32, ws *convShiftWS, chunkP int) {
	h, wd, c, co := s.H, s.W, s.Cin, s.Cout
	hp, wp := h+2, wd+2
	p := s.N * hp * wp
	xp := convGrow(&ws.xp, (p+2*wp+2)*c)
	clear(xp)
	for n := 0; n < s.N; n++ {
		for i := 0; i < h; i++ {
			at := ((n*hp+i+1)*wp + 1) * c
			copy(xp[at:at+wd*c], x[(n*h+i)*wd*c:(n*h+i+1)*wd*c])
		}
	}
	for p0 := 0; p0 < p; p0 += chunkP {
		pc := min(chunkP, p-p0)
		yp := convGrow(&ws.yp, pc*co)
		for t := 0; t < 9; t++ {
			off := (t/3)*wp + t%3
			beta := float32(1)
			if t == 0 {
				beta = 0
			}
			Gemm(false, false, pc, co, c, 1, xp[(p0+off)*c:], c, w[t*c*co:], co, beta, yp, co)
		}
		for q := p0; q < p0+pc; q++ {
			n, r := q/(hp*wp), q%(hp*wp)
			i, j := r/wp, r%wp
			if i >= h || j >= wd {
				continue
			}
			dst := y[((n*h+i)*wd+j)*co : ((n*h+i)*wd+j+1)*co]
			src := yp[(q-p0)*co : (q-p0+1)*co]
			for k := range dst {
				dst[k] = src[k] + b[k]
			}
		}
	}
}

func TestConvShiftForwardMatchesConv2D(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	s := ConvShape{N: 2, H: 5, W: 6, Cin: 3, Cout: 4, K: 3, Stride: 1, Pad: 1}
	x, w, b := convRandInputs(r, s)
	want := convNaive(s, x, w, b)
	y := convNaNs[float32](len(want))
	convShiftForward(s, convTo[float32](x), convTo[float32](w), convTo[float32](b), y, &convShiftWS{}, 7)
	for i := range want {
		if d := float64(y[i]) - want[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], want[i])
		}
	}
}

// BenchmarkConv2DShifted times the shifted-GEMM forward at the 3×3
// stride-1 reference sizes, for comparison with BenchmarkConv2D.
func BenchmarkConv2DShifted(b *testing.B) {
	for _, c := range convBenchShapes {
		if c.s.K != 3 || c.s.Stride != 1 {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			x, w, bias, y := convBenchBuffers(c.s)
			var ws convShiftWS
			chunk := 4096
			convShiftForward(c.s, x, w, bias, y, &ws, chunk)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				convShiftForward(c.s, x, w, bias, y, &ws, chunk)
			}
			b.ReportMetric(c.s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
