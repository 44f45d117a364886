package kernels

import (
	"fmt"
	"math"
	"testing"
)

func TestSoftmaxHandValues(t *testing.T) {
	want := []float64{0.09003057317038046, 0.24472847105479767, 0.6652409557748219}
	y := gcNaN(3)
	Softmax(1, 3, []float64{1, 2, 3}, y, SoftmaxMask{})
	gcClose(t, "softmax", y, want, 0, 1e-15)
	y32 := make([]float32, 3)
	Softmax(1, 3, []float32{1, 2, 3}, y32, SoftmaxMask{})
	gcClose(t, "softmax32", y32, want, 0, 1e-7)
	// Shift invariance with huge logits.
	Softmax(1, 3, []float32{1e4 + 1, 1e4 + 2, 1e4 + 3}, y32, SoftmaxMask{})
	gcClose(t, "softmax32(1e4+)", y32, want, 0, 1e-7)
}

func TestSoftmaxExtremeLogits(t *testing.T) {
	for _, x := range [][]float64{{1e4, 0, -1e4}, {-1e4, 1e4, 0}} {
		y, y32 := gcNaN(3), make([]float32, 3)
		Softmax(1, 3, x, y, SoftmaxMask{})
		Softmax(1, 3, gcTo32(x), y32, SoftmaxMask{})
		want := make([]float64, 3)
		for j, v := range x {
			if v == 1e4 {
				want[j] = 1
			}
		}
		gcClose(t, fmt.Sprint("softmax", x), y, want, 0, 0)
		gcClose(t, fmt.Sprint("softmax32", x), y32, want, 0, 0)
	}
}

func TestSoftmaxMasks(t *testing.T) {
	const third = 1.0 / 3
	zeros := make([]float64, 5*3)
	// Causal on two stacked 3×3 blocks (rows 3..5 are queries 0..2 again).
	y := gcNaN(6 * 3)
	Softmax(6, 3, make([]float64, 6*3), y, SoftmaxMask{Causal: true})
	causal := []float64{1, 0, 0, 0.5, 0.5, 0, third, third, third}
	gcClose(t, "causal", y, append(append([]float64{}, causal...), causal...), 0, 1e-15)

	// Valid prefixes: 2 columns, none (all masked → zeros, not NaN), all,
	// more than cols (clamped), negative (none).
	y = gcNaN(5 * 3)
	Softmax(5, 3, zeros[:5*3], y, SoftmaxMask{Valid: []int{2, 0, 3, 7, -1}})
	gcClose(t, "valid", y, []float64{0.5, 0.5, 0, 0, 0, 0, third, third, third, third, third, third, 0, 0, 0}, 0, 1e-15)

	// Both: the tighter limit wins.
	y = gcNaN(3 * 3)
	Softmax(3, 3, []float64{1, 9, 9, 1, 2, 9, 1, 2, 3}, y, SoftmaxMask{Causal: true, Valid: []int{3, 3, 2}})
	e := math.Exp(1)
	gcClose(t, "causal+valid", y, []float64{1, 0, 0, 1 / (1 + e), e / (1 + e), 0, 1 / (1 + e), e / (1 + e), 0}, 0, 1e-15)

	// A row whose logits are all −Inf is treated as masked.
	y32 := []float32{1, 1, 1}
	ninf := float32(math.Inf(-1))
	Softmax(1, 3, []float32{ninf, ninf, ninf}, y32, SoftmaxMask{})
	gcClose(t, "all -Inf", y32, []float64{0, 0, 0}, 0, 0)
	// −Inf entries among finite ones just get zero probability.
	Softmax(1, 3, []float32{ninf, 0, 0}, y32, SoftmaxMask{})
	gcClose(t, "some -Inf", y32, []float64{0, 0.5, 0.5}, 0, 0)
}

func TestSoftmaxInPlaceAndFloat32(t *testing.T) {
	// Many rows (several workers), y aliasing x, float32 against float64.
	const rows, cols = 700, 37
	x := gcRand(51, rows*cols)
	for i := range x {
		x[i] = float64(float32(20 * x[i])) // exactly representable in both
	}
	valid := make([]int, rows)
	for i := range valid {
		valid[i] = i % (cols + 2)
	}
	mask := SoftmaxMask{Valid: valid}
	y := make([]float64, len(x))
	Softmax(rows, cols, x, y, mask)
	y32 := gcTo32(x)
	Softmax(rows, cols, y32, y32, mask)
	for i := range y {
		if d := math.Abs(float64(y32[i]) - y[i]); d > 2e-7*y[i]+1e-38 {
			t.Fatalf("y32[%d] = %g, float64 gives %g", i, y32[i], y[i])
		}
	}
	for r := range rows {
		var s float64
		for j := range cols {
			s += y[r*cols+j]
			if j >= valid[r] && y[r*cols+j] != 0 {
				t.Fatalf("row %d col %d masked but %g", r, j, y[r*cols+j])
			}
		}
		if want := math.Min(1, float64(valid[r])); math.Abs(s-want) > 1e-14 {
			t.Fatalf("row %d sums to %g, want %g", r, s, want)
		}
	}
}

func TestSoftmaxGradients(t *testing.T) {
	const rows, cols = 6, 5
	for name, mask := range map[string]SoftmaxMask{
		"none":   {},
		"causal": {Causal: true},
		"valid":  {Valid: []int{5, 3, 0, 1, 4, 2}},
		"both":   {Causal: true, Valid: []int{5, 0, 2, 5, 4, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			x := gcRand(61, rows*cols)
			for i := range x {
				x[i] *= 3
			}
			r := gcRand(62, rows*cols)
			y := make([]float64, rows*cols)
			loss := func() float64 { Softmax(rows, cols, x, y, mask); return gcDot(y, r) }
			loss()
			dx := gcNaN(rows * cols)
			SoftmaxBackward(rows, cols, y, r, dx)
			checkGrad(t, "Softmax "+name, x, loss, dx)
		})
	}
}

func BenchmarkSoftmax(b *testing.B) {
	const rows, cols = 32 * 4 * 256, 256
	x := gcTo32(gcRand(1, rows*cols))
	for i := range x {
		x[i] *= 8
	}
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	b.Run("fwd", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			Softmax(rows, cols, x, y, SoftmaxMask{})
		}
	})
	b.Run("bwd", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			SoftmaxBackward(rows, cols, y, x, dx)
		}
	})
}
