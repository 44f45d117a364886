//go:build !purego && amd64

package kernels

// GroupNorm's passes over pixels, for float32 data, in C that gcc
// vectorises across channels (see act_vec.go for the clones). Each is the
// loop of the Go kernel (norm.go) it replaces, with the same float64
// arithmetic in the same order per channel and no fused multiply-adds, so
// results are bit-identical to the Go loops on every CPU.
//
// LayerNorm's rows likewise, except that a row's sums (across channels)
// are kept in 8 partial sums added in a fixed tree, so that they vectorise:
// the same on every CPU, within float64 rounding of the Go loops' order.

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#pragma GCC optimize ("no-trapping-math", "fp-contract=off")

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// acc[j] += x[p, c0+j] over pixels p.
CLONES void cs_gn_sum(const float *x, long hw, long c, long nc, double *acc) {
	for (long p = 0; p < hw; p++) {
		const float *row = x + p * c;
		for (long j = 0; j < nc; j++)
			acc[j] += (double)row[j];
	}
}

// acc[j] += (x[p, c0+j] − mc[j])² over pixels p.
CLONES void cs_gn_sqdev(const float *x, long hw, long c, long nc, const double *mc, double *acc) {
	for (long p = 0; p < hw; p++) {
		const float *row = x + p * c;
		for (long j = 0; j < nc; j++) {
			double d = (double)row[j] - mc[j];
			acc[j] += d * d;
		}
	}
}

// y = (x − mc)·a + b.
CLONES void cs_gn_apply(const float *x, float *y, long hw, long c, long nc, const double *mc, const double *a, const double *b) {
	for (long p = 0; p < hw; p++) {
		const float *row = x + p * c;
		float *out = y + p * c;
		for (long j = 0; j < nc; j++)
			out[j] = (float)(((double)row[j] - mc[j]) * a[j] + b[j]);
	}
}

// Σ(x−m), Σdy, Σdy·(x−m) per channel.
CLONES void cs_gn_bwd_sums(const float *x, const float *dy, long hw, long c, long nc, const double *mc, double *sx, double *sdy, double *sdyx) {
	for (long p = 0; p < hw; p++) {
		const float *row = x + p * c, *drow = dy + p * c;
		for (long j = 0; j < nc; j++) {
			double d = (double)drow[j];
			double xv = (double)row[j] - mc[j];
			sx[j] += xv;
			sdy[j] += d;
			sdyx[j] += d * xv;
		}
	}
}

// dx = a·dy − k2·(x − mu) − k1.
CLONES void cs_gn_bwd_apply(const float *x, const float *dy, float *dx, long hw, long c, long nc, const double *mu, const double *a, const double *k2, const double *k1) {
	for (long p = 0; p < hw; p++) {
		const float *row = x + p * c, *drow = dy + p * c;
		float *out = dx + p * c;
		for (long j = 0; j < nc; j++)
			out[j] = (float)(a[j] * (double)drow[j] - k2[j] * ((double)row[j] - mu[j]) - k1[j]);
	}
}

// Σ x[j] over a row of c values, in 8 lanes added in a fixed tree.
static inline double cs_sum8(const double *acc) {
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// LayerNorm of rows [0, rows) of x [rows, c].
CLONES void cs_ln_fwd(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, long rows, long c, double eps) {
	for (long r = 0; r < rows; r++) {
		const float *xr = x + r * c;
		float *yr = y + r * c;
		double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		long j = 0;
		for (; j + 8 <= c; j += 8)
			for (int l = 0; l < 8; l++)
				acc[l] += (double)xr[j + l];
		double s = cs_sum8(acc);
		for (; j < c; j++)
			s += (double)xr[j];
		double m = s / (double)c;
		double qa[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		for (j = 0; j + 8 <= c; j += 8)
			for (int l = 0; l < 8; l++) {
				double d = (double)xr[j + l] - m;
				qa[l] += d * d;
			}
		double q = cs_sum8(qa);
		for (; j < c; j++) {
			double d = (double)xr[j] - m;
			q += d * d;
		}
		double rs = 1.0 / __builtin_sqrt(q / (double)c + eps);
		mean[r] = (float)m;
		rstd[r] = (float)rs;
		for (j = 0; j < c; j++)
			yr[j] = (float)(((double)xr[j] - m) * rs * (double)gamma[j] + (double)beta[j]);
	}
}

// LayerNorm's backward for rows [0, rows): dx, and the rows' dgamma and
// dbeta added into pg, pb [c].
CLONES void cs_ln_bwd(const float *x, const float *gamma, const float *mean, const float *rstd, const float *dy, float *dx,
                      double *pg, double *pb, long rows, long c) {
	for (long r = 0; r < rows; r++) {
		const float *xr = x + r * c, *dr = dy + r * c;
		float *out = dx + r * c;
		double ms = mean[r], rs = rstd[r];
		double ax[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		long j = 0;
		for (; j + 8 <= c; j += 8)
			for (int l = 0; l < 8; l++) {
				double xv = (double)xr[j + l] - ms;
				double gd = (double)gamma[j + l] * (double)dr[j + l];
				ax[l] += xv;
				a1[l] += gd;
				a2[l] += gd * xv;
			}
		double sx = cs_sum8(ax), s1 = cs_sum8(a1), s2 = cs_sum8(a2);
		for (; j < c; j++) {
			double xv = (double)xr[j] - ms;
			double gd = (double)gamma[j] * (double)dr[j];
			sx += xv;
			s1 += gd;
			s2 += gd * xv;
		}
		double shift = sx / (double)c; // exact mean − saved mean
		s2 -= shift * s1;
		double mu = ms + shift;
		double k1 = rs * s1 / (double)c, k2 = rs * rs * s2 / (double)c;
		for (j = 0; j < c; j++) {
			double d = dr[j];
			double xh = ((double)xr[j] - mu) * rs;
			out[j] = (float)(rs * (double)gamma[j] * d - xh * k2 - k1);
			pg[j] += d * xh;
			pb[j] += d;
		}
	}
}
*/
import "C"

import "unsafe"

func f32p(s []float32) *C.float  { return (*C.float)(unsafe.Pointer(&s[0])) }
func f64p(s []float64) *C.double { return (*C.double)(unsafe.Pointer(&s[0])) }

// The pixel passes of groupNormChunk and groupNormBackwardChunk on
// channels [c0, c0+nc) of x [hw, c]; the float64 slices hold nc values.
func gnSumVec(x []float32, hw, c, c0, nc int, acc []float64) {
	C.cs_gn_sum(f32p(x[c0:]), C.long(hw), C.long(c), C.long(nc), f64p(acc))
}

func gnSqDevVec(x []float32, hw, c, c0, nc int, mc, acc []float64) {
	C.cs_gn_sqdev(f32p(x[c0:]), C.long(hw), C.long(c), C.long(nc), f64p(mc), f64p(acc))
}

func gnApplyVec(x, y []float32, hw, c, c0, nc int, mc, a, b []float64) {
	C.cs_gn_apply(f32p(x[c0:]), f32p(y[c0:]), C.long(hw), C.long(c), C.long(nc), f64p(mc), f64p(a), f64p(b))
}

func gnBwdSumsVec(x, dy []float32, hw, c, c0, nc int, mc, sx, sdy, sdyx []float64) {
	C.cs_gn_bwd_sums(f32p(x[c0:]), f32p(dy[c0:]), C.long(hw), C.long(c), C.long(nc), f64p(mc), f64p(sx), f64p(sdy), f64p(sdyx))
}

func gnBwdApplyVec(x, dy, dx []float32, hw, c, c0, nc int, mu, a, k2, k1 []float64) {
	C.cs_gn_bwd_apply(f32p(x[c0:]), f32p(dy[c0:]), f32p(dx[c0:]), C.long(hw), C.long(c), C.long(nc), f64p(mu), f64p(a), f64p(k2), f64p(k1))
}

// lnFwdVec is layerNormRange on float32 rows [lo, hi).
func lnFwdVec(lo, hi, c int, eps float64, x, gamma, beta, y, mean, rstd []float32) {
	if hi <= lo || c == 0 {
		return
	}
	C.cs_ln_fwd(f32p(x[lo*c:]), f32p(gamma), f32p(beta), f32p(y[lo*c:]), f32p(mean[lo:]), f32p(rstd[lo:]), C.long(hi-lo), C.long(c), C.double(eps))
}

// lnBwdVec is layerNormBackwardBlocks' work for float32 rows [lo, hi),
// adding into the block partials pg, pb [c].
func lnBwdVec(lo, hi, c int, x, gamma, mean, rstd, dy, dx []float32, pg, pb []float64) {
	if hi <= lo || c == 0 {
		return
	}
	C.cs_ln_bwd(f32p(x[lo*c:]), f32p(gamma), f32p(mean[lo:]), f32p(rstd[lo:]), f32p(dy[lo*c:]), f32p(dx[lo*c:]), f64p(pg), f64p(pb), C.long(hi-lo), C.long(c))
}
