package kernels

import "math"

// SiLU overwrites y with x·σ(x), σ(x) = 1/(1+e^−x), elementwise over
// len(x) values (y may alias x). Arithmetic is in float64; large |x| gives
// x (or −0) without overflow trouble.
func SiLU[T Float](x, y []T) {
	needLen("SiLU", "y", len(y), len(x))
	if runsInline(len(x), elemMinPerWorker) {
		siluRange(x, y)
		return
	}
	Parallel(len(x), elemMinPerWorker, func(lo, hi int) { siluRange(x[lo:hi], y[lo:hi]) })
}

func siluRange[T Float](x, y []T) {
	y = y[:len(x)]
	if vecActs && elemIs32[T]() {
		siluVec(as32(x), as32(y))
		return
	}
	if elemIs32[T]() { // separate loops keep expFast inlined
		for i, xv := range x {
			v := float64(xv)
			y[i] = T(v / (1 + expFast(-v)))
		}
		return
	}
	for i, xv := range x {
		v := float64(xv)
		y[i] = T(v / (1 + math.Exp(-v)))
	}
}

// SiLUBackward overwrites dx with dy·σ(x)·(1 + x·(1−σ(x))), the gradient of
// SiLU at x (dx may alias dy or x).
func SiLUBackward[T Float](x, dy, dx []T) {
	needLen("SiLUBackward", "dy", len(dy), len(x))
	needLen("SiLUBackward", "dx", len(dx), len(x))
	if runsInline(len(x), elemMinPerWorker) {
		siluBackwardRange(x, dy, dx)
		return
	}
	Parallel(len(x), elemMinPerWorker, func(lo, hi int) { siluBackwardRange(x[lo:hi], dy[lo:hi], dx[lo:hi]) })
}

func siluBackwardRange[T Float](x, dy, dx []T) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	if vecActs && elemIs32[T]() {
		siluBackwardVec(as32(x), as32(dy), as32(dx))
		return
	}
	if elemIs32[T]() {
		for i, xv := range x {
			v := float64(xv)
			s := 1 / (1 + expFast(-v))
			dx[i] = T(float64(dy[i]) * s * (1 + v*(1-s)))
		}
		return
	}
	for i, xv := range x {
		v := float64(xv)
		s := 1 / (1 + math.Exp(-v))
		dx[i] = T(float64(dy[i]) * s * (1 + v*(1-s)))
	}
}

const (
	invSqrt2   = 0.70710678118654752440 // 1/√2
	invSqrt2Pi = 0.39894228040143267794 // 1/√(2π)
)

// GELU overwrites y with the exact GELU x·Φ(x), Φ the standard normal CDF
// (PyTorch's default nn.GELU, approximate='none'), elementwise (y may alias
// x). Φ is computed from erfc, which keeps full relative precision in the
// negative tail where 1+erf would cancel: math.Erfc for float64, erfcFast
// (relative error < 2e-9) for float32. Infinite inputs give NaN for
// float32.
func GELU[T Float](x, y []T) {
	needLen("GELU", "y", len(y), len(x))
	if runsInline(len(x), elemMinPerWorker) {
		geluRange(x, y)
		return
	}
	Parallel(len(x), elemMinPerWorker, func(lo, hi int) { geluRange(x[lo:hi], y[lo:hi]) })
}

func geluRange[T Float](x, y []T) {
	y = y[:len(x)]
	if vecActs && elemIs32[T]() {
		geluVec(as32(x), as32(y))
		return
	}
	if elemIs32[T]() {
		// x·Φ(x) = relu(x) − |x|·Φ(−|x|): no branch, no cancellation.
		for i, xv := range x {
			v := float64(xv)
			a := math.Abs(v)
			y[i] = T(0.5*(v+a) - a*normTail(a))
		}
		return
	}
	for i, xv := range x {
		v := float64(xv)
		y[i] = T(0.5 * v * math.Erfc(-v*invSqrt2))
	}
}

// GELUBackward overwrites dx with dy·(Φ(x) + x·φ(x)), φ the standard normal
// density: the gradient of the exact GELU (dx may alias dy or x).
func GELUBackward[T Float](x, dy, dx []T) {
	needLen("GELUBackward", "dy", len(dy), len(x))
	needLen("GELUBackward", "dx", len(dx), len(x))
	if runsInline(len(x), elemMinPerWorker) {
		geluBackwardRange(x, dy, dx)
		return
	}
	Parallel(len(x), elemMinPerWorker, func(lo, hi int) { geluBackwardRange(x[lo:hi], dy[lo:hi], dx[lo:hi]) })
}

func geluBackwardRange[T Float](x, dy, dx []T) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	if vecActs && elemIs32[T]() {
		geluBackwardVec(as32(x), as32(dy), as32(dx))
		return
	}
	if elemIs32[T]() {
		for i, xv := range x {
			v := float64(xv)
			// GELU'(x) = Φ(x) + x·φ(x) is D(|x|) for x < 0 and 1 − D(|x|)
			// otherwise, D(a) = Φ(−a) − a·φ(a); select with the sign bit,
			// as random signs defeat branch prediction.
			d := geluSlopeTail(math.Abs(v))
			neg := uint64(int64(math.Float64bits(v)) >> 63)
			g := math.Float64frombits(math.Float64bits(d)&neg | math.Float64bits(1-d)&^neg)
			dx[i] = T(float64(dy[i]) * g)
		}
		return
	}
	for i, xv := range x {
		v := float64(xv)
		cdf := 0.5 * math.Erfc(-v*invSqrt2)
		pdf := invSqrt2Pi * math.Exp(-0.5*v*v)
		dx[i] = T(float64(dy[i]) * (cdf + v*pdf))
	}
}

// The float32 GELU reads the normal tail Φ(−a) (forward) and the slope
// tail D(a) = Φ(−a) − a·φ(a) (backward), a ≥ 0, from tables at a = i/128
// on [0, 8], by cubic Hermite interpolation with the exact derivatives
// (Φ(−a))' = −φ(a) and D'(a) = (a² − 2)·φ(a). Its error,
// about h⁴·a⁴/384 relative with h = 1/128, stays below 5e-8 on [0, 8],
// under float32 rounding; beyond 8 the functions are computed directly.
// BenchmarkGELU: 35.8 ms → 17.6 ms against erfcFast per element (same
// loaded machine, same run).
const (
	normTabScale = 128
	normTabMax   = 8
)

// normTab holds, at a = i/128: Φ(−a), φ(a), D(a) = Φ(−a) − a·φ(a) and
// D'(a) = (a² − 2)·φ(a).
var normTab = func() (t [normTabMax*normTabScale + 1][4]float64) {
	for i := range t {
		a := float64(i) / normTabScale
		tail, pdf := 0.5*math.Erfc(a*invSqrt2), invSqrt2Pi*math.Exp(-0.5*a*a)
		t[i] = [4]float64{tail, pdf, tail - a*pdf, (a*a - 2) * pdf}
	}
	return t
}()

// hermite returns the cubic through (0, f0) and (1, f1) with slopes d0, d1
// (already scaled by the step) at t ∈ [0, 1].
func hermite(f0, d0, f1, d1, t float64) float64 {
	u := 1 - t
	return u*u*((1+2*t)*f0+t*d0) + t*t*((3-2*t)*f1-u*d1)
}

// normTail returns Φ(−a) for a ≥ 0.
func normTail(a float64) float64 {
	if !(a < normTabMax) {
		return 0.5 * erfcFast(a*invSqrt2)
	}
	f := a * normTabScale
	i := int(f)
	t := f - float64(i)
	p, q := &normTab[i], &normTab[i+1]
	const h = 1.0 / normTabScale
	return hermite(p[0], -h*p[1], q[0], -h*q[1], t)
}

// geluSlopeTail returns D(a) = Φ(−a) − a·φ(a) for a ≥ 0: GELU'(−a).
func geluSlopeTail(a float64) float64 {
	if !(a < normTabMax) {
		return 0.5*erfcFast(a*invSqrt2) - a*invSqrt2Pi*expFast(-0.5*a*a)
	}
	f := a * normTabScale
	i := int(f)
	t := f - float64(i)
	p, q := &normTab[i], &normTab[i+1]
	const h = 1.0 / normTabScale
	return hermite(p[2], h*p[3], q[2], h*q[3], t)
}

// erfcFast returns erfc(z) for z ≥ 0 with relative error below 2e-9 for
// any z (far below float32 rounding), about twice as fast as math.Erfc on
// random inputs. It evaluates erfc(z) = t·exp(P(t) − z²), t = 1/(1 + z/2)
// (the form of Numerical Recipes' erfcc), with P the degree-13 Chebyshev
// interpolant of log(erfc(z)/t) + z² over t ∈ [0, 1], i.e. z ∈ [0, ∞),
// evaluated by Estrin's scheme to shorten the dependency chain.
func erfcFast(z float64) float64 {
	const (
		c0  = -1.2655121231214337
		c1  = 0.9999998595221493
		c2  = 0.3750085101997892
		c3  = 0.08314453933467879
		c4  = -0.08399182610184519
		c5  = -0.15307626229058977
		c6  = -0.08486187167321384
		c7  = 0.18269988797733067
		c8  = -0.7401263155258028
		c9  = 2.503709879764144
		c10 = -3.7077934361193274
		c11 = 2.8124974890009815
		c12 = -1.0990908345282022
		c13 = 0.17739250482128235
	)
	t := 1 / (1 + 0.5*z)
	t2 := t * t
	t4 := t2 * t2
	t8 := t4 * t4
	q0 := (c0 + c1*t) + (c2+c3*t)*t2
	q1 := (c4 + c5*t) + (c6+c7*t)*t2
	q2 := (c8 + c9*t) + (c10+c11*t)*t2
	q3 := c12 + c13*t
	p := (q0 + q1*t4) + (q2+q3*t4)*t8
	return t * expFast(p-z*z)
}
