package dataset

import (
	"image"
	"image/color"
	"math"
)

// span is the contribution of source pixels s0, s0+1, ... to one
// destination pixel: w[i] is the length (in destination pixels) of the
// overlap between source pixel s0+i and the destination pixel.
type span struct {
	s0 int
	w  []float32
}

// areaWeights maps srcN source pixels onto the destination interval
// [off, off+length) (in destination pixel units, any real numbers) and
// returns, for each destination pixel d0, d0+1, ... that the interval
// touches within [0, dstN), the exact overlap weights. This is an area
// (box) filter: each destination pixel gets the integral of the
// piecewise-constant source over its footprint, so downscaling averages,
// edges that cover part of a pixel get partial weight (antialiasing) and
// the total weight of a pixel is the fraction of it covered.
func areaWeights(srcN int, off, length float64, dstN int) (d0 int, spans []span) {
	if srcN <= 0 || length <= 0 {
		return 0, nil
	}
	scale := length / float64(srcN) // destination pixels per source pixel
	d0 = max(0, int(math.Floor(off)))
	d1 := min(dstN, int(math.Ceil(off+length)))
	for d := d0; d < d1; d++ {
		u0 := (float64(d) - off) / scale
		u1 := (float64(d+1) - off) / scale
		u0 = max(u0, 0)
		u1 = min(u1, float64(srcN))
		if u1 <= u0 {
			spans = append(spans, span{})
			continue
		}
		s0 := int(math.Floor(u0))
		s1 := min(srcN, int(math.Ceil(u1)))
		sp := span{s0: s0, w: make([]float32, s1-s0)}
		for s := s0; s < s1; s++ {
			lo := max(u0, float64(s))
			hi := min(u1, float64(s+1))
			if hi > lo {
				sp.w[s-s0] = float32((hi - lo) * scale)
			}
		}
		spans = append(spans, sp)
	}
	return d0, spans
}

// premult holds an image as premultiplied RGBA float32 in [0,1], row-major.
type premult struct {
	w, h int
	pix  []float32 // 4 per pixel
}

func toPremult(img image.Image, r image.Rectangle) premult {
	p := premult{w: r.Dx(), h: r.Dy(), pix: make([]float32, 4*r.Dx()*r.Dy())}
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			a := float32(c.A) / 255
			p.pix[i+0] = float32(c.R) / 255 * a
			p.pix[i+1] = float32(c.G) / 255 * a
			p.pix[i+2] = float32(c.B) / 255 * a
			p.pix[i+3] = a
			i += 4
		}
	}
	return p
}

// resampleInto draws src, optionally mirrored horizontally, into the
// destination rectangle [x0,x0+w)×[y0,y0+h) (real pixel coordinates) of a
// dw×dh premultiplied buffer with the area filter, compositing "over" what
// is there.
func (src premult) drawOver(dst []float32, dw, dh int, x0, y0, w, h float64, flip bool) {
	dx0, xs := areaWeights(src.w, x0, w, dw)
	dy0, ys := areaWeights(src.h, y0, h, dh)
	if len(xs) == 0 || len(ys) == 0 {
		return
	}
	// Rows first: tmp[sy][i] for the destination columns dx0+i.
	tmp := make([]float32, 4*src.h*len(xs))
	for sy := 0; sy < src.h; sy++ {
		row := src.pix[4*sy*src.w:]
		out := tmp[4*sy*len(xs):]
		for i, sp := range xs {
			var r, g, b, a float32
			for k, wt := range sp.w {
				sx := sp.s0 + k
				if flip {
					sx = src.w - 1 - sx
				}
				p := row[4*sx : 4*sx+4]
				r += wt * p[0]
				g += wt * p[1]
				b += wt * p[2]
				a += wt * p[3]
			}
			out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = r, g, b, a
		}
	}
	for j, sp := range ys {
		dy := dy0 + j
		for i := range xs {
			var r, g, b, a float32
			for k, wt := range sp.w {
				p := tmp[4*((sp.s0+k)*len(xs)+i):]
				r += wt * p[0]
				g += wt * p[1]
				b += wt * p[2]
				a += wt * p[3]
			}
			d := dst[4*(dy*dw+dx0+i):]
			inv := 1 - a
			d[0] = r + d[0]*inv
			d[1] = g + d[1]*inv
			d[2] = b + d[2]*inv
			d[3] = a + d[3]*inv
		}
	}
}

// resizeArea returns src resized to w×h with the area filter, as NRGBA.
func resizeArea(src image.Image, r image.Rectangle, w, h int) *image.NRGBA {
	p := toPremult(src, r)
	buf := make([]float32, 4*w*h)
	p.drawOver(buf, w, h, 0, 0, float64(w), float64(h), false)
	return premultToNRGBA(buf, w, h)
}

func premultToNRGBA(buf []float32, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		a := buf[4*i+3]
		if a <= 0 {
			continue
		}
		q := img.Pix[4*i : 4*i+4]
		q[0] = unit8(buf[4*i] / a)
		q[1] = unit8(buf[4*i+1] / a)
		q[2] = unit8(buf[4*i+2] / a)
		q[3] = unit8(a)
	}
	return img
}

// unit8 maps [0,1] to 0..255, rounding and clamping.
func unit8(v float32) uint8 {
	v = v*255 + 0.5
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// alphaBounds is the smallest rectangle holding every pixel whose alpha is
// above minAlpha (0..255).
func alphaBounds(img image.Image, minAlpha uint8) image.Rectangle {
	b := img.Bounds()
	out := image.Rectangle{}
	first := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			_, _, _, a := img.At(x, y).RGBA()
			if uint8(a>>8) > minAlpha {
				p := image.Rect(x, y, x+1, y+1)
				if first {
					out, first = p, false
				} else {
					out = out.Union(p)
				}
			}
		}
	}
	return out
}
