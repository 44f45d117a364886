package safetensors

import "math"

// Float32ToFloat16 converts f to IEEE 754 binary16 bits, rounding to nearest
// with ties to even. Values too large for float16 become ±Inf, values too
// small become ±0 (or a subnormal), and NaN stays NaN (quiet, keeping the
// sign and the top mantissa bits).
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff

	if exp == 0xff { // Inf or NaN
		if man == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(man>>13)
	}
	e := exp - 127 + 15 // rebias
	if e >= 0x1f {
		return sign | 0x7c00 // overflow
	}
	if e <= 0 {
		// Result is subnormal (or zero): mantissa in units of 2^-24.
		// The value is m24 * 2^(exp-150) = m24 * 2^(e-14) * 2^-24 units,
		// so the half mantissa is m24 >> (14-e), rounded.
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m24 := man | 0x800000
		shift := uint(14 - e) // 14..24
		h := m24 >> shift
		rem := m24 & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the exponent: 0x400 is the smallest normal
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry out of the mantissa bumps the exponent, up to Inf
	}
	return sign | uint16(h)
}

// Float16ToFloat32 converts IEEE 754 binary16 bits to float32 (exactly:
// every float16 value, subnormals included, is representable).
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal: man * 2^-24; normalise the mantissa.
	e := uint32(127 - 15 + 1)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// BFloat16ToFloat32 converts bfloat16 bits (the top half of a float32) to
// float32, exactly.
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
