package eval

import (
	"image"
	"image/color"
	"math"

	"conceptstudio/engine/dataset"
)

// Float32Image is an NHWC image (one image: rows of pixels, 3 channels R,
// G, B) in [-1, 1], the layout of dataset.Renderer.Render and of the
// model's samples, wrapped as an image.Image so that every check here takes
// either kind without rounding the values to 8 bits.
type Float32Image struct {
	Size int       // the side
	Pix  []float32 // Size*Size*3 values in [-1, 1]
}

// FromNHWC wraps one square NHWC image in [-1, 1] (not copied).
func FromNHWC(pix []float32, size int) *Float32Image {
	return &Float32Image{Size: size, Pix: pix[:size*size*3]}
}

// ColorModel is NRGBA.
func (f *Float32Image) ColorModel() color.Model { return color.NRGBAModel }

// Bounds is the square from (0, 0).
func (f *Float32Image) Bounds() image.Rectangle { return image.Rect(0, 0, f.Size, f.Size) }

// At is the pixel rounded to 8 bits.
func (f *Float32Image) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= f.Size || y >= f.Size {
		return color.NRGBA{}
	}
	p := f.Pix[(y*f.Size+x)*3:]
	return color.NRGBA{R: to8(unit(p[0])), G: to8(unit(p[1])), B: to8(unit(p[2])), A: 255}
}

// unit maps [-1, 1] to [0, 1], clamped.
func unit(v float32) float64 { return math.Max(0, math.Min(1, (float64(v)+1)/2)) }

func to8(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255)) }

// rgb is an image as sRGB in [0, 1], 3 values per pixel, row-major, with
// each pixel's CIELAB coordinates alongside (the distance the checks use).
type rgb struct {
	w, h int
	pix  []float64 // 3 per pixel
	lab  []float64 // 3 per pixel
}

// toRGB reads any image (alpha is composited over black, as opaque images
// ignore it).
func toRGB(img image.Image) *rgb {
	var r *rgb
	if f, ok := img.(*Float32Image); ok {
		r = &rgb{w: f.Size, h: f.Size, pix: make([]float64, len(f.Pix))}
		for i, v := range f.Pix {
			r.pix[i] = unit(v)
		}
	} else {
		b := img.Bounds()
		r = &rgb{w: b.Dx(), h: b.Dy(), pix: make([]float64, 3*b.Dx()*b.Dy())}
		for y := 0; y < r.h; y++ {
			for x := 0; x < r.w; x++ {
				cr, cg, cb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				p := r.pix[3*(y*r.w+x):]
				p[0], p[1], p[2] = float64(cr)/0xffff, float64(cg)/0xffff, float64(cb)/0xffff
			}
		}
	}
	r.lab = make([]float64, len(r.pix))
	for i := 0; i < len(r.pix); i += 3 {
		r.lab[i], r.lab[i+1], r.lab[i+2] = lab3(r.pix[i], r.pix[i+1], r.pix[i+2])
	}
	return r
}

// lab3 is CIELAB of an sRGB colour in [0, 1], through the dataset's own
// conversion (dataset.Lab) at 8 bits per channel, so that distances here
// are the ones the dataset's colour rules use.
func lab3(r, g, b float64) (l, a, bb float64) {
	return dataset.Lab(color.NRGBA{R: to8(r), G: to8(g), B: to8(b), A: 255})
}

func labOf(c color.NRGBA) [3]float64 {
	l, a, b := dataset.Lab(c)
	return [3]float64{l, a, b}
}

func dist3(a, b []float64) float64 {
	d0, d1, d2 := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return math.Sqrt(d0*d0 + d1*d1 + d2*d2)
}

// toModelInput writes img as size×size NHWC float32 in [-1, 1] for the oracle
// (resizing with an area filter when it is another size).
func toModelInput(img image.Image, size int, dst []float32) {
	if f, ok := img.(*Float32Image); ok && f.Size == size {
		copy(dst, f.Pix)
		return
	}
	r := toRGB(img)
	if r.w == size && r.h == size {
		for i, v := range r.pix {
			dst[i] = float32(v*2 - 1)
		}
		return
	}
	resizeArea(r, size, dst)
}

// resizeArea box-filters r to size×size into dst (NHWC, [-1, 1]).
func resizeArea(r *rgb, size int, dst []float32) {
	sx := float64(r.w) / float64(size)
	sy := float64(r.h) / float64(size)
	for y := 0; y < size; y++ {
		y0, y1 := float64(y)*sy, float64(y+1)*sy
		for x := 0; x < size; x++ {
			x0, x1 := float64(x)*sx, float64(x+1)*sx
			var acc [3]float64
			var wsum float64
			for yy := int(y0); yy < r.h && float64(yy) < y1; yy++ {
				wy := math.Min(y1, float64(yy+1)) - math.Max(y0, float64(yy))
				for xx := int(x0); xx < r.w && float64(xx) < x1; xx++ {
					wx := math.Min(x1, float64(xx+1)) - math.Max(x0, float64(xx))
					w := wx * wy
					if w <= 0 {
						continue
					}
					p := r.pix[3*(yy*r.w+xx):]
					acc[0] += w * p[0]
					acc[1] += w * p[1]
					acc[2] += w * p[2]
					wsum += w
				}
			}
			o := dst[3*(y*size+x):]
			for c := 0; c < 3; c++ {
				o[c] = float32(acc[c]/wsum*2 - 1)
			}
		}
	}
}
