package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestUpsample2xHandValues(t *testing.T) {
	// 1×2×2×2: pixels p00=(1,2) p01=(3,4) p10=(5,6) p11=(7,8).
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	y := convNaNs[float32](32)
	Upsample2x(1, 2, 2, 2, x, y)
	convCheckExact(t, "upsample", y, []float64{
		1, 2, 1, 2, 3, 4, 3, 4,
		1, 2, 1, 2, 3, 4, 3, 4,
		5, 6, 5, 6, 7, 8, 7, 8,
		5, 6, 5, 6, 7, 8, 7, 8,
	})

	// Backward of a 1×1×2×1 input: each input sums its 2×2 block.
	dy := []float32{1, 2, 10, 20, 3, 4, 30, 40}
	dx := convNaNs[float32](2)
	Upsample2xBackward(1, 1, 2, 1, dy, dx)
	convCheckExact(t, "upsample backward", dx, []float64{1 + 2 + 3 + 4, 10 + 20 + 30 + 40})
}

func TestConcatChannelsHandValues(t *testing.T) {
	a := []float32{1, 2, 3, 4} // 2 rows × 2
	b := []float32{10, 20}     // 2 rows × 1
	y := convNaNs[float32](6)
	ConcatChannels(2, 2, 1, a, b, y)
	convCheckExact(t, "concat", y, []float64{1, 2, 10, 3, 4, 20})

	da, db := convNaNs[float32](4), convNaNs[float32](2)
	ConcatChannelsBackward(2, 2, 1, []float32{1, 2, 3, 4, 5, 6}, da, db)
	convCheckExact(t, "concat backward a", da, []float64{1, 2, 4, 5})
	convCheckExact(t, "concat backward b", db, []float64{3, 6})

	// Either gradient may be skipped.
	db2 := convNaNs[float32](2)
	ConcatChannelsBackward(2, 2, 1, []float32{1, 2, 3, 4, 5, 6}, nil, db2)
	convCheckExact(t, "concat backward b only", db2, []float64{3, 6})
	da2 := convNaNs[float32](4)
	ConcatChannelsBackward(2, 2, 1, []float32{1, 2, 3, 4, 5, 6}, da2, nil)
	convCheckExact(t, "concat backward a only", da2, []float64{1, 2, 4, 5})
}

func TestUpsample2xBackwardFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sz := range [][4]int{{2, 3, 5, 3}, {1, 1, 1, 1}, {3, 4, 2, 2}} {
		n, h, w, c := sz[0], sz[1], sz[2], sz[3]
		x := randSlice(r, n*h*w*c)
		rr := randSlice(r, 4*len(x))
		y := make([]float64, len(rr))
		loss := func() float64 {
			Upsample2x(n, h, w, c, x, y)
			return convDot(y, rr)
		}
		dx := convNaNs[float64](len(x))
		Upsample2xBackward(n, h, w, c, rr, dx)
		convCheckGrad(t, "upsample dx", x, dx, loss)
	}
}

func TestConcatChannelsBackwardFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, sz := range [][3]int{{7, 3, 5}, {1, 1, 1}, {40, 4, 2}} {
		rows, ca, cb := sz[0], sz[1], sz[2]
		a, b := randSlice(r, rows*ca), randSlice(r, rows*cb)
		rr := randSlice(r, rows*(ca+cb))
		y := make([]float64, len(rr))
		loss := func() float64 {
			ConcatChannels(rows, ca, cb, a, b, y)
			return convDot(y, rr)
		}
		da, db := convNaNs[float64](len(a)), convNaNs[float64](len(b))
		ConcatChannelsBackward(rows, ca, cb, rr, da, db)
		convCheckGrad(t, "concat da", a, da, loss)
		convCheckGrad(t, "concat db", b, db, loss)
	}
}

// TestResampleLarge checks larger, odd sizes against the definitions and
// the backward passes against their forward (adjoint round trips).
func TestResampleLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	n, h, w, c := 3, 9, 7, 33
	x := randSlice(r, n*h*w*c)
	y := convNaNs[float64](4 * len(x))
	Upsample2x(n, h, w, c, x, y)
	dx := convNaNs[float64](len(x))
	Upsample2xBackward(n, h, w, c, y, dx)
	for b := 0; b < n; b++ {
		for i := 0; i < 2*h; i++ {
			for j := 0; j < 2*w; j++ {
				for k := 0; k < c; k++ {
					got := y[((b*2*h+i)*2*w+j)*c+k]
					want := x[((b*h+i/2)*w+j/2)*c+k]
					if got != want {
						t.Fatalf("upsample y[%d,%d,%d,%d] = %v, want %v", b, i, j, k, got, want)
					}
				}
			}
		}
	}
	for i := range x {
		if dx[i] != 4*x[i] {
			t.Fatalf("upsample backward of an upsampled tensor: dx[%d] = %v, want %v", i, dx[i], 4*x[i])
		}
	}

	rows, ca, cb := 5000, 3, 4
	a, bb := randSlice(r, rows*ca), randSlice(r, rows*cb)
	yc := convNaNs[float64](rows * (ca + cb))
	ConcatChannels(rows, ca, cb, a, bb, yc)
	da, db := convNaNs[float64](len(a)), convNaNs[float64](len(bb))
	ConcatChannelsBackward(rows, ca, cb, yc, da, db)
	for i := range a {
		if da[i] != a[i] {
			t.Fatalf("concat round trip: da[%d] = %v, want %v", i, da[i], a[i])
		}
	}
	for i := range bb {
		if db[i] != bb[i] {
			t.Fatalf("concat round trip: db[%d] = %v, want %v", i, db[i], bb[i])
		}
	}
}

func TestResampleSteadyStateAllocs(t *testing.T) {
	n, h, w, c := 4, 8, 8, 16
	x := make([]float32, n*h*w*c)
	y := make([]float32, 4*len(x))
	cat := make([]float32, 2*len(x))
	da := make([]float32, len(x))
	run := func() {
		Upsample2x(n, h, w, c, x, y)
		Upsample2xBackward(n, h, w, c, y, x)
		ConcatChannels(n*h*w, c, c, x, x, cat)
		ConcatChannelsBackward(n*h*w, c, c, cat, x, da)
	}
	run()
	if a := testing.AllocsPerRun(10, run); a > 0 {
		t.Fatalf("%v allocations per run", a)
	}
}

// Reference sizes: the UNet's 16×16 → 32×32 upsampling at 128 channels
// and the skip concatenation at 32×32, 64+64 channels (batch 32).
func BenchmarkUpsample2x(b *testing.B) {
	n, h, w, c := 32, 16, 16, 128
	x := make([]float32, n*h*w*c)
	y := make([]float32, 4*len(x))
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(int64(5 * len(x) * 4))
	for i := 0; i < b.N; i++ {
		Upsample2x(n, h, w, c, x, y)
	}
}

func BenchmarkUpsample2xBackward(b *testing.B) {
	n, h, w, c := 32, 16, 16, 128
	dx := make([]float32, n*h*w*c)
	dy := make([]float32, 4*len(dx))
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(int64(5 * len(dx) * 4))
	for i := 0; i < b.N; i++ {
		Upsample2xBackward(n, h, w, c, dy, dx)
	}
}

func BenchmarkConcatChannels(b *testing.B) {
	rows, ca, cb := 32*32*32, 64, 64
	a, bb := make([]float32, rows*ca), make([]float32, rows*cb)
	y := make([]float32, rows*(ca+cb))
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(int64(2 * len(y) * 4))
	for i := 0; i < b.N; i++ {
		ConcatChannels(rows, ca, cb, a, bb, y)
	}
}

func BenchmarkConcatChannelsBackward(b *testing.B) {
	rows, ca, cb := 32*32*32, 64, 64
	da, db := make([]float32, rows*ca), make([]float32, rows*cb)
	dy := make([]float32, rows*(ca+cb))
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(int64(2 * len(dy) * 4))
	for i := 0; i < b.N; i++ {
		ConcatChannelsBackward(rows, ca, cb, dy, da, db)
	}
}
