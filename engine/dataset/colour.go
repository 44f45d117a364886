package dataset

import (
	"image/color"
	"math"
)

// Colours are the named background colours, in caption order. The sRGB
// values are chosen to be far apart in CIELAB: every pair is more than 38
// ΔE (CIE76) apart (the closest are brown/gray and blue/purple), so a
// background colour read back from border pixels is unambiguous
// (TestColoursDistinct).
var Colours = []NamedColour{
	{"red", color.NRGBA{R: 215, G: 40, B: 40, A: 255}},
	{"orange", color.NRGBA{R: 245, G: 140, B: 30, A: 255}},
	{"yellow", color.NRGBA{R: 245, G: 215, B: 50, A: 255}},
	{"green", color.NRGBA{R: 55, G: 160, B: 65, A: 255}},
	{"blue", color.NRGBA{R: 30, G: 90, B: 220, A: 255}},
	{"purple", color.NRGBA{R: 140, G: 40, B: 150, A: 255}},
	{"pink", color.NRGBA{R: 245, G: 150, B: 200, A: 255}},
	{"brown", color.NRGBA{R: 125, G: 80, B: 40, A: 255}},
	{"black", color.NRGBA{R: 25, G: 25, B: 25, A: 255}},
	{"white", color.NRGBA{R: 245, G: 245, B: 245, A: 255}},
	{"gray", color.NRGBA{R: 135, G: 135, B: 135, A: 255}},
	{"teal", color.NRGBA{R: 20, G: 160, B: 140, A: 255}},
}

// NamedColour is a background colour and its caption word.
type NamedColour struct {
	Name string
	RGB  color.NRGBA
}

// Patterns are the background patterns; "" (plain) is not in the list.
// Each is drawn in the named colour and its Tone.
var Patterns = []string{"striped", "dotted", "checkered", "gradient"}

// ColourByName returns the colour with that caption word.
func ColourByName(name string) (color.NRGBA, bool) {
	for _, c := range Colours {
		if c.Name == name {
			return c.RGB, true
		}
	}
	return color.NRGBA{}, false
}

// Tone is the second colour of a patterned background: the named colour
// mixed 40% towards white, or, for light colours (L* > 70: yellow, pink,
// white), 30% towards black.
func Tone(c color.NRGBA) color.NRGBA {
	l, _, _ := Lab(c)
	mix := func(v uint8, to float64, t float64) uint8 {
		return uint8(math.Round(float64(v)*(1-t) + to*t))
	}
	if l > 70 {
		return color.NRGBA{R: mix(c.R, 0, 0.3), G: mix(c.G, 0, 0.3), B: mix(c.B, 0, 0.3), A: 255}
	}
	return color.NRGBA{R: mix(c.R, 255, 0.4), G: mix(c.G, 255, 0.4), B: mix(c.B, 255, 0.4), A: 255}
}

// Lab converts an sRGB colour (alpha ignored) to CIELAB (D65 white).
func Lab(c color.NRGBA) (l, a, b float64) {
	return labFromRGB(float64(c.R)/255, float64(c.G)/255, float64(c.B)/255)
}

func srgbToLinear(v float64) float64 {
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

// labFromRGB converts sRGB components in [0,1] to CIELAB.
func labFromRGB(r, g, bl float64) (l, a, b float64) {
	r, g, bl = srgbToLinear(r), srgbToLinear(g), srgbToLinear(bl)
	x := (0.4124564*r + 0.3575761*g + 0.1804375*bl) / 0.95047
	y := 0.2126729*r + 0.7151522*g + 0.0721750*bl
	z := (0.0193339*r + 0.1191920*g + 0.9503041*bl) / 1.08883
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return (24389.0/27*t + 16) / 116
	}
	fx, fy, fz := f(x), f(y), f(z)
	return 116*fy - 16, 500 * (fx - fy), 200 * (fy - fz)
}

// DeltaE is the CIE76 colour difference between two sRGB colours.
func DeltaE(c1, c2 color.NRGBA) float64 {
	l1, a1, b1 := Lab(c1)
	l2, a2, b2 := Lab(c2)
	return math.Sqrt((l1-l2)*(l1-l2) + (a1-a2)*(a1-a2) + (b1-b2)*(b1-b2))
}

// Background rejection thresholds: see Atlas.BackgroundAllowed.
const (
	// MinMeanDeltaE: the background must differ from the sprite's mean
	// visible colour by at least this (CIE76 ΔE).
	MinMeanDeltaE = 30
	// NearDeltaE and MaxNearShare: at most MaxNearShare of the sprite's
	// visible area (alpha-weighted) may lie within NearDeltaE of the
	// background colour.
	NearDeltaE   = 22
	MaxNearShare = 0.30
)
