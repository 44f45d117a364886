package kernels

import (
	"fmt"
	"math"
)

// checkIDs panics unless every id is in [0, v). Out-of-range ids are a
// programmer error: callers validate token ids before they reach here.
func checkIDs(kernel string, ids []int, v int) {
	for i, id := range ids {
		if id < 0 || id >= v {
			panic(fmt.Sprintf("kernels: %s: ids[%d] = %d out of range [0, %d)", kernel, i, id, v))
		}
	}
}

// Embedding overwrites y [len(ids), d] with rows of table [V, d]
// (V = len(table)/d): y[i] = table[ids[i]]. An id outside [0, V) panics.
func Embedding[T Float](d int, table []T, ids []int, y []T) {
	if d <= 0 {
		panic(fmt.Sprintf("kernels: Embedding: bad width d=%d", d))
	}
	needLen("Embedding", "y", len(y), len(ids)*d)
	checkIDs("Embedding", ids, len(table)/d)
	minRows := max(1, elemMinPerWorker/d)
	if runsInline(len(ids), minRows) {
		embeddingRange(d, table, ids, y)
		return
	}
	Parallel(len(ids), minRows, func(lo, hi int) { embeddingRange(d, table, ids[lo:hi], y[lo*d:hi*d]) })
}

func embeddingRange[T Float](d int, table []T, ids []int, y []T) {
	for i, id := range ids {
		copy(y[i*d:(i+1)*d], table[id*d:(id+1)*d])
	}
}

// EmbeddingBackward overwrites dtable [v, d] with the gradient of
// Embedding: zero, then dy row i added into row ids[i], so repeated ids
// accumulate. Columns are split over workers and rows are added in id
// order, so the result is deterministic. An id outside [0, v) panics
// (before dtable is touched).
func EmbeddingBackward[T Float](v, d int, ids []int, dy, dtable []T) {
	if v < 0 || d <= 0 {
		panic(fmt.Sprintf("kernels: EmbeddingBackward: bad shape v=%d d=%d", v, d))
	}
	needLen("EmbeddingBackward", "dy", len(dy), len(ids)*d)
	needLen("EmbeddingBackward", "dtable", len(dtable), v*d)
	checkIDs("EmbeddingBackward", ids, v)
	dtable = dtable[:v*d]
	if minClear := 4 * elemMinPerWorker; runsInline(len(dtable), minClear) {
		clear(dtable)
	} else {
		Parallel(len(dtable), minClear, func(lo, hi int) { clear(dtable[lo:hi]) })
	}
	minCols := max(16, elemMinPerWorker/max(len(ids), 1))
	if runsInline(d, minCols) {
		embeddingScatter(0, d, d, ids, dy, dtable)
		return
	}
	Parallel(d, minCols, func(lo, hi int) { embeddingScatter(lo, hi, d, ids, dy, dtable) })
}

// embeddingScatter adds columns [lo, hi) of each dy row into its table row.
func embeddingScatter[T Float](lo, hi, d int, ids []int, dy, dtable []T) {
	for i, id := range ids {
		dst, src := dtable[id*d+lo:id*d+hi], dy[i*d+lo:i*d+hi]
		src = src[:len(dst)]
		for j, g := range src {
			dst[j] += g
		}
	}
}

// TimestepEmbedding overwrites y [len(t), dim] with sinusoidal embeddings
// of the (possibly fractional) timesteps t: with half = dim/2 and
// f_i = exp(−ln(10000)·i/half), row n is [cos(t_n·f_0) … cos(t_n·f_{half−1}),
// sin(t_n·f_0) … sin(t_n·f_{half−1})] — diffusers' get_timestep_embedding
// with flip_sin_to_cos=True, downscale_freq_shift=0, scale=1,
// max_period=10000, computed in float64. dim must be even and positive.
// It has no gradient.
func TimestepEmbedding[T Float](t []float64, dim int, y []T) {
	if dim <= 0 || dim%2 != 0 {
		panic(fmt.Sprintf("kernels: TimestepEmbedding: dim %d must be even and positive", dim))
	}
	needLen("TimestepEmbedding", "y", len(y), len(t)*dim)
	half := dim / 2
	for i := range half {
		f := math.Exp(-math.Log(10000) * float64(i) / float64(half))
		for n, tn := range t {
			sin, cos := math.Sincos(tn * f)
			y[n*dim+i], y[n*dim+half+i] = T(cos), T(sin)
		}
	}
}
