package kernels

import "math"

// SoftmaxMask restricts each softmax row to a prefix of its columns.
// Masked entries get probability 0; a row with no allowed column is all
// zeros (not NaN). The zero value masks nothing.
type SoftmaxMask struct {
	// Causal treats row r as query position r mod cols of a stack of
	// square cols×cols score blocks (e.g. [B·H·L, L] self-attention
	// scores) and allows only columns j ≤ r mod cols.
	Causal bool
	// Valid, when non-nil, holds one entry per row: the number of leading
	// columns allowed in that row (clamped to [0, cols]).
	Valid []int
}

// limit is the number of leading columns allowed in row r.
func (m SoftmaxMask) limit(r, cols int) int {
	n := cols
	if m.Valid != nil {
		n = min(n, max(m.Valid[r], 0))
	}
	if m.Causal {
		n = min(n, r%cols+1)
	}
	return n
}

// Softmax overwrites y with the softmax of each row of x (rows×cols,
// row-major) under mask. The row maximum is subtracted before
// exponentiating and the normaliser is summed in float64, so logits such
// as ±1e4 are handled exactly. A row whose allowed logits are all −Inf is
// treated as fully masked (zeros). y may alias x.
func Softmax[T Float](rows, cols int, x, y []T, mask SoftmaxMask) {
	needLen("Softmax", "x", len(x), rows*cols)
	needLen("Softmax", "y", len(y), rows*cols)
	if mask.Valid != nil {
		needLen("Softmax", "mask.Valid", len(mask.Valid), rows)
	}
	if cols == 0 {
		return
	}
	minRows := max(1, elemMinPerWorker/cols)
	if runsInline(rows, minRows) {
		softmaxRange(0, rows, cols, x, y, mask)
		return
	}
	Parallel(rows, minRows, func(lo, hi int) { softmaxRange(lo, hi, cols, x, y, mask) })
}

// softmaxRange is Softmax for rows [lo, hi).
func softmaxRange[T Float](lo, hi, cols int, x, y []T, mask SoftmaxMask) {
	for r := lo; r < hi; r++ {
		softmaxRow(x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols], mask.limit(r, cols))
	}
}

// softmaxRow writes into y the softmax of x[:n] followed by zeros for the
// masked tail x[n:]; n ≤ 0 gives an all-zero row. y may alias x.
func softmaxRow[T Float](x, y []T, n int) {
	y = y[:len(x)]
	if n <= 0 {
		clear(y)
		return
	}
	n = min(n, len(x))
	xs, ys := x[:n], y[:n]
	m := xs[0]
	for _, v := range xs[1:] {
		if v > m {
			m = v
		}
	}
	mf := float64(m)
	if math.IsInf(mf, -1) {
		// Every allowed logit is −Inf: treat the row as fully masked.
		clear(y)
		return
	}
	var sum float64
	if elemIs32[T]() { // separate loops keep expFast inlined
		for j, v := range xs {
			e := expFast(float64(v) - mf)
			ys[j] = T(e)
			sum += e
		}
	} else {
		for j, v := range xs {
			e := math.Exp(float64(v) - mf)
			ys[j] = T(e)
			sum += e
		}
	}
	inv := 1 / sum
	if elemIs32[T]() {
		inv32 := T(inv)
		for j := range ys {
			ys[j] *= inv32
		}
	} else {
		for j := range ys {
			ys[j] = T(float64(ys[j]) * inv)
		}
	}
	clear(y[n:])
}

// SoftmaxBackward overwrites dx with y ⊙ (dy − Σ_j y·dy) row by row, the
// gradient of Softmax given its output y (rows×cols). Masked entries have
// y = 0 and so get dx = 0; no mask is needed. dx may alias dy.
func SoftmaxBackward[T Float](rows, cols int, y, dy, dx []T) {
	needLen("SoftmaxBackward", "y", len(y), rows*cols)
	needLen("SoftmaxBackward", "dy", len(dy), rows*cols)
	needLen("SoftmaxBackward", "dx", len(dx), rows*cols)
	if cols == 0 {
		return
	}
	minRows := max(1, elemMinPerWorker/cols)
	if runsInline(rows, minRows) {
		softmaxBackwardRange(0, rows, cols, y, dy, dx)
		return
	}
	Parallel(rows, minRows, func(lo, hi int) { softmaxBackwardRange(lo, hi, cols, y, dy, dx) })
}

// softmaxBackwardRange is SoftmaxBackward for rows [lo, hi).
func softmaxBackwardRange[T Float](lo, hi, cols int, y, dy, dx []T) {
	for r := lo; r < hi; r++ {
		softmaxRowBackward(y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols])
	}
}

// softmaxRowBackward is SoftmaxBackward for one row.
func softmaxRowBackward[T Float](y, dy, dx []T) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	var s float64
	for j, p := range y {
		s += float64(p) * float64(dy[j])
	}
	for j, p := range y {
		dx[j] = T(float64(p) * (float64(dy[j]) - s))
	}
}
