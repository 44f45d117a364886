package eval

import (
	_ "embed"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// InputShape is OracleConfig.Input for the colour-blind shape judge: the
// network sees shapeInput's channels, which keep an image's lightness
// structure and edges and drop its hues.
const InputShape = "shape"

// The shipped shape judge: the oracle's network trained on colour-blind
// input (TrainJudge; go generate runs gen_oracle.go -judge), F16.
//
//go:embed judge.safetensors
var judgeFile []byte

// ErrNotAJudge: an oracle file that is not a colour-blind judge was given
// where one is needed.
var ErrNotAJudge = errors.New("not a colour-blind shape judge")

// LoadJudge reads the shape judge shipped with the package: a classifier
// of the sprite world's classes that cannot see hue (OracleConfig.Input
// InputShape), so that a blob of an object's colours does not pass for the
// object. Its Classify, Features and Identity are the oracle's, on shape.
func LoadJudge() (*Oracle, error) {
	j, err := DecodeOracle(judgeFile)
	if err != nil {
		return nil, err
	}
	if j.Record.Config.Input != InputShape {
		j.Close()
		return nil, ErrNotAJudge
	}
	return j, nil
}

// Luma weights (Rec. 601) of the judge's grey channel.
const lumaR, lumaG, lumaB = 0.299, 0.587, 0.114

// shapeInput turns one NHWC image (size×size×3 in [-1, 1]) in place into
// the judge's three colour-blind channels:
//
//  0. grey: the image's luma, in [-1, 1];
//  1. contrast: the luma minus the median luma of the border (the
//     background's), so an object reads the same on any background of
//     its lightness;
//  2. edges: the Sobel gradient magnitude of the luma (divided by 4, the
//     largest step's), clipped to [0, 2] and moved to [-1, 1].
//
// Hue and saturation are gone; lightness stays, and training with random
// hue rotations (colourJitter) teaches the judge not to lean on it.
func shapeInput(x []float32, size int) {
	n := size * size
	g := make([]float64, n)
	for i := range n {
		g[i] = lumaR*float64(x[3*i]) + lumaG*float64(x[3*i+1]) + lumaB*float64(x[3*i+2])
	}
	var border []float64
	for y := 0; y < size; y++ {
		for xx := 0; xx < size; xx++ {
			if y == 0 || xx == 0 || y == size-1 || xx == size-1 {
				border = append(border, g[y*size+xx])
			}
		}
	}
	slices.Sort(border)
	bg := border[len(border)/2]
	at := func(xx, y int) float64 {
		return g[max(0, min(size-1, y))*size+max(0, min(size-1, xx))]
	}
	for y := 0; y < size; y++ {
		for xx := 0; xx < size; xx++ {
			gx := at(xx+1, y-1) + 2*at(xx+1, y) + at(xx+1, y+1) - at(xx-1, y-1) - 2*at(xx-1, y) - at(xx-1, y+1)
			gy := at(xx-1, y+1) + 2*at(xx, y+1) + at(xx+1, y+1) - at(xx-1, y-1) - 2*at(xx, y-1) - at(xx+1, y-1)
			e := math.Min(2, math.Hypot(gx, gy)/4)
			i := y*size + xx
			x[3*i] = float32(g[i])
			x[3*i+1] = float32(math.Max(-1, math.Min(1, g[i]-bg)))
			x[3*i+2] = float32(e - 1)
		}
	}
}

// hueRotation is the 3×3 matrix that turns colours by angle (radians)
// about the grey axis of RGB: greys stay, hues rotate, lightness mostly
// stays.
func hueRotation(angle float64) [9]float64 {
	c, s := math.Cos(angle), math.Sin(angle)
	const k = 1.0 / 3
	r := math.Sqrt(k)
	return [9]float64{
		c + (1-c)*k, k*(1-c) - r*s, k*(1-c) + r*s,
		k*(1-c) + r*s, c + k*(1-c), k*(1-c) - r*s,
		k*(1-c) - r*s, k*(1-c) + r*s, c + k*(1-c),
	}
}

// RotateHue turns the hues of an NHWC image (size×size×3 in [-1, 1]) in
// place by angle radians, clipping to the range.
func RotateHue(x []float32, size int, angle float64) {
	m := hueRotation(angle)
	for i := 0; i < size*size; i++ {
		p := x[3*i : 3*i+3]
		r, g, b := (float64(p[0])+1)/2, (float64(p[1])+1)/2, (float64(p[2])+1)/2
		for c := 0; c < 3; c++ {
			v := m[3*c]*r + m[3*c+1]*g + m[3*c+2]*b
			p[c] = float32(2*math.Max(0, math.Min(1, v)) - 1)
		}
	}
}

// colourJitter changes an NHWC view's colours at random, as the judge's
// training does before shapeInput: a hue rotation by any angle, a channel
// permutation half the time, saturation scaled by 0-1.5, then contrast
// (×0.6-1.4 about mid-grey) and brightness (±0.2).
func colourJitter(rng *rand.Rand, x []float32, size int) {
	RotateHue(x, size, 2*math.Pi*rng.Float64())
	perm := [3]int{0, 1, 2}
	if rng.Float64() < 0.5 {
		p := rng.Perm(3)
		perm = [3]int{p[0], p[1], p[2]}
	}
	sat := 1.5 * rng.Float64()
	con := 0.6 + 0.8*rng.Float64()
	bri := 0.4*rng.Float64() - 0.2
	for i := 0; i < size*size; i++ {
		p := x[3*i : 3*i+3]
		v := [3]float64{float64(p[perm[0]]), float64(p[perm[1]]), float64(p[perm[2]])}
		l := lumaR*v[0] + lumaG*v[1] + lumaB*v[2]
		for c := range v {
			w := l + sat*(v[c]-l)
			w = w*con + bri
			p[c] = float32(math.Max(-1, math.Min(1, w)))
		}
	}
}
