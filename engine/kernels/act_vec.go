//go:build !purego && amd64

package kernels

// Vectorised float32 activations in C, compiled by cgo with gcc's function
// multiversioning (target_clones): the loader picks the AVX-512, AVX2 or
// baseline SSE2 clone for the CPU it runs on. The Go loops (act.go) do the
// same arithmetic one element at a time; gcc turns these loops into SIMD
// because the exponential below has no table and no branches.
//
// Arithmetic is in double, as in the Go kernels, so results stay within
// float32 rounding of the exact values (TestActFloat32MatchesFloat64).
// exp: x = k·ln2 + r with |r| ≤ ln2/2, 2^k built in the exponent bits,
// e^r by its Taylor series to r⁸ (relative error < 3e-10).

/*
#cgo CFLAGS: -O3
// No trapping math (floating-point exceptions are never enabled in Go
// programs): it lets gcc turn the clamps into vector selects. cgo does not
// accept the flag on the command line, so it is a pragma.
#pragma GCC optimize ("no-trapping-math", "fp-contract=off")
#include <stdint.h>
#include <string.h>

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

static inline double cs_exp(double x) {
	const double shift = 0x1.8p52, log2e = 1.4426950408889634, ln2hi = 0x1.62e42fefa39efp-1, ln2lo = 0x1.abc9e3b39803fp-56;
	x = x < -700.0 ? -700.0 : x;
	x = x > 700.0 ? 700.0 : x;
	double t = x * log2e + shift;
	double k = t - shift;
	double r = (x - k * ln2hi) - k * ln2lo;
	double p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320))))))));
	uint64_t bits, sb;
	memcpy(&bits, &t, 8);
	sb = (bits - 0x4338000000000000ULL + 1023) << 52;
	double s;
	memcpy(&s, &sb, 8);
	return p * s;
}

CLONES void cs_silu(const float *x, float *y, long n) {
	for (long i = 0; i < n; i++) {
		double v = x[i];
		double s = 1.0 / (1.0 + cs_exp(-v));
		y[i] = (float)(v * s);
	}
}

CLONES void cs_silu_backward(const float *x, const float *dy, float *dx, long n) {
	for (long i = 0; i < n; i++) {
		double v = x[i];
		double s = 1.0 / (1.0 + cs_exp(-v));
		dx[i] = (float)((double)dy[i] * s * (1.0 + v * (1.0 - s)));
	}
}

// The normal tail Φ(−a), a ≥ 0, and the GELU slope tail D(a) = Φ(−a) −
// a·φ(a): by cubic Hermite interpolation in the Go side's table tab (rows
// of Φ(−a), φ(a), D(a), D'(a) at a = i/128, i ≤ 1024) below a = 8, and by
// the asymptotic series Φ(−a) = φ(a)/a·(1 − 1/a² + 3/a⁴ − …) (8 terms,
// relative error < 5e-8 from a = 8 − 1/128, less beyond) above; both are computed
// and blended with a 0/1 weight (exact), which gcc vectorises where a
// select compiled to a branch.
#define cut (8.0 - 1.0 / 128) // the last table interval goes to the series

static inline double cs_hermite(double f0, double d0, double f1, double d1, double t) {
	double u = 1.0 - t;
	return u * u * ((1.0 + 2.0 * t) * f0 + t * d0) + t * t * ((3.0 - 2.0 * t) * f1 - u * d1);
}

// cs_tab_pos places a in the table: row k, fraction t, and m = 1 below the
// cut, 0 from it on. f is 0 from the cut on (a select here stops gcc
// vectorising for AVX2/AVX-512); the mask keeps NaN and ∞ inside the
// table, and their NaN propagates through t.
static inline int cs_tab_pos(double a, double *m, double *t) {
	*m = a < cut; // 1 or 0: blending keeps the loops free of branches
	double f = a * 128.0 * *m;
	int k = (int)f & 1023;
	*t = f - k;
	return k;
}

static inline double cs_pdf(double a) { return 0.3989422804014327 * cs_exp(-0.5 * a * a); }

static inline double cs_tail_series(double a, double pdf) {
	double z = 1.0 / (a * a);
	double s = 1.0 - z * (1.0 - 3.0 * z * (1.0 - 5.0 * z * (1.0 - 7.0 * z * (1.0 - 9.0 * z * (1.0 - 11.0 * z * (1.0 - 13.0 * z))))));
	return pdf / a * s;
}

CLONES void cs_gelu(const float *x, float *y, long n, const double *tab) {
	for (long i = 0; i < n; i++) {
		double v = x[i], a = __builtin_fabs(v), m, t;
		int k = cs_tab_pos(a, &m, &t);
		// Indexed loads, not a pointer to the row: gcc makes gathers of
		// these and gives up on the pointer form.
		double near = cs_hermite(tab[4 * k], -tab[4 * k + 1] / 128.0, tab[4 * k + 4], -tab[4 * k + 5] / 128.0, t);
		double aa = a > cut ? a : cut;
		double far = cs_tail_series(aa, cs_pdf(aa));
		double tail = near * m + far * (1.0 - m);
		y[i] = (float)(0.5 * (v + a) - a * tail);
	}
}

CLONES void cs_gelu_backward(const float *x, const float *dy, float *dx, long n, const double *tab) {
	for (long i = 0; i < n; i++) {
		double v = x[i], a = __builtin_fabs(v), m, t;
		int k = cs_tab_pos(a, &m, &t);
		double near = cs_hermite(tab[4 * k + 2], tab[4 * k + 3] / 128.0, tab[4 * k + 6], tab[4 * k + 7] / 128.0, t);
		double aa = a > cut ? a : cut;
		double pdf = cs_pdf(aa);
		double far = cs_tail_series(aa, pdf) - aa * pdf;
		double neg = v < 0; // 1 or 0
		double d = near * m + far * (1.0 - m);
		double g = d * neg + (1.0 - d) * (1.0 - neg);
		dx[i] = (float)((double)dy[i] * g);
	}
}
*/
import "C"

import "unsafe"

// vecActs: the C kernels are in use (false in the purego build).
const vecActs = true

func siluVec(x, y []float32) {
	if len(x) == 0 {
		return
	}
	C.cs_silu((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&y[0])), C.long(len(x)))
}

func geluVec(x, y []float32) {
	if len(x) == 0 {
		return
	}
	C.cs_gelu((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&y[0])), C.long(len(x)), (*C.double)(unsafe.Pointer(&normTab[0][0])))
}

func geluBackwardVec(x, dy, dx []float32) {
	if len(x) == 0 {
		return
	}
	C.cs_gelu_backward((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&dy[0])), (*C.float)(unsafe.Pointer(&dx[0])), C.long(len(x)), (*C.double)(unsafe.Pointer(&normTab[0][0])))
}

func siluBackwardVec(x, dy, dx []float32) {
	if len(x) == 0 {
		return
	}
	C.cs_silu_backward((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&dy[0])), (*C.float)(unsafe.Pointer(&dx[0])), C.long(len(x)))
}
