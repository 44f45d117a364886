package safetensors

import (
	"math"
	"math/rand"
	"testing"
)

func TestFloat32ToFloat16Table(t *testing.T) {
	tiny := float32(math.Ldexp(1, -24)) // smallest float16 subnormal
	tests := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3C00},
		{-1, 0xBC00},
		{-2, 0xC000},
		{0.5, 0x3800},
		{0.1, 0x2E66},
		{1.0 / 3, 0x3555},
		{65504, 0x7BFF},                       // largest finite
		{65519, 0x7BFF},                       // just below the halfway point to 65536
		{65520, 0x7C00},                       // halfway: ties to even rounds to Inf
		{65536, 0x7C00},                       // overflow
		{1e10, 0x7C00},                        // overflow
		{-1e10, 0xFC00},                       // negative overflow
		{1e-8, 0x0000},                        // underflow to zero
		{-1e-8, 0x8000},                       // underflow keeps the sign
		{tiny, 0x0001},                        // smallest subnormal
		{5.96e-8, 0x0001},                     // ≈ 2^-24
		{tiny / 2, 0x0000},                    // tie between 0 and 0x0001: even is 0
		{tiny / 2 * 1.0001, 0x0001},           // just above the tie
		{tiny * 1.5, 0x0002},                  // tie between 1 and 2: even is 2
		{tiny * 2.5, 0x0002},                  // tie between 2 and 3: even is 2
		{tiny * 1023, 0x03FF},                 // largest subnormal
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Ldexp(1023.5, -24)), 0x0400},   // subnormal rounding up into the normal range
		{float32(math.Ldexp(1, -149)), 0x0000},       // float32 subnormal
		{1 + float32(math.Ldexp(1, -11)), 0x3C00},    // tie: 1.0 is even
		{1 + float32(math.Ldexp(3, -11)), 0x3C02},    // tie: 0x3C02 is even
		{1 + float32(math.Ldexp(1.01, -11)), 0x3C01}, // above the tie
		{2049, 0x6800}, // tie between 2048 and 2050
		{2051, 0x6802}, // tie between 2050 and 2052
		{float32(math.Inf(1)), 0x7C00},
		{float32(math.Inf(-1)), 0xFC00},
	}
	for _, tc := range tests {
		if got := Float32ToFloat16(tc.in); got != tc.want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func TestFloat32ToFloat16NaN(t *testing.T) {
	for _, bits := range []uint32{0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7F802000} {
		h := Float32ToFloat16(math.Float32frombits(bits))
		if h&0x7C00 != 0x7C00 || h&0x03FF == 0 {
			t.Errorf("Float32ToFloat16(NaN %#08x) = %#04x, not a NaN", bits, h)
		}
		if (h&0x8000 != 0) != (bits&0x80000000 != 0) {
			t.Errorf("Float32ToFloat16(NaN %#08x) = %#04x lost the sign", bits, h)
		}
		if f := Float16ToFloat32(h); !math.IsNaN(float64(f)) {
			t.Errorf("Float16ToFloat32(%#04x) = %g, want NaN", h, f)
		}
	}
}

func TestFloat16ToFloat32Table(t *testing.T) {
	tests := []struct {
		in   uint16
		want float64
	}{
		{0x0000, 0},
		{0x3C00, 1},
		{0xC000, -2},
		{0x7BFF, 65504},
		{0x0001, math.Ldexp(1, -24)}, // 5.96e-8
		{0x03FF, math.Ldexp(1023, -24)},
		{0x0400, math.Ldexp(1, -14)},
		{0x3555, 0.333251953125},
		{0x7C00, math.Inf(1)},
		{0xFC00, math.Inf(-1)},
	}
	for _, tc := range tests {
		if got := Float16ToFloat32(tc.in); float64(got) != tc.want {
			t.Errorf("Float16ToFloat32(%#04x) = %g, want %g", tc.in, got, tc.want)
		}
	}
	if got := Float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("Float16ToFloat32(0x8000) = %g, want -0", got)
	}
	if got := Float16ToFloat32(0x0001); math.Abs(float64(got)-5.96e-8) > 1e-10 {
		t.Errorf("Float16ToFloat32(0x0001) = %g, want ≈5.96e-8", got)
	}
	for _, h := range []uint16{0x7E00, 0x7C01, 0xFE00, 0x7FFF} {
		if got := Float16ToFloat32(h); !math.IsNaN(float64(got)) {
			t.Errorf("Float16ToFloat32(%#04x) = %g, want NaN", h, got)
		}
	}
}

// Every float16 value converts to float32 and back unchanged.
func TestFloat16RoundTripAll(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := Float16ToFloat32(h)
		if math.IsNaN(float64(f)) {
			continue // covered by the NaN tests
		}
		if got := Float32ToFloat16(f); got != h {
			t.Fatalf("Float32ToFloat16(Float16ToFloat32(%#04x) = %g) = %#04x", h, f, got)
		}
	}
}

// For random float32 values, the result is the nearest float16, ties to even.
func TestFloat32ToFloat16Nearest(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		// Random sign, exponent spanning underflow to overflow, random mantissa.
		bits := uint32(rng.Intn(2))<<31 | uint32(127-27+rng.Intn(45))<<23 | uint32(rng.Intn(1<<23))
		f := math.Float32frombits(bits)
		h := Float32ToFloat16(f)
		if math.Abs(float64(f)) >= 65520 {
			if h&0x7FFF != 0x7C00 {
				t.Fatalf("Float32ToFloat16(%g) = %#04x, want Inf", f, h)
			}
			continue
		}
		got := float64(Float16ToFloat32(h))
		if h&0x7FFF >= 0x7C00 || math.Signbit(got) != math.Signbit(float64(f)) {
			t.Fatalf("Float32ToFloat16(%g) = %#04x (%g): wrong class or sign", f, h, got)
		}
		err := math.Abs(float64(f) - got) // exact in float64
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7FFF >= 0x7C00 || (nb^h)&0x8000 != 0 {
				continue
			}
			nerr := math.Abs(float64(f) - float64(Float16ToFloat32(nb)))
			if nerr < err || (nerr == err && h&1 == 1) {
				t.Fatalf("Float32ToFloat16(%g) = %#04x (%g), but %#04x (%g) is nearer or an even tie",
					f, h, got, nb, Float16ToFloat32(nb))
			}
		}
	}
}

func TestBFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		in   uint16
		want float64
	}{
		{0x0000, 0},
		{0x3F80, 1},
		{0xC000, -2},
		{0x4049, 3.140625},
		{0x3E80, 0.25},
		{0x7F7F, 3.3895313892515355e38}, // largest finite
		{0x0001, math.Ldexp(1, -133)},   // smallest subnormal
		{0x7F80, math.Inf(1)},
		{0xFF80, math.Inf(-1)},
	}
	for _, tc := range tests {
		if got := BFloat16ToFloat32(tc.in); float64(got) != tc.want {
			t.Errorf("BFloat16ToFloat32(%#04x) = %g, want %g", tc.in, got, tc.want)
		}
	}
	if got := BFloat16ToFloat32(0x7FC0); !math.IsNaN(float64(got)) {
		t.Errorf("BFloat16ToFloat32(0x7FC0) = %g, want NaN", got)
	}
}
