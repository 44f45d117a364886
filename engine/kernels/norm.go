package kernels

import (
	"fmt"
	"math"
	"sync"
)

// Normalisation kernels. Statistics are always accumulated in float64 and
// the variance is the mean of squared deviations from an already computed
// mean (two passes), so a large common offset (values 1000 + tiny noise)
// costs no precision even when T is float32. Per-channel scratch lives in
// fixed-size arrays on the goroutine stack (allocated only for a group
// wider than normChanBlock channels) and the backward passes' cross-row
// partial sums in pooled buffers, so steady-state calls do not allocate.

// normChanBlock is the most channels a GroupNorm chunk (whole groups)
// keeps per-channel float64 scratch for.
const normChanBlock = 256

// normMinWork is the least number of elements worth a goroutine.
const normMinWork = 16384

func checkGroupNorm(kernel string, n, hw, c, groups int) {
	if n < 0 || hw < 0 || c < 0 || groups <= 0 || c%groups != 0 {
		panic(fmt.Sprintf("kernels: %s: bad shape n=%d hw=%d c=%d groups=%d (want non-negative sizes and groups dividing c)", kernel, n, hw, c, groups))
	}
}

// groupChunk is how many whole groups of cpg channels one chunk holds.
func groupChunk(cpg, groups int) int { return max(1, min(normChanBlock/max(cpg, 1), groups)) }

// GroupNorm normalises x, viewed as [n, hw, c] (NHWC with H·W = hw), over
// groups of c/groups consecutive channels: for each sample and group the
// hw·c/groups values are shifted by their mean and scaled by
// rstd = 1/√(var + eps) (biased variance), then y = x̂·gamma[ch] + beta[ch].
// mean and rstd [n·groups] (index sample·groups + group) are overwritten
// with the statistics for GroupNormBackward.
//
// Statistics use two float64 passes (mean, then mean squared deviation) and
// the affine output is formed in float64, so the result is as accurate as
// the float64 computation rounded to T. Work is split over (sample, group)
// pairs.
func GroupNorm[T Float](n, hw, c, groups int, eps T, x, gamma, beta, y, mean, rstd []T) {
	checkGroupNorm("GroupNorm", n, hw, c, groups)
	size := n * hw * c
	needLen("GroupNorm", "x", len(x), size)
	needLen("GroupNorm", "y", len(y), size)
	needLen("GroupNorm", "gamma", len(gamma), c)
	needLen("GroupNorm", "beta", len(beta), c)
	needLen("GroupNorm", "mean", len(mean), n*groups)
	needLen("GroupNorm", "rstd", len(rstd), n*groups)
	cpg := c / groups
	if hw == 0 || cpg == 0 {
		for i := range mean[:n*groups] {
			mean[i], rstd[i] = 0, T(1/math.Sqrt(float64(eps)))
		}
		return
	}
	minUnits := max(1, normMinWork/(hw*cpg))
	if runsInline(n*groups, minUnits) {
		groupNormRange(0, n*groups, hw, c, groups, float64(eps), x, gamma, beta, y, mean, rstd)
		return
	}
	Parallel(n*groups, minUnits, func(lo, hi int) {
		groupNormRange(lo, hi, hw, c, groups, float64(eps), x, gamma, beta, y, mean, rstd)
	})
}

// groupNormRange is GroupNorm for the (sample, group) pairs [lo, hi),
// numbered sample·groups + group, taken in chunks of whole groups.
func groupNormRange[T Float](lo, hi, hw, c, groups int, eps float64, x, gamma, beta, y, mean, rstd []T) {
	cpg := c / groups
	gPer := groupChunk(cpg, groups)
	// Pooled scratch (a stack array would escape: the C passes take it).
	bp := getF64(4 * max(cpg, normChanBlock))
	defer f64Pool.Put(bp)
	buf := *bp
	for u := lo; u < hi; {
		ni, g0 := u/groups, u%groups
		g1 := min(groups, g0+hi-u)
		xs, ys := x[ni*hw*c:(ni+1)*hw*c], y[ni*hw*c:(ni+1)*hw*c]
		for ga := g0; ga < g1; ga += gPer {
			gb := min(g1, ga+gPer)
			s := ni*groups + ga
			groupNormChunk(hw, c, cpg, ga*cpg, (gb-ga)*cpg, eps,
				xs, gamma, beta, ys, mean[s:s+gb-ga], rstd[s:s+gb-ga], buf)
		}
		u += g1 - g0
	}
}

// groupNormChunk normalises channels [c0, c0+nc) (whole groups of cpg) of
// one sample x, y [hw, c], writing the groups' mean and rstd. buf holds at
// least 4·nc float64s.
func groupNormChunk[T Float](hw, c, cpg, c0, nc int, eps float64, x, gamma, beta, y, mean, rstd []T, buf []float64) {
	acc, mc, a, b := buf[:nc], buf[nc:2*nc], buf[2*nc:3*nc], buf[3*nc:4*nc]
	cnt := float64(hw * cpg)
	ng := nc / cpg

	vec := vecActs && elemIs32[T]() // the C passes (norm_vec.go), float32 only
	x32 := as32(x)

	// Pass 1: per-channel sums, then group means.
	clear(acc)
	for p := 0; p < hw && !vec; p++ {
		row := x[p*c+c0 : p*c+c0+nc]
		acc := acc[:len(row)]
		for j, v := range row {
			acc[j] += float64(v)
		}
	}
	if vec {
		gnSumVec(x32, hw, c, c0, nc, acc)
	}
	for g := 0; g < ng; g++ {
		var s float64
		for _, v := range acc[g*cpg : (g+1)*cpg] {
			s += v
		}
		m := s / cnt
		for j := g * cpg; j < (g+1)*cpg; j++ {
			mc[j] = m
		}
	}

	// Pass 2: squared deviations from the mean.
	clear(acc)
	if vec {
		gnSqDevVec(x32, hw, c, c0, nc, mc, acc)
	}
	for p := 0; p < hw && !vec; p++ {
		row := x[p*c+c0 : p*c+c0+nc]
		acc, mc := acc[:len(row)], mc[:len(row)]
		for j, v := range row {
			d := float64(v) - mc[j]
			acc[j] += d * d
		}
	}
	for g := 0; g < ng; g++ {
		var q float64
		for _, v := range acc[g*cpg : (g+1)*cpg] {
			q += v
		}
		r := 1 / math.Sqrt(q/cnt+eps)
		mean[g], rstd[g] = T(mc[g*cpg]), T(r)
		for j := g * cpg; j < (g+1)*cpg; j++ {
			a[j] = r * float64(gamma[c0+j])
			b[j] = float64(beta[c0+j])
		}
	}

	// Pass 3: y = (x − mean)·rstd·gamma + beta.
	if vec {
		gnApplyVec(x32, as32(y), hw, c, c0, nc, mc, a, b)
		return
	}
	for p := 0; p < hw; p++ {
		row, out := x[p*c+c0:p*c+c0+nc], y[p*c+c0:p*c+c0+nc]
		out, mc, a, b := out[:len(row)], mc[:len(row)], a[:len(row)], b[:len(row)]
		for j, v := range row {
			out[j] = T((float64(v)-mc[j])*a[j] + b[j])
		}
	}
}

// GroupNormBackward overwrites dx [n, hw, c], dgamma [c] and dbeta [c] with
// the gradients of GroupNorm given x, gamma, the saved mean and rstd, and
// dy:
//
//	dx = rstd·(gamma·dy − mean_g(gamma·dy) − x̂·mean_g(gamma·dy·x̂))
//	dgamma = Σ dy·x̂, dbeta = Σ dy (over samples and pixels)
//
// Sums are in float64 around the saved mean, whose float32 rounding is
// corrected from the data, so large offsets lose nothing. Work is split
// over (sample, group) pairs like GroupNorm; dgamma and dbeta are summed
// per sample into pooled float64 scratch and then over samples in order,
// so the result does not depend on the number of workers.
func GroupNormBackward[T Float](n, hw, c, groups int, x, gamma, mean, rstd, dy, dx, dgamma, dbeta []T) {
	checkGroupNorm("GroupNormBackward", n, hw, c, groups)
	size := n * hw * c
	needLen("GroupNormBackward", "x", len(x), size)
	needLen("GroupNormBackward", "dy", len(dy), size)
	needLen("GroupNormBackward", "dx", len(dx), size)
	needLen("GroupNormBackward", "gamma", len(gamma), c)
	needLen("GroupNormBackward", "dgamma", len(dgamma), c)
	needLen("GroupNormBackward", "dbeta", len(dbeta), c)
	needLen("GroupNormBackward", "mean", len(mean), n*groups)
	needLen("GroupNormBackward", "rstd", len(rstd), n*groups)
	cpg := c / groups
	if n == 0 || hw == 0 || cpg == 0 {
		clear(dgamma[:c])
		clear(dbeta[:c])
		return
	}
	scratch := getF64(2 * n * c)
	defer f64Pool.Put(scratch)
	part := *scratch // per sample: dgamma partials [c], then dbeta partials [c]
	minUnits := max(1, normMinWork/(hw*cpg))
	if runsInline(n*groups, minUnits) {
		groupNormBackwardRange(0, n*groups, hw, c, groups, x, gamma, mean, rstd, dy, dx, part)
	} else {
		Parallel(n*groups, minUnits, func(lo, hi int) {
			groupNormBackwardRange(lo, hi, hw, c, groups, x, gamma, mean, rstd, dy, dx, part)
		})
	}
	sumPartials(n, c, part, dgamma, dbeta)
}

// sumPartials adds the blocks of part (each dgamma [c] then dbeta [c]) in
// order, in place into the first, and writes the totals.
func sumPartials[T Float](blocks, c int, part []float64, dgamma, dbeta []T) {
	acc := part[:2*c]
	for b := 1; b < blocks; b++ {
		blk := part[b*2*c : (b+1)*2*c]
		blk = blk[:len(acc)]
		for j, v := range blk {
			acc[j] += v
		}
	}
	for j := range c {
		dgamma[j], dbeta[j] = T(acc[j]), T(acc[c+j])
	}
}

// groupNormBackwardRange is GroupNormBackward for the (sample, group)
// pairs [lo, hi), taken in chunks of whole groups; it writes each sample's
// dgamma and dbeta partials for those groups' channels into part.
func groupNormBackwardRange[T Float](lo, hi, hw, c, groups int, x, gamma, mean, rstd, dy, dx []T, part []float64) {
	cpg := c / groups
	gPer := groupChunk(cpg, groups)
	// Pooled scratch (a stack array would escape: the C passes take it).
	bp := getF64(4 * max(cpg, normChanBlock))
	defer f64Pool.Put(bp)
	buf := *bp
	for u := lo; u < hi; {
		ni, g0 := u/groups, u%groups
		g1 := min(groups, g0+hi-u)
		off := ni * hw * c
		xs, dys, dxs := x[off:off+hw*c], dy[off:off+hw*c], dx[off:off+hw*c]
		pg, pb := part[ni*2*c:ni*2*c+c], part[ni*2*c+c:(ni+1)*2*c]
		for ga := g0; ga < g1; ga += gPer {
			gb := min(g1, ga+gPer)
			s := ni*groups + ga
			c0, c1 := ga*cpg, gb*cpg
			groupNormBackwardChunk(hw, c, cpg, c0, c1-c0, xs, gamma, mean[s:s+gb-ga], rstd[s:s+gb-ga],
				dys, dxs, pg[c0:c1], pb[c0:c1], buf)
		}
		u += g1 - g0
	}
}

// groupNormBackwardChunk is GroupNormBackward for channels [c0, c0+nc)
// (whole groups of cpg) of one sample x, dy, dx [hw, c] whose groups have
// the saved statistics mean, rstd; it overwrites dx there and the
// sample's dgamma and dbeta partials pg, pb [nc]. buf holds at least 4·nc
// float64s.
func groupNormBackwardChunk[T Float](hw, c, cpg, c0, nc int, x, gamma, mean, rstd, dy, dx []T, pg, pb, buf []float64) {
	sx, sdy, sdyx, mc := buf[:nc], buf[nc:2*nc], buf[2*nc:3*nc], buf[3*nc:4*nc]
	gam := gamma[c0 : c0+nc]
	cnt := float64(hw * cpg)
	ng := nc / cpg
	for g := range ng {
		m := float64(mean[g])
		for j := g * cpg; j < (g+1)*cpg; j++ {
			mc[j] = m
		}
	}

	vec := vecActs && elemIs32[T]() // the C passes (norm_vec.go), float32 only
	x32 := as32(x)

	// Per-channel Σ(x−m), Σdy, Σdy·(x−m) around the saved mean m.
	clear(sx)
	clear(sdy)
	clear(sdyx)
	if vec {
		gnBwdSumsVec(x32, as32(dy), hw, c, c0, nc, mc, sx, sdy, sdyx)
	}
	for p := 0; p < hw && !vec; p++ {
		row, drow := x[p*c+c0:p*c+c0+nc], dy[p*c+c0:p*c+c0+nc]
		drow, sx, sdy, sdyx, mc := drow[:len(row)], sx[:len(row)], sdy[:len(row)], sdyx[:len(row)], mc[:len(row)]
		for j, v := range row {
			d := float64(drow[j])
			xv := float64(v) - mc[j]
			sx[j] += xv
			sdy[j] += d
			sdyx[j] += d * xv
		}
	}

	// Group statistics; the scratch is then reused for the per-channel
	// coefficients of dx = a·dy − k2·(x − μ) − k1:
	// sx ← μ (exact mean), sdy ← a, sdyx ← k2, mc ← k1.
	for g := range ng {
		lo, hi := g*cpg, (g+1)*cpg
		var shift float64
		for _, v := range sx[lo:hi] {
			shift += v
		}
		shift /= cnt // exact mean − saved mean
		r := float64(rstd[g])
		var s1, s2 float64 // Σ gamma·dy, Σ gamma·dy·(x−μ)
		for j := lo; j < hi; j++ {
			centred := sdyx[j] - shift*sdy[j] // Σ dy·(x−μ)
			gm := float64(gam[j])
			s1 += gm * sdy[j]
			s2 += gm * centred
			pg[j] = r * centred
			pb[j] = sdy[j]
		}
		k1 := r * s1 / cnt
		k2 := r * r * r * s2 / cnt
		mu := mc[lo] + shift
		for j := lo; j < hi; j++ {
			sx[j], sdy[j], sdyx[j], mc[j] = mu, r*float64(gam[j]), k2, k1
		}
	}

	if vec {
		gnBwdApplyVec(x32, as32(dy), as32(dx), hw, c, c0, nc, sx, sdy, sdyx, mc)
		return
	}
	for p := 0; p < hw; p++ {
		row, drow, out := x[p*c+c0:p*c+c0+nc], dy[p*c+c0:p*c+c0+nc], dx[p*c+c0:p*c+c0+nc]
		drow, out = drow[:len(row)], out[:len(row)]
		mu, a, k2, k1 := sx[:len(row)], sdy[:len(row)], sdyx[:len(row)], mc[:len(row)]
		for j, v := range row {
			out[j] = T(a[j]*float64(drow[j]) - k2[j]*(float64(v)-mu[j]) - k1[j])
		}
	}
}

// f64Pool recycles the float64 scratch of the backward passes' cross-row
// reductions (*[]float64), so steady-state calls do not allocate.
var f64Pool sync.Pool

// getF64 returns pooled scratch of n float64s (contents unspecified); put
// it back with f64Pool.Put.
func getF64(n int) *[]float64 {
	p, _ := f64Pool.Get().(*[]float64)
	if p == nil {
		p = new([]float64)
	}
	if cap(*p) < n {
		*p = make([]float64, n)
	}
	*p = (*p)[:n]
	return p
}

func checkLayerNorm(kernel string, rows, c int) {
	if rows < 0 || c < 0 {
		panic(fmt.Sprintf("kernels: %s: bad shape rows=%d c=%d", kernel, rows, c))
	}
}

// LayerNorm normalises each row of x [rows, c] over its c values:
// y = (x − mean)·rstd·gamma + beta with rstd = 1/√(var + eps) (biased
// variance), gamma and beta [c]. mean and rstd [rows] are overwritten for
// LayerNormBackward. Statistics are two float64 passes; rows are split
// over workers.
func LayerNorm[T Float](rows, c int, eps T, x, gamma, beta, y, mean, rstd []T) {
	checkLayerNorm("LayerNorm", rows, c)
	needLen("LayerNorm", "x", len(x), rows*c)
	needLen("LayerNorm", "y", len(y), rows*c)
	needLen("LayerNorm", "gamma", len(gamma), c)
	needLen("LayerNorm", "beta", len(beta), c)
	needLen("LayerNorm", "mean", len(mean), rows)
	needLen("LayerNorm", "rstd", len(rstd), rows)
	if c == 0 {
		for r := range rows {
			mean[r], rstd[r] = 0, T(1/math.Sqrt(float64(eps)))
		}
		return
	}
	minRows := max(1, normMinWork/c)
	if runsInline(rows, minRows) {
		layerNormRange(0, rows, c, float64(eps), x, gamma, beta, y, mean, rstd)
		return
	}
	Parallel(rows, minRows, func(lo, hi int) { layerNormRange(lo, hi, c, float64(eps), x, gamma, beta, y, mean, rstd) })
}

// layerNormRange is LayerNorm for rows [lo, hi).
func layerNormRange[T Float](lo, hi, c int, eps float64, x, gamma, beta, y, mean, rstd []T) {
	if vecActs && elemIs32[T]() {
		lnFwdVec(lo, hi, c, eps, as32(x), as32(gamma), as32(beta), as32(y), as32(mean), as32(rstd))
		return
	}
	gamma, beta = gamma[:c], beta[:c]
	cnt := float64(c)
	for r := lo; r < hi; r++ {
		xr, yr := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		m := s / cnt
		var q float64
		for _, v := range xr {
			d := float64(v) - m
			q += d * d
		}
		rs := 1 / math.Sqrt(q/cnt+eps)
		mean[r], rstd[r] = T(m), T(rs)
		yr, gamma, beta := yr[:len(xr)], gamma[:len(xr)], beta[:len(xr)]
		for j, v := range xr {
			yr[j] = T((float64(v)-m)*rs*float64(gamma[j]) + float64(beta[j]))
		}
	}
}

// lnMaxBlocks bounds the number of row blocks whose dgamma and dbeta
// partials LayerNormBackward keeps (and the scratch they need).
const lnMaxBlocks = 16

// LayerNormBackward overwrites dx [rows, c], dgamma [c] and dbeta [c] with
// the gradients of LayerNorm given x, gamma, the saved mean and rstd, and
// dy:
//
//	dx = rstd·(gamma·dy − mean(gamma·dy) − x̂·mean(gamma·dy·x̂))   per row
//	dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy
//
// Everything is one float64 pass per row around the saved mean, whose
// float32 rounding is corrected from the data. Rows are split over
// workers in at most lnMaxBlocks blocks fixed by the shape, whose dgamma
// and dbeta partials (pooled scratch) are then summed in order, so the
// result does not depend on the number of workers.
func LayerNormBackward[T Float](rows, c int, x, gamma, mean, rstd, dy, dx, dgamma, dbeta []T) {
	checkLayerNorm("LayerNormBackward", rows, c)
	needLen("LayerNormBackward", "x", len(x), rows*c)
	needLen("LayerNormBackward", "dy", len(dy), rows*c)
	needLen("LayerNormBackward", "dx", len(dx), rows*c)
	needLen("LayerNormBackward", "gamma", len(gamma), c)
	needLen("LayerNormBackward", "dgamma", len(dgamma), c)
	needLen("LayerNormBackward", "dbeta", len(dbeta), c)
	needLen("LayerNormBackward", "mean", len(mean), rows)
	needLen("LayerNormBackward", "rstd", len(rstd), rows)
	if rows == 0 || c == 0 {
		clear(dgamma[:c])
		clear(dbeta[:c])
		return
	}
	blockRows := (rows + lnMaxBlocks - 1) / lnMaxBlocks
	blocks := (rows + blockRows - 1) / blockRows
	scratch := getF64(2 * blocks * c)
	defer f64Pool.Put(scratch)
	part := *scratch
	minBlocks := max(1, normMinWork/(blockRows*c))
	if runsInline(blocks, minBlocks) {
		layerNormBackwardBlocks(0, blocks, blockRows, rows, c, x, gamma, mean, rstd, dy, dx, part)
	} else {
		Parallel(blocks, minBlocks, func(lo, hi int) {
			layerNormBackwardBlocks(lo, hi, blockRows, rows, c, x, gamma, mean, rstd, dy, dx, part)
		})
	}
	sumPartials(blocks, c, part, dgamma, dbeta)
}

// layerNormBackwardBlocks is LayerNormBackward for the blocks [lo, hi) of
// blockRows rows: dx, and each block's dgamma and dbeta partials in part.
func layerNormBackwardBlocks[T Float](lo, hi, blockRows, rows, c int, x, gamma, mean, rstd, dy, dx []T, part []float64) {
	gamma = gamma[:c]
	cnt := float64(c)
	for blk := lo; blk < hi; blk++ {
		pg, pb := part[blk*2*c:blk*2*c+c], part[blk*2*c+c:(blk+1)*2*c]
		clear(pg)
		clear(pb)
		if vecActs && elemIs32[T]() {
			lnBwdVec(blk*blockRows, min(rows, (blk+1)*blockRows), c, as32(x), as32(gamma), as32(mean), as32(rstd), as32(dy), as32(dx), pg, pb)
			continue
		}
		for r := blk * blockRows; r < min(rows, (blk+1)*blockRows); r++ {
			xr, dr, out := x[r*c:(r+1)*c], dy[r*c:(r+1)*c], dx[r*c:(r+1)*c]
			dr, out, gamma, pg, pb := dr[:len(xr)], out[:len(xr)], gamma[:len(xr)], pg[:len(xr)], pb[:len(xr)]
			ms, rs := float64(mean[r]), float64(rstd[r])
			var sx, s1, s2 float64 // Σ(x−m), Σ gamma·dy, Σ gamma·dy·(x−m)
			for j, v := range xr {
				xv := float64(v) - ms
				gd := float64(gamma[j]) * float64(dr[j])
				sx += xv
				s1 += gd
				s2 += gd * xv
			}
			shift := sx / cnt // exact mean − saved mean
			s2 -= shift * s1
			mu := ms + shift
			// dx = rstd·gamma·dy − x̂·k2 − k1
			k1 := rs * s1 / cnt
			k2 := rs * rs * s2 / cnt
			for j, v := range xr {
				d := float64(dr[j])
				xh := (float64(v) - mu) * rs
				out[j] = T(rs*float64(gamma[j])*d - xh*k2 - k1)
				pg[j] += d * xh
				pb[j] += d
			}
		}
	}
}
