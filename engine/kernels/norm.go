package kernels

import (
	"fmt"
	"math"
)

// Normalisation kernels. Statistics are always accumulated in float64 and
// the variance is the mean of squared deviations from an already computed
// mean (two passes), so a large common offset (values 1000 + tiny noise)
// costs no precision even when T is float32. Per-channel scratch lives in
// fixed-size arrays on the goroutine stack; nothing is allocated unless a
// single group is wider than normChanBlock channels.

// normChanBlock is the most channels a GroupNorm chunk (whole groups) or a
// LayerNorm column block keeps per-channel float64 scratch for.
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
	gPer := groupChunk(cpg, groups)
	Parallel(n*groups, max(1, normMinWork/(hw*cpg)), func(lo, hi int) {
		var stack [4 * normChanBlock]float64
		buf := stack[:]
		if cpg > normChanBlock {
			buf = make([]float64, 4*cpg)
		}
		for u := lo; u < hi; {
			ni, g0 := u/groups, u%groups
			g1 := min(groups, g0+hi-u)
			xs, ys := x[ni*hw*c:(ni+1)*hw*c], y[ni*hw*c:(ni+1)*hw*c]
			for ga := g0; ga < g1; ga += gPer {
				gb := min(g1, ga+gPer)
				s := ni*groups + ga
				groupNormChunk(hw, c, cpg, ga*cpg, (gb-ga)*cpg, float64(eps),
					xs, gamma, beta, ys, mean[s:s+gb-ga], rstd[s:s+gb-ga], buf)
			}
			u += g1 - g0
		}
	})
}

// groupNormChunk normalises channels [c0, c0+nc) (whole groups of cpg) of
// one sample x, y [hw, c], writing the groups' mean and rstd. buf holds at
// least 4·nc float64s.
func groupNormChunk[T Float](hw, c, cpg, c0, nc int, eps float64, x, gamma, beta, y, mean, rstd []T, buf []float64) {
	acc, mc, a, b := buf[:nc], buf[nc:2*nc], buf[2*nc:3*nc], buf[3*nc:4*nc]
	cnt := float64(hw * cpg)
	ng := nc / cpg

	// Pass 1: per-channel sums, then group means.
	clear(acc)
	for p := 0; p < hw; p++ {
		row := x[p*c+c0 : p*c+c0+nc]
		acc := acc[:len(row)]
		for j, v := range row {
			acc[j] += float64(v)
		}
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
	for p := 0; p < hw; p++ {
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
// over groups; each worker owns its channels' dgamma and dbeta, so the
// result does not depend on the number of workers.
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
	if cpg == 0 {
		return
	}
	gPer := groupChunk(cpg, groups)
	Parallel(groups, max(1, normMinWork/max(1, n*hw*cpg)), func(lo, hi int) {
		var stack [6 * normChanBlock]float64
		buf := stack[:]
		if cpg > normChanBlock {
			buf = make([]float64, 6*cpg)
		}
		for ga := lo; ga < hi; ga += gPer {
			gb := min(hi, ga+gPer)
			groupNormBackwardChunk(n, hw, c, groups, cpg, ga, gb-ga, x, gamma, mean, rstd, dy, dx, dgamma, dbeta, buf)
		}
	})
}

// groupNormBackwardChunk is GroupNormBackward for groups [g0, g0+ng) of all
// samples. buf holds at least 6·ng·cpg float64s.
func groupNormBackwardChunk[T Float](n, hw, c, groups, cpg, g0, ng int, x, gamma, mean, rstd, dy, dx, dgamma, dbeta []T, buf []float64) {
	c0, nc := g0*cpg, ng*cpg
	dg, db := buf[:nc], buf[nc:2*nc]
	sx, sdy, sdyx, mc := buf[2*nc:3*nc], buf[3*nc:4*nc], buf[4*nc:5*nc], buf[5*nc:6*nc]
	gam := gamma[c0 : c0+nc]
	cnt := float64(hw * cpg)
	clear(dg)
	clear(db)
	for ni := 0; ni < n; ni++ {
		off := ni * hw * c
		xs, dys, dxs := x[off:off+hw*c], dy[off:off+hw*c], dx[off:off+hw*c]
		ms, rs := mean[ni*groups+g0:ni*groups+g0+ng], rstd[ni*groups+g0:ni*groups+g0+ng]
		for g := range ng {
			m := float64(ms[g])
			for j := g * cpg; j < (g+1)*cpg; j++ {
				mc[j] = m
			}
		}

		// Per-channel Σ(x−m), Σdy, Σdy·(x−m) around the saved mean m.
		clear(sx)
		clear(sdy)
		clear(sdyx)
		for p := 0; p < hw; p++ {
			row, drow := xs[p*c+c0:p*c+c0+nc], dys[p*c+c0:p*c+c0+nc]
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
			r := float64(rs[g])
			var s1, s2 float64 // Σ gamma·dy, Σ gamma·dy·(x−μ)
			for j := lo; j < hi; j++ {
				centred := sdyx[j] - shift*sdy[j] // Σ dy·(x−μ)
				gm := float64(gam[j])
				s1 += gm * sdy[j]
				s2 += gm * centred
				dg[j] += r * centred
				db[j] += sdy[j]
			}
			k1 := r * s1 / cnt
			k2 := r * r * r * s2 / cnt
			mu := mc[lo] + shift
			for j := lo; j < hi; j++ {
				sx[j], sdy[j], sdyx[j], mc[j] = mu, r*float64(gam[j]), k2, k1
			}
		}

		for p := 0; p < hw; p++ {
			row, drow, out := xs[p*c+c0:p*c+c0+nc], dys[p*c+c0:p*c+c0+nc], dxs[p*c+c0:p*c+c0+nc]
			drow, out = drow[:len(row)], out[:len(row)]
			mu, a, k2, k1 := sx[:len(row)], sdy[:len(row)], sdyx[:len(row)], mc[:len(row)]
			for j, v := range row {
				out[j] = T(a[j]*float64(drow[j]) - k2[j]*(float64(v)-mu[j]) - k1[j])
			}
		}
	}
	for j := range nc {
		dgamma[c0+j], dbeta[c0+j] = T(dg[j]), T(db[j])
	}
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
	gamma, beta = gamma[:c], beta[:c]
	cnt, e := float64(c), float64(eps)
	Parallel(rows, max(1, normMinWork/max(c, 1)), func(lo, hi int) {
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
			rs := 1 / math.Sqrt(q/cnt+e)
			mean[r], rstd[r] = T(m), T(rs)
			yr, gamma, beta := yr[:len(xr)], gamma[:len(xr)], beta[:len(xr)]
			for j, v := range xr {
				yr[j] = T((float64(v)-m)*rs*float64(gamma[j]) + float64(beta[j]))
			}
		}
	})
}

// LayerNormBackward overwrites dx [rows, c], dgamma [c] and dbeta [c] with
// the gradients of LayerNorm given x, gamma, the saved mean and rstd, and
// dy:
//
//	dx = rstd·(gamma·dy − mean(gamma·dy) − x̂·mean(gamma·dy·x̂))   per row
//	dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy
//
// dx is computed row-parallel in float64 around the saved mean, corrected
// from the data; dgamma and dbeta are computed column-parallel in float64
// with x̂ = (x − mean)·rstd from the saved statistics (for float32 their
// rounding adds an error of order ulp(mean)·rstd·|Σ dy| to dgamma, which
// matters only for rows whose mean dwarfs their spread).
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
	gamma = gamma[:c]
	cnt := float64(c)
	Parallel(rows, max(1, normMinWork/max(c, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dr, out := x[r*c:(r+1)*c], dy[r*c:(r+1)*c], dx[r*c:(r+1)*c]
			dr, out, gamma := dr[:len(xr)], out[:len(xr)], gamma[:len(xr)]
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
			k1 := rs * s1 / cnt
			k2 := rs * rs * rs * s2 / cnt
			for j, v := range xr {
				out[j] = T(rs*float64(gamma[j])*float64(dr[j]) - (float64(v)-mu)*k2 - k1)
			}
		}
	})
	Parallel(c, max(1, normMinWork/max(rows, 1)), func(lo, hi int) {
		var stack [2 * normChanBlock]float64
		for j0 := lo; j0 < hi; j0 += normChanBlock {
			j1 := min(hi, j0+normChanBlock)
			dg, db := stack[:j1-j0], stack[normChanBlock:normChanBlock+j1-j0]
			clear(dg)
			clear(db)
			for r := 0; r < rows; r++ {
				ms, rs := float64(mean[r]), float64(rstd[r])
				xr, dr := x[r*c+j0:r*c+j1], dy[r*c+j0:r*c+j1]
				dr, dg, db := dr[:len(xr)], dg[:len(xr)], db[:len(xr)]
				for j, v := range xr {
					d := float64(dr[j])
					dg[j] += d * (float64(v) - ms) * rs
					db[j] += d
				}
			}
			for j := range dg {
				dgamma[j0+j], dbeta[j0+j] = T(dg[j]), T(db[j])
			}
		}
	})
}
