package kernels

import (
	"math"
	"strings"
	"testing"
)

func TestEmbeddingValues(t *testing.T) {
	table := []float32{0, 1, 10, 11, 20, 21} // V=3, D=2
	y := []float32{-1, -1, -1, -1, -1, -1, -1, -1}
	Embedding(2, table, []int{2, 0, 2, 1}, y)
	gcClose(t, "y", y, []float64{20, 21, 0, 1, 20, 21, 10, 11}, 0, 0)
}

func TestEmbeddingPanicsOnBadID(t *testing.T) {
	for _, ids := range [][]int{{0, 3}, {-1}} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "out of range [0, 3)") {
					t.Errorf("ids %v: panic %q, want an out-of-range message", ids, msg)
				}
			}()
			Embedding(2, make([]float32, 6), ids, make([]float32, 2*len(ids)))
		}()
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "EmbeddingBackward") || !strings.Contains(msg, "out of range") {
					t.Errorf("backward ids %v: panic %q, want an out-of-range message", ids, msg)
				}
			}()
			EmbeddingBackward(3, 2, ids, make([]float32, 2*len(ids)), make([]float32, 6))
		}()
	}
}

func TestEmbeddingGradients(t *testing.T) {
	const v, d = 5, 3
	ids := []int{3, 1, 3, 0, 3} // id 3 repeated, id 2 and 4 unused
	table := gcRand(101, v*d)
	r := gcRand(102, len(ids)*d)
	y := make([]float64, len(ids)*d)
	loss := func() float64 { Embedding(d, table, ids, y); return gcDot(y, r) }
	dtable := gcNaN(v * d) // must be overwritten, not accumulated into
	EmbeddingBackward(v, d, ids, r, dtable)
	checkGrad(t, "Embedding dtable", table, loss, dtable)
	// Row 3 is the sum of three dy rows; unused rows are exactly zero.
	for j := range d {
		if want := r[0*d+j] + r[2*d+j] + r[4*d+j]; dtable[3*d+j] != want {
			t.Fatalf("dtable[3][%d] = %g, want %g", j, dtable[3*d+j], want)
		}
		if dtable[2*d+j] != 0 || dtable[4*d+j] != 0 {
			t.Fatalf("unused rows not zero: %v", dtable)
		}
	}
}

func TestEmbeddingBackwardLarge(t *testing.T) {
	// Enough columns and ids to split the work; compare with a serial sum.
	const v, d, n = 50, 256, 400
	ids := make([]int, n)
	for i := range ids {
		ids[i] = (i * 7) % v
	}
	dy := gcTo32(gcRand(103, n*d))
	dt := make([]float32, v*d)
	for i := range dt {
		dt[i] = 123
	}
	EmbeddingBackward(v, d, ids, dy, dt)
	want := make([]float32, v*d)
	for i, id := range ids {
		for j := range d {
			want[id*d+j] += dy[i*d+j]
		}
	}
	for i := range want {
		if dt[i] != want[i] {
			t.Fatalf("dtable[%d] = %g, want %g", i, dt[i], want[i])
		}
	}
}

func TestTimestepEmbedding(t *testing.T) {
	// t = 0: cos = 1, sin = 0 everywhere.
	y := gcNaN(2 * 6)
	TimestepEmbedding([]float64{0, 0}, 6, y)
	gcClose(t, "t=0", y, []float64{1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0}, 0, 0)

	// dim 8 → frequencies 10000^(−i/4) = 1, 0.1, 0.01, 0.001.
	y32 := make([]float32, 2*8)
	TimestepEmbedding([]float64{500, 1}, 8, y32)
	want := []float64{
		-0.883849273431478, 0.9649660284921133, 0.28366218546322625, 0.8775825618903728,
		-0.46777180532247614, -0.26237485370392877, -0.9589242746631385, 0.479425538604203,
		math.Cos(1), math.Cos(0.1), math.Cos(0.01), math.Cos(0.001),
		math.Sin(1), math.Sin(0.1), math.Sin(0.01), math.Sin(0.001),
	}
	gcClose(t, "t=500,1", y32, want, 1e-7, 1e-7)

	defer func() {
		if recover() == nil {
			t.Error("odd dim did not panic")
		}
	}()
	TimestepEmbedding([]float64{1}, 5, make([]float32, 5))
}
