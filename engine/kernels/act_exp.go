package kernels

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// elemIs32 reports whether T is a 4-byte float. It folds to a constant in
// each instantiation, so kernels branch on it once, outside their loops,
// and run expFast (inlined) for float32 and math.Exp for float64, whose
// full precision the gradient checks need.
func elemIs32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// as32 views a float32 kernel argument as []float32 without boxing it in
// an interface (any(s).([]float32) allocates in a generic function).
// Callers check elemIs32[T]() first.
func as32[T Float](s []T) []float32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&s[0])), len(s))
}

// exp2Frac holds the bits of 2^(i/64), i = 0..63.
var exp2Frac = func() (t [64]uint64) {
	for i := range t {
		t[i] = math.Float64bits(math.Exp2(float64(i) / 64))
	}
	return t
}()

// expFast returns e^x with a relative error below 4e-11, ample for a result
// rounded to float32 (within one float32 ulp of the correctly rounded
// value). x is clamped to ±700, so e^x never overflows float64 but
// does overflow (to +Inf) or underflow (to 0) float32 where e^x does; NaN
// propagates.
//
// Method: x = (64k + i)·ln2/64 + r with |r| ≤ ln2/128, so
// e^x = 2^k · 2^(i/64) · e^r, with 2^(i/64) from a table and e^r from a
// cubic. About twice as fast as math.Exp.
func expFast(x float64) float64 {
	const (
		shifter = 0x1.8p52 // adding it rounds to an integer kept in the low mantissa bits
		invStep = 64 * math.Log2E
		step    = math.Ln2 / 64
	)
	if x < -700 {
		x = -700
	}
	if x > 700 {
		x = 700
	}
	t := x*invStep + shifter
	bits := math.Float64bits(t)
	r := x - (t-shifter)*step
	p := 1 + r*(1+r*(0.5+r*(1.0/6)))
	// bits>>6 is k (in two's complement in the low bits); adding k<<52 to
	// the table entry's bits multiplies it by 2^k.
	return p * math.Float64frombits(exp2Frac[bits&63]+(bits>>6)<<52)
}

// needLen panics with a clear message when a buffer is shorter than its
// shape requires; kernels call it for every argument before touching data.
func needLen(kernel, name string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, want at least %d", kernel, name, got, want))
	}
}

// elemMinPerWorker is the smallest chunk of an elementwise kernel worth
// handing to a goroutine (a few tens of microseconds of work).
const elemMinPerWorker = 8192

// runsInline reports whether Parallel(n, minPerWorker, ·) would run on the
// calling goroutine. Kernels then call their range function directly
// rather than through a closure, so that small calls (and all calls under
// GOMAXPROCS=1) allocate nothing; with worker goroutines, Parallel itself
// allocates a few small objects.
func runsInline(n, minPerWorker int) bool {
	return runtime.GOMAXPROCS(0) <= 1 || n/max(minPerWorker, 1) <= 1
}
