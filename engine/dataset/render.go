package dataset

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// DefaultSize is the side of the base model's images.
const DefaultSize = 32

// Renderer draws scenes from an atlas. It holds the sprites as
// premultiplied float32 and is read-only after NewRenderer, so one Renderer
// may serve many goroutines.
type Renderer struct {
	atlas   *Atlas
	sprites []premult
}

// NewRenderer prepares the atlas's sprites for drawing.
func NewRenderer(a *Atlas) *Renderer {
	r := &Renderer{atlas: a, sprites: make([]premult, len(a.Sprites))}
	for i, s := range a.Sprites {
		r.sprites[i] = toPremult(a.Image, s.Rect)
	}
	return r
}

// Atlas returns the renderer's atlas.
func (r *Renderer) Atlas() *Atlas { return r.atlas }

// Render draws s at size×size into dst as NHWC float32 (one image: row-major
// pixels, 3 channels R, G, B) in [-1, 1]: dst[(y*size+x)*3+c]. dst must hold
// at least size*size*3 values. Sprites are scaled with an area filter
// (exact box integrals, so sub-pixel positions and edges are antialiased)
// and composited with premultiplied alpha over the background, in sRGB.
func (r *Renderer) Render(s Scene, size int, dst []float32) {
	if len(dst) < size*size*3 {
		panic(fmt.Sprintf("dataset: Render: dst holds %d values, need %d", len(dst), size*size*3))
	}
	buf := r.renderPremult(s, size)
	for i := 0; i < size*size; i++ {
		// The background is opaque, so buf is straight RGB here.
		dst[3*i] = signed(buf[4*i])
		dst[3*i+1] = signed(buf[4*i+1])
		dst[3*i+2] = signed(buf[4*i+2])
	}
}

// signed maps [0,1] to [-1,1], clamping float rounding.
func signed(v float32) float32 {
	return min(1, max(-1, v*2-1))
}

// RenderImage draws s at size×size as an image, for looking at.
func (r *Renderer) RenderImage(s Scene, size int) *image.NRGBA {
	return premultToNRGBA(r.renderPremult(s, size), size, size)
}

// RenderLayer draws only s's objects, over nothing: premultiplied RGBA
// in [0, 1], 4 values per pixel (alpha last), for compositing over a
// background drawn apart (as Render would, with the same sprite edges).
func (r *Renderer) RenderLayer(s Scene, size int) []float32 {
	buf := make([]float32, 4*size*size)
	for _, p := range s.Objects {
		x0, y0, w, h := r.atlas.Box(p, size)
		r.sprites[p.Sprite].drawOver(buf, size, size, x0, y0, w, h, p.Flip)
	}
	return buf
}

func (r *Renderer) renderPremult(s Scene, size int) []float32 {
	buf := make([]float32, 4*size*size)
	drawBackground(buf, size, s.Background)
	for _, p := range s.Objects {
		x0, y0, w, h := r.atlas.Box(p, size)
		r.sprites[p.Sprite].drawOver(buf, size, size, x0, y0, w, h, p.Flip)
	}
	return buf
}

// Pattern geometry, in fractions of the image side (so patterns look the
// same at 32 and 48): stripes are diagonal with a period of 0.25 across
// them; dots (radius 0.07) and checks sit on a 0.25 grid; the gradient runs
// top (tone) to bottom (colour).
const (
	stripePeriod = 0.25
	gridPeriod   = 0.25
	dotRadius    = 0.07
	patternSS    = 4 // supersampling per axis for patterned backgrounds
)

// drawBackground fills buf (premultiplied RGBA, opaque) with bg.
func drawBackground(buf []float32, size int, bg Background) {
	base, ok := ColourByName(bg.Colour)
	if !ok {
		base = color.NRGBA{R: 128, G: 128, B: 128, A: 255}
	}
	c0 := [3]float32{float32(base.R) / 255, float32(base.G) / 255, float32(base.B) / 255}
	tn := Tone(base)
	c1 := [3]float32{float32(tn.R) / 255, float32(tn.G) / 255, float32(tn.B) / 255}
	set := func(i int, t float32) { // t: share of the tone
		buf[4*i] = c0[0]*(1-t) + c1[0]*t
		buf[4*i+1] = c0[1]*(1-t) + c1[1]*t
		buf[4*i+2] = c0[2]*(1-t) + c1[2]*t
		buf[4*i+3] = 1
	}
	n := float64(size)
	switch bg.Pattern {
	case "":
		for i := 0; i < size*size; i++ {
			set(i, 0)
		}
		return
	case "gradient":
		for y := 0; y < size; y++ {
			t := float32(1 - (float64(y)+0.5)/n)
			for x := 0; x < size; x++ {
				set(y*size+x, t)
			}
		}
		return
	}
	inTone := patternFunc(bg.Pattern, bg.Phase)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			hits := 0
			for sy := 0; sy < patternSS; sy++ {
				for sx := 0; sx < patternSS; sx++ {
					u := (float64(x) + (float64(sx)+0.5)/patternSS) / n
					v := (float64(y) + (float64(sy)+0.5)/patternSS) / n
					if inTone(u, v) {
						hits++
					}
				}
			}
			set(y*size+x, float32(hits)/(patternSS*patternSS))
		}
	}
}

// patternFunc reports, for a point (u, v) in [0,1]², whether it is drawn in
// the tone.
func patternFunc(pattern string, phase float64) func(u, v float64) bool {
	frac := func(t float64) float64 { return t - math.Floor(t) }
	switch pattern {
	case "striped":
		return func(u, v float64) bool {
			return frac((u+v)/(stripePeriod*math.Sqrt2)+phase) < 0.5
		}
	case "dotted":
		return func(u, v float64) bool {
			du := frac(u/gridPeriod+phase) - 0.5
			dv := frac(v/gridPeriod+phase) - 0.5
			r := dotRadius / gridPeriod
			return du*du+dv*dv < r*r
		}
	case "checkered":
		return func(u, v float64) bool {
			i := int(math.Floor(u/gridPeriod + phase))
			j := int(math.Floor(v/gridPeriod + phase))
			return (i+j)&1 == 1
		}
	}
	return func(u, v float64) bool { return false }
}

// A Layer is a picture drawn over others as sprites are (a concept's
// cut-out given to a model as its reference), held premultiplied and
// trimmed to its visible pixels.
type Layer struct{ p premult }

// NewLayer prepares img (its transparent margins trimmed); ok is false
// when nothing of it is visible.
func NewLayer(img image.Image) (l Layer, ok bool) {
	b := img.Bounds()
	vis := image.Rectangle{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a > 0 {
				vis = vis.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if vis.Empty() {
		return Layer{}, false
	}
	return Layer{toPremult(img, vis)}, true
}

// DrawOver draws the layer into buf (premultiplied RGBA in [0, 1],
// size×size, as RenderLayer's) as a sprite is placed: its longest side
// extent, centred at (cx, cy), all fractions of the side; mirrored when
// flip.
func (l Layer) DrawOver(buf []float32, size int, cx, cy, extent float64, flip bool) {
	m := float64(max(l.p.w, l.p.h))
	w := extent * float64(size) * float64(l.p.w) / m
	h := extent * float64(size) * float64(l.p.h) / m
	l.p.drawOver(buf, size, size, cx*float64(size)-w/2, cy*float64(size)-h/2, w, h, flip)
}

// Recolour is a linear map of colours, row-major 3×3 over R, G, B. Being
// linear, it applies to premultiplied colour as it is.
type Recolour [9]float32

// HueRotation turns hues by deg degrees about the grey axis, keeping
// luminance (the hue-rotate matrix of the CSS filter effects): a red
// thing turned by 120° is green, a grey one stays grey.
func HueRotation(deg float64) Recolour {
	c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
	m := [9]float64{
		0.213 + c*0.787 - s*0.213, 0.715 - c*0.715 - s*0.715, 0.072 - c*0.072 + s*0.928,
		0.213 - c*0.213 + s*0.143, 0.715 + c*0.285 + s*0.140, 0.072 - c*0.072 - s*0.283,
		0.213 - c*0.213 - s*0.787, 0.715 - c*0.715 + s*0.715, 0.072 + c*0.928 + s*0.072,
	}
	var out Recolour
	for i, v := range m {
		out[i] = float32(v)
	}
	return out
}

// Apply recolours a premultiplied RGBA layer in place (4 values per
// pixel), each colour kept within [0, alpha].
func (m Recolour) Apply(layer []float32) {
	for i := 0; i+3 < len(layer); i += 4 {
		r, g, b, a := layer[i], layer[i+1], layer[i+2], layer[i+3]
		for c := 0; c < 3; c++ {
			layer[i+c] = min(a, max(0, m[3*c]*r+m[3*c+1]*g+m[3*c+2]*b))
		}
	}
}

// RenderRecoloured is Render with the scene's things (not its
// background) recoloured by m.
func (r *Renderer) RenderRecoloured(s Scene, size int, m Recolour, dst []float32) {
	if len(dst) < size*size*3 {
		panic(fmt.Sprintf("dataset: RenderRecoloured: dst holds %d values, need %d", len(dst), size*size*3))
	}
	buf := make([]float32, 4*size*size)
	drawBackground(buf, size, s.Background)
	layer := r.RenderLayer(s, size)
	m.Apply(layer)
	for i := 0; i < size*size; i++ {
		k := 1 - layer[4*i+3]
		for c := 0; c < 3; c++ {
			dst[3*i+c] = signed(layer[4*i+c] + buf[4*i+c]*k)
		}
	}
}
