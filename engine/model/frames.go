package model

import "math"

// Frame is where one object goes: the centre of its square frame and the
// frame's side, as fractions of the picture's side (a placed sprite's
// centre and extent, its longest side). The zero Frame is no object.
//
// Tokens marks the prompt's tokens that name the thing (bit j: token
// position j, position 0 being <start>), which a FrameParts network pools
// into the frame's template; 0: none.
type Frame struct {
	CX, CY, Extent float64
	Tokens         uint32
}

// FrameSlots is how many objects a picture's frames can place (the
// caption grammar's one or two, in caption order).
const FrameSlots = 2

// frameFreqs are the sinusoids' frequencies, in cycles per frame side.
var frameFreqs = []float64{1, 2, 4, 8}

// FramePixelFeatures is the frame input's values per pixel and slot:
// inside, u, v, and a sine and cosine of u and of v per frequency.
var FramePixelFeatures = 3 + 4*len(frameFreqs)

// FrameChannels is the UNet's frame input's channels (per place of its
// grid: the unshuffled pixels' features).
func (c Config) FrameChannels() int {
	n := FrameSlots * FramePixelFeatures
	if c.Unshuffle {
		n *= 4
	}
	return n
}

// FrameMaps draws frames (one set per picture) as the UNet's frame input
// [n, S, S, FrameChannels] (S its grid): per pixel of the picture and
// slot, whether the pixel's centre is inside the frame, u and v (the
// pixel's offset from the frame's centre in frame sides, so −0.5…0.5
// inside; clamped to ±1), and sin, cos(2π·f·u) and of v for each of
// frameFreqs inside the frame (zero outside). A slot without an object
// (Extent ≤ 0) is all zeros.
func (c Config) FrameMaps(frames [][FrameSlots]Frame) []float32 {
	P := c.ImageSize
	F := FramePixelFeatures
	per := FrameSlots * F
	pix := make([]float32, len(frames)*P*P*per)
	for i, set := range frames {
		for s, f := range set {
			if f.Extent <= 0 {
				continue
			}
			for y := 0; y < P; y++ {
				v := ((float64(y)+0.5)/float64(P) - f.CY) / f.Extent
				for x := 0; x < P; x++ {
					u := ((float64(x)+0.5)/float64(P) - f.CX) / f.Extent
					d := pix[((i*P+y)*P+x)*per+s*F:][:F]
					in := math.Abs(u) <= 0.5 && math.Abs(v) <= 0.5
					d[1], d[2] = float32(max(-1, min(1, u))), float32(max(-1, min(1, v)))
					if !in {
						continue
					}
					d[0] = 1
					for k, fr := range frameFreqs {
						su, cu := math.Sincos(2 * math.Pi * fr * u)
						sv, cv := math.Sincos(2 * math.Pi * fr * v)
						d[3+4*k], d[4+4*k], d[5+4*k], d[6+4*k] = float32(su), float32(cu), float32(sv), float32(cv)
					}
				}
			}
		}
	}
	if !c.Unshuffle {
		return pix
	}
	out := make([]float32, len(pix))
	SpaceToDepth(len(frames), P, per, pix, out)
	return out
}

// partsWordBias is the bias on a slot's pooling scores of a token that
// does not name its thing: far enough below zero that the softmax leaves
// it out.
const partsWordBias = -30

// FrameWordBias is a FrameParts network's pooling bias [n, FrameSlots,
// MaxLen]: 0 on each slot's tokens, partsWordBias elsewhere.
func (c Config) FrameWordBias(frames [][FrameSlots]Frame) []float32 {
	L := c.MaxLen
	out := make([]float32, len(frames)*FrameSlots*L)
	for i, set := range frames {
		for s, f := range set {
			row := out[(i*FrameSlots+s)*L:][:L]
			for j := range row {
				if j >= 32 || f.Tokens&(1<<j) == 0 {
					row[j] = partsWordBias
				}
			}
		}
	}
	return out
}
