//go:build !purego && amd64

package optim

// The AdamW update loop in C that gcc vectorises (AVX-512, AVX2 and SSE2
// clones, picked at load). It needs -fno-math-errno to turn sqrt into the
// vector instruction, which cgo only accepts as part of -ffast-math; the
// pragma then switches every value-changing part of fast-math back off,
// so the arithmetic is IEEE in Go's order and the results are
// bit-identical to the Go loop (TestAdamWVecMatchesGo). The flags are
// this package's alone.

/*
#cgo CFLAGS: -O3 -ffast-math
#pragma GCC optimize ("no-unsafe-math-optimizations", "no-associative-math", "no-reciprocal-math", "no-finite-math-only", "signed-zeros", "no-trapping-math", "fp-contract=off")

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

CLONES void cs_adamw(float *val, const float *grad, float *m, float *v, long n,
                     double b1, double b2, double decay, double stepSize, double sqrtBC2, double eps) {
	for (long i = 0; i < n; i++) {
		double gi = grad[i];
		double mi = b1 * (double)m[i] + (1 - b1) * gi;
		double vi = b2 * (double)v[i] + (1 - b2) * gi * gi;
		m[i] = (float)mi;
		v[i] = (float)vi;
		double w = (double)val[i] * decay;
		w -= stepSize * mi / (__builtin_sqrt(vi) / sqrtBC2 + eps);
		val[i] = (float)w;
	}
}
*/
import "C"

import "unsafe"

// adamwUpdate is one AdamW update of val (see adamwUpdateGo).
func adamwUpdate(val, grad, m, v []float32, b1, b2, decay, stepSize, sqrtBC2, eps float64) {
	if len(val) == 0 {
		return
	}
	_, _, _ = grad[len(val)-1], m[len(val)-1], v[len(val)-1]
	f := func(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }
	C.cs_adamw(f(val), f(grad), f(m), f(v), C.long(len(val)),
		C.double(b1), C.double(b2), C.double(decay), C.double(stepSize), C.double(sqrtBC2), C.double(eps))
}
