//go:build !purego && amd64

package kernels

// GroupNorm's passes over pixels, for float32 data, in C that gcc
// vectorises across channels (see act_vec.go for the clones). Each is the
// loop of the Go kernel (norm.go) it replaces, with the same float64
// arithmetic in the same order per channel and no fused multiply-adds, so
// results are bit-identical to the Go loops on every CPU.

/*
#cgo CFLAGS: -O3
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
