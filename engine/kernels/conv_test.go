package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"conceptstudio/internal/numgrad"
)

// convNaive is the direct definition of Conv2D: for every output pixel and
// channel, the sum over the kernel window of x·w, plus b.
func convNaive(s ConvShape, x, w, b []float64) []float64 {
	oh, ow := s.OutH(), s.OutW()
	y := make([]float64, s.N*oh*ow*s.Cout)
	for n := 0; n < s.N; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				for co := 0; co < s.Cout; co++ {
					var acc float64
					if b != nil {
						acc = b[co]
					}
					for ky := 0; ky < s.K; ky++ {
						for kx := 0; kx < s.K; kx++ {
							ih, iw := i*s.Stride-s.Pad+ky, j*s.Stride-s.Pad+kx
							if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
								continue
							}
							for ci := 0; ci < s.Cin; ci++ {
								acc += x[((n*s.H+ih)*s.W+iw)*s.Cin+ci] *
									w[((ky*s.K+kx)*s.Cin+ci)*s.Cout+co]
							}
						}
					}
					y[((n*oh+i)*ow+j)*s.Cout+co] = acc
				}
			}
		}
	}
	return y
}

func convTo[T Float](a []float64) []T {
	out := make([]T, len(a))
	for i, v := range a {
		out[i] = T(v)
	}
	return out
}

func convNaNs[T Float](n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(math.NaN())
	}
	return s
}

func TestConvShapeValidate(t *testing.T) {
	good := []ConvShape{
		{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 1},
		{N: 2, H: 5, W: 4, Cin: 2, Cout: 3, K: 3, Stride: 2, Pad: 0},
		{N: 1, H: 1, W: 1, Cin: 4, Cout: 2, K: 1, Stride: 1, Pad: 0},
		{N: 1, H: 1, W: 1, Cin: 4, Cout: 2, K: 3, Stride: 1, Pad: 1},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: unexpected error %v", s, err)
		}
	}
	bad := []ConvShape{
		{N: 0, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 1},
		{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 5, Stride: 1, Pad: 2},
		{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 3, Pad: 1},
		{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 2},
		{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 1, Stride: 1, Pad: 1},
		{N: 1, H: 2, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 0},
	}
	for _, s := range bad {
		if s.Validate() == nil {
			t.Errorf("%+v: want an error", s)
		}
	}
	s := ConvShape{N: 2, H: 5, W: 6, Cin: 3, Cout: 4, K: 3, Stride: 2, Pad: 1}
	if s.OutH() != 3 || s.OutW() != 3 {
		t.Fatalf("out %dx%d, want 3x3", s.OutH(), s.OutW())
	}
	if got, want := s.FLOPs(), 2.0*2*3*3*4*9*3; got != want {
		t.Fatalf("FLOPs = %v, want %v", got, want)
	}
}

func convCheckExact[T Float](t *testing.T, name string, got []T, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	for i := range want {
		if float64(got[i]) != want[i] {
			t.Fatalf("%s: got %v, want %v", name, got, want)
		}
	}
}

func TestConv2DHandValues(t *testing.T) {
	var ws ConvWorkspace[float32]
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	s := ConvShape{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 1}

	// All-ones kernel plus bias: neighbourhood sums.
	ones := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	y := convNaNs[float32](9)
	Conv2D(s, x, ones, []float32{0.5}, y, &ws)
	convCheckExact(t, "ones 3x3 pad 1", y, []float64{12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5})

	// Only the top-left tap: y(i,j) = x(i-1, j-1) (cross-correlation).
	tl := []float32{1, 0, 0, 0, 0, 0, 0, 0, 0}
	Conv2D(s, x, tl, nil, y, &ws)
	convCheckExact(t, "top-left tap", y, []float64{0, 0, 0, 0, 1, 2, 0, 4, 5})

	// No padding: a single output, the full sum weighted by tap index.
	s0 := ConvShape{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 0}
	idx := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	y1 := convNaNs[float32](1)
	Conv2D(s0, x, idx, nil, y1, &ws)
	convCheckExact(t, "3x3 pad 0", y1, []float64{1 + 4 + 9 + 16 + 25 + 36 + 49 + 64 + 81})

	// Stride 2 on a 4×4 input with pad 1: a 2×2 output.
	x4 := make([]float32, 16)
	for i := range x4 {
		x4[i] = float32(i + 1)
	}
	s2 := ConvShape{N: 1, H: 4, W: 4, Cin: 1, Cout: 1, K: 3, Stride: 2, Pad: 1}
	y4 := convNaNs[float32](4)
	Conv2D(s2, x4, ones, nil, y4, &ws)
	convCheckExact(t, "stride 2", y4, []float64{14, 30, 57, 99})

	// 1×1, 2 in and 3 out channels, two pixels.
	s1 := ConvShape{N: 1, H: 1, W: 2, Cin: 2, Cout: 3, K: 1, Stride: 1, Pad: 0}
	y6 := convNaNs[float32](6)
	Conv2D(s1, []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4, 5, 6}, []float32{0.5, 0, -1}, y6, &ws)
	convCheckExact(t, "1x1", y6, []float64{9.5, 12, 14, 19.5, 26, 32})

	// 1×1 stride 2 keeps the even pixels.
	s12 := ConvShape{N: 1, H: 1, W: 3, Cin: 2, Cout: 3, K: 1, Stride: 2, Pad: 0}
	Conv2D(s12, []float32{1, 2, 9, 9, 3, 4}, []float32{1, 2, 3, 4, 5, 6}, nil, y6, &ws)
	convCheckExact(t, "1x1 stride 2", y6, []float64{9, 12, 15, 19, 26, 33})
}

func TestConv2DBackwardHandValues(t *testing.T) {
	var ws ConvWorkspace[float64]
	s := ConvShape{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 1}
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float64{1, 0, 0, 0, 0, 0, 0, 0, 0} // y(i,j) = x(i-1,j-1)
	dy := []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}
	dx, dw, db := convNaNs[float64](9), convNaNs[float64](9), convNaNs[float64](1)
	Conv2DBackward(s, x, w, dy, dx, dw, db, &ws)
	// x(a,b) reaches y(a+1,b+1), which exists for a,b < 2.
	convCheckExact(t, "dx", dx, []float64{1, 1, 0, 1, 1, 0, 0, 0, 0})
	// dw(ky,kx) = Σ x over the window shifted by (ky-1, kx-1).
	convCheckExact(t, "dw", dw, []float64{12, 21, 16, 27, 45, 33, 24, 39, 28})
	convCheckExact(t, "db", db, []float64{9})
}

// convCases covers K, stride, padding, odd and even sizes, Cin ≠ Cout and
// N > 1.
var convCases = []ConvShape{
	{N: 2, H: 5, W: 5, Cin: 3, Cout: 4, K: 3, Stride: 1, Pad: 1},
	{N: 1, H: 6, W: 4, Cin: 2, Cout: 5, K: 3, Stride: 1, Pad: 0},
	{N: 3, H: 7, W: 6, Cin: 4, Cout: 3, K: 3, Stride: 2, Pad: 1},
	{N: 2, H: 8, W: 8, Cin: 5, Cout: 2, K: 3, Stride: 2, Pad: 1},
	{N: 2, H: 7, W: 5, Cin: 3, Cout: 4, K: 3, Stride: 2, Pad: 0},
	{N: 2, H: 4, W: 5, Cin: 6, Cout: 3, K: 1, Stride: 1, Pad: 0},
	{N: 2, H: 5, W: 6, Cin: 3, Cout: 4, K: 1, Stride: 2, Pad: 0},
	{N: 1, H: 1, W: 1, Cin: 3, Cout: 2, K: 3, Stride: 1, Pad: 1},
	{N: 1, H: 1, W: 2, Cin: 2, Cout: 3, K: 3, Stride: 2, Pad: 1},
	{N: 4, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 0},
}

func convRandInputs(r *rand.Rand, s ConvShape) (x, w, b []float64) {
	return randSlice(r, s.xLen()), randSlice(r, s.wLen()), randSlice(r, s.Cout)
}

func TestConv2DMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var ws64 ConvWorkspace[float64]
	var ws32 ConvWorkspace[float32]
	for _, s := range convCases {
		for _, withBias := range []bool{true, false} {
			x, w, b := convRandInputs(r, s)
			if !withBias {
				b = nil
			}
			want := convNaive(s, x, w, b)
			y64 := convNaNs[float64](len(want))
			Conv2D(s, x, w, b, y64, &ws64)
			for i := range want {
				if math.Abs(y64[i]-want[i]) > 1e-10 {
					t.Fatalf("%+v bias %v float64: y[%d] = %v, want %v", s, withBias, i, y64[i], want[i])
				}
			}
			var b32 []float32
			if b != nil {
				b32 = convTo[float32](b)
			}
			y32 := convNaNs[float32](len(want))
			Conv2D(s, convTo[float32](x), convTo[float32](w), b32, y32, &ws32)
			for i := range want {
				if d := math.Abs(float64(y32[i]) - want[i]); d > 1e-4*math.Max(1, math.Abs(want[i])) {
					t.Fatalf("%+v bias %v float32: y[%d] = %v, want %v", s, withBias, i, y32[i], want[i])
				}
			}
		}
	}
}

// TestConv2DLargeMatchesNaive uses a shape that needs several im2col
// chunks, so chunk boundaries and the col2im scatter are exercised.
func TestConv2DLargeMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var ws ConvWorkspace[float64]
	defer func(old int) { convColBudgetBytes = old }(convColBudgetBytes)
	convColBudgetBytes = 64 << 10
	for _, s := range []ConvShape{
		{N: 3, H: 17, W: 17, Cin: 32, Cout: 8, K: 3, Stride: 1, Pad: 1},
		{N: 3, H: 18, W: 17, Cin: 40, Cout: 8, K: 3, Stride: 2, Pad: 1},
	} {
		if convChunkRows(s, 8) >= s.N*s.OutH() {
			t.Fatalf("%+v fits in one chunk; enlarge the test shape", s)
		}
		x, w, b := convRandInputs(r, s)
		want := convNaive(s, x, w, b)
		y := convNaNs[float64](len(want))
		Conv2D(s, x, w, b, y, &ws)
		for i := range want {
			if math.Abs(y[i]-want[i]) > 1e-10 {
				t.Fatalf("%+v: y[%d] = %v, want %v", s, i, y[i], want[i])
			}
		}
		dy := randSlice(r, len(want))
		dx, dw, db := convNaNs[float64](s.xLen()), convNaNs[float64](s.wLen()), convNaNs[float64](s.Cout)
		Conv2DBackward(s, x, w, dy, dx, dw, db, &ws)
		wantDx, wantDw, wantDb := convNaiveBackward(s, x, w, dy)
		for _, c := range []struct {
			name      string
			got, want []float64
		}{{"dx", dx, wantDx}, {"dw", dw, wantDw}, {"db", db, wantDb}} {
			for i := range c.want {
				if math.Abs(c.got[i]-c.want[i]) > 1e-9 {
					t.Fatalf("%+v: %s[%d] = %v, want %v", s, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}

// convNaiveBackward differentiates convNaive's loops directly.
func convNaiveBackward(s ConvShape, x, w, dy []float64) (dx, dw, db []float64) {
	oh, ow := s.OutH(), s.OutW()
	dx, dw, db = make([]float64, len(x)), make([]float64, len(w)), make([]float64, s.Cout)
	for n := 0; n < s.N; n++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				for co := 0; co < s.Cout; co++ {
					g := dy[((n*oh+i)*ow+j)*s.Cout+co]
					db[co] += g
					for ky := 0; ky < s.K; ky++ {
						for kx := 0; kx < s.K; kx++ {
							ih, iw := i*s.Stride-s.Pad+ky, j*s.Stride-s.Pad+kx
							if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
								continue
							}
							for ci := 0; ci < s.Cin; ci++ {
								xi := ((n*s.H+ih)*s.W+iw)*s.Cin + ci
								wi := ((ky*s.K+kx)*s.Cin+ci)*s.Cout + co
								dx[xi] += g * w[wi]
								dw[wi] += g * x[xi]
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, db
}

func convDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// convCheckGrad compares an analytic gradient with central differences of
// loss with respect to v (perturbed in place), by relative error.
func convCheckGrad(t *testing.T, name string, v, grad []float64, loss func() float64) {
	t.Helper()
	const h = 1e-6
	var num2, diff2, ana2 float64
	for i := range v {
		g := numgrad.CentralDifference(v, i, h, loss)
		if d := math.Abs(g - grad[i]); d > 1e-6*math.Max(1, math.Abs(g)) {
			t.Fatalf("%s[%d]: analytic %v, numeric %v", name, i, grad[i], g)
		}
		diff2 += (g - grad[i]) * (g - grad[i])
		num2 += g * g
		ana2 += grad[i] * grad[i]
	}
	if rel := math.Sqrt(diff2) / math.Max(math.Sqrt(math.Max(num2, ana2)), 1e-300); rel > 1e-6 {
		t.Fatalf("%s: relative error %v", name, rel)
	}
}

func TestConv2DBackwardFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var ws ConvWorkspace[float64]
	for _, s := range convCases {
		x, w, b := convRandInputs(r, s)
		rr := randSlice(r, s.yLen())
		y := make([]float64, s.yLen())
		loss := func() float64 {
			Conv2D(s, x, w, b, y, &ws)
			return convDot(y, rr)
		}
		dx, dw, db := convNaNs[float64](s.xLen()), convNaNs[float64](s.wLen()), convNaNs[float64](s.Cout)
		Conv2DBackward(s, x, w, rr, dx, dw, db, &ws)
		tag := fmt.Sprintf("%+v ", s)
		convCheckGrad(t, tag+"dx", x, dx, loss)
		convCheckGrad(t, tag+"dw", w, dw, loss)
		convCheckGrad(t, tag+"db", b, db, loss)

		// Each gradient alone, with the others skipped, agrees.
		dx2 := convNaNs[float64](s.xLen())
		Conv2DBackward(s, nil, w, rr, dx2, nil, nil, &ws)
		dw2 := convNaNs[float64](s.wLen())
		Conv2DBackward(s, x, nil, rr, nil, dw2, nil, &ws)
		db2 := convNaNs[float64](s.Cout)
		Conv2DBackward(s, nil, nil, rr, nil, nil, db2, &ws)
		for i := range db {
			if db2[i] != db[i] {
				t.Fatalf("%s: db alone differs at %d", tag, i)
			}
		}
		for i := range dx {
			if dx2[i] != dx[i] {
				t.Fatalf("%s: dx alone differs at %d", tag, i)
			}
		}
		for i := range dw {
			if dw2[i] != dw[i] {
				t.Fatalf("%s: dw alone differs at %d", tag, i)
			}
		}
	}
}

// TestConvWorkspaceReuse runs shapes of different sizes through one
// workspace, poisoning its buffers in between, and checks each result
// against the reference: nothing stale may leak into a later call.
func TestConvWorkspaceReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var ws ConvWorkspace[float64]
	shapes := []ConvShape{
		{N: 2, H: 9, W: 9, Cin: 6, Cout: 5, K: 3, Stride: 1, Pad: 1},
		{N: 1, H: 4, W: 3, Cin: 2, Cout: 3, K: 3, Stride: 1, Pad: 0},
		{N: 2, H: 6, W: 6, Cin: 3, Cout: 4, K: 3, Stride: 2, Pad: 1},
		{N: 2, H: 9, W: 9, Cin: 6, Cout: 5, K: 3, Stride: 1, Pad: 1},
	}
	poison := func() {
		for _, buf := range [][]float64{ws.col[:cap(ws.col)], ws.wflip[:cap(ws.wflip)], ws.part[:cap(ws.part)]} {
			for i := range buf {
				buf[i] = math.NaN()
			}
		}
	}
	for round, s := range shapes {
		x, w, b := convRandInputs(r, s)
		want := convNaive(s, x, w, b)
		y := convNaNs[float64](len(want))
		if round > 0 {
			poison()
		}
		Conv2D(s, x, w, b, y, &ws)
		for i := range want {
			if math.Abs(y[i]-want[i]) > 1e-10 {
				t.Fatalf("round %d %+v: y[%d] = %v, want %v", round, s, i, y[i], want[i])
			}
		}
		dy := randSlice(r, len(want))
		wantDx, wantDw, wantDb := convNaiveBackward(s, x, w, dy)
		poison()
		dx, dw, db := convNaNs[float64](s.xLen()), convNaNs[float64](s.wLen()), convNaNs[float64](s.Cout)
		Conv2DBackward(s, x, w, dy, dx, dw, db, &ws)
		for _, c := range []struct {
			name      string
			got, want []float64
		}{{"dx", dx, wantDx}, {"dw", dw, wantDw}, {"db", db, wantDb}} {
			for i := range c.want {
				if math.Abs(c.got[i]-c.want[i]) > 1e-10 {
					t.Fatalf("round %d %+v: %s[%d] = %v, want %v", round, s, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}

func TestConv2DPanicsOnBadInput(t *testing.T) {
	var ws ConvWorkspace[float32]
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	s := ConvShape{N: 1, H: 3, W: 3, Cin: 1, Cout: 1, K: 3, Stride: 1, Pad: 1}
	mustPanic("short y", func() { Conv2D(s, make([]float32, 9), make([]float32, 9), nil, make([]float32, 8), &ws) })
	mustPanic("short w", func() { Conv2D(s, make([]float32, 9), make([]float32, 8), nil, make([]float32, 9), &ws) })
	bad := s
	bad.K = 2
	mustPanic("bad K", func() { Conv2D(bad, make([]float32, 9), make([]float32, 9), nil, make([]float32, 9), &ws) })
}

func TestConv2DSteadyStateAllocs(t *testing.T) {
	if !strings.HasPrefix(BLAS(), "OpenBLAS") {
		t.Skipf("%s allocates inside Gemm", BLAS())
	}
	var ws ConvWorkspace[float32]
	for _, s := range []ConvShape{
		{N: 4, H: 16, W: 16, Cin: 16, Cout: 16, K: 3, Stride: 1, Pad: 1},
		{N: 4, H: 16, W: 16, Cin: 16, Cout: 32, K: 3, Stride: 2, Pad: 1},
		{N: 4, H: 16, W: 16, Cin: 32, Cout: 16, K: 1, Stride: 1, Pad: 0},
	} {
		x, w, b := make([]float32, s.xLen()), make([]float32, s.wLen()), make([]float32, s.Cout)
		y := make([]float32, s.yLen())
		dx, dw, db := make([]float32, s.xLen()), make([]float32, s.wLen()), make([]float32, s.Cout)
		run := func() {
			Conv2D(s, x, w, b, y, &ws)
			Conv2DBackward(s, x, w, y, dx, dw, db, &ws)
		}
		run()
		if n := testing.AllocsPerRun(10, run); n != 0 {
			t.Fatalf("%+v: %v allocations per forward+backward after warm-up, want 0", s, n)
		}
	}
}

// Reference sizes of the diffusion UNet (batch 32).
var convBenchShapes = []struct {
	name string
	s    ConvShape
}{
	{"3x3_64to64_32x32", ConvShape{N: 32, H: 32, W: 32, Cin: 64, Cout: 64, K: 3, Stride: 1, Pad: 1}},
	{"3x3_128to128_16x16", ConvShape{N: 32, H: 16, W: 16, Cin: 128, Cout: 128, K: 3, Stride: 1, Pad: 1}},
	{"3x3_128to128_8x8", ConvShape{N: 32, H: 8, W: 8, Cin: 128, Cout: 128, K: 3, Stride: 1, Pad: 1}},
	{"1x1_128to64_16x16", ConvShape{N: 32, H: 16, W: 16, Cin: 128, Cout: 64, K: 1, Stride: 1, Pad: 0}},
	{"3x3s2_64to128_32to16", ConvShape{N: 32, H: 32, W: 32, Cin: 64, Cout: 128, K: 3, Stride: 2, Pad: 1}},
}

func convBenchBuffers(s ConvShape) (x, w, b, y []float32) {
	r := rand.New(rand.NewPCG(1, 1))
	x, w, b = make([]float32, s.xLen()), make([]float32, s.wLen()), make([]float32, s.Cout)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.05)
	}
	return x, w, b, make([]float32, s.yLen())
}

func BenchmarkConv2D(b *testing.B) {
	for _, c := range convBenchShapes {
		b.Run(c.name, func(b *testing.B) {
			x, w, bias, y := convBenchBuffers(c.s)
			var ws ConvWorkspace[float32]
			Conv2D(c.s, x, w, bias, y, &ws)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Conv2D(c.s, x, w, bias, y, &ws)
			}
			b.ReportMetric(c.s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

func BenchmarkConv2DBackward(b *testing.B) {
	for _, c := range convBenchShapes {
		b.Run(c.name, func(b *testing.B) {
			x, w, _, dy := convBenchBuffers(c.s)
			for i := range dy {
				dy[i] = float32(i%13) * 0.01
			}
			dx, dw, db := make([]float32, c.s.xLen()), make([]float32, c.s.wLen()), make([]float32, c.s.Cout)
			var ws ConvWorkspace[float32]
			Conv2DBackward(c.s, x, w, dy, dx, dw, db, &ws)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Conv2DBackward(c.s, x, w, dy, dx, dw, db, &ws)
			}
			b.ReportMetric(2*c.s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// BenchmarkConv2DStep times a training step's share of each convolution,
// forward then backward (dx, dw, db), against 3× the forward FLOPs.
func BenchmarkConv2DStep(b *testing.B) {
	for _, c := range convBenchShapes {
		b.Run(c.name, func(b *testing.B) {
			x, w, bias, y := convBenchBuffers(c.s)
			dx, dw, db := make([]float32, c.s.xLen()), make([]float32, c.s.wLen()), make([]float32, c.s.Cout)
			var ws ConvWorkspace[float32]
			step := func() {
				Conv2D(c.s, x, w, bias, y, &ws)
				Conv2DBackward(c.s, x, w, y, dx, dw, db, &ws)
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.ReportMetric(3*c.s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
