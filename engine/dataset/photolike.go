package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Photo-like pictures for learning to cut a thing out of a photograph:
// one of the world's sprites, big and near the middle as people
// photograph their things (a close-up may run off the edges), over a
// background made to be as unlike a plain one as the world allows — a
// room's planes (a wall, a table, a shelf) in random colours, lit
// unevenly, wood-like or woven textures, and clutter: other sprites,
// large, toned down and often blurred, as the things behind a subject are
// in a photo. The thing itself is recoloured, lit from one side, may
// cast a shadow and may be partly hidden by something in front of it;
// the whole picture gets a colour cast and sensor noise. The answer is
// the thing's own coverage (its alpha, less what hides it).
//
// Nothing here is tuned on the real photographs that measure the cut
// (engine/dataset/testdata/photos): they are only ever measured.

// PhotoMaker draws photo-like pictures from a renderer's sprites. It is
// read-only, so one may serve many goroutines (each with its own rng).
type PhotoMaker struct {
	r *Renderer
	// Neighbours is the share of pictures with other things beside and
	// behind the thing, as sharp and vivid as it (a toy among books, a
	// cup by a vase), where the clutter is toned down and often blurred
	// (0: none, the shipped segmenter's recipe).
	Neighbours float64
}

// NewPhotoMaker draws with r's sprites.
func NewPhotoMaker(r *Renderer) *PhotoMaker { return &PhotoMaker{r: r} }

// Make draws one picture at size×size into rgb (3 values a pixel, in
// [0, 1]) and the thing's coverage into mask (one a pixel, in [0, 1]).
func (m *PhotoMaker) Make(rng *rand.Rand, size int, rgb, mask []float32) {
	if len(rgb) < 3*size*size || len(mask) < size*size {
		panic(fmt.Sprintf("dataset: PhotoMaker.Make: buffers of %d and %d values for %d×%d", len(rgb), len(mask), size, size))
	}
	n := size * size
	bg := make([]float32, 4*n)
	m.background(rng, size, bg)

	// The thing: big, near the middle, stretched a little, recoloured and
	// lit from one side.
	sprites := m.r.sprites
	k := rng.IntN(len(sprites))
	fg := make([]float32, 4*n)
	extent := 0.35 + 0.8*rng.Float64() // up to 1.15: close-ups run off the edges
	aspect := math.Exp((rng.Float64()*2 - 1) * 0.22)
	cx := 0.5 + clampF(rng.NormFloat64()*0.12, -0.3, 0.3)
	cy := 0.5 + clampF(rng.NormFloat64()*0.12, -0.3, 0.3)
	if extent > 0.9 && rng.Float64() < 0.5 {
		cy += 0.15 // a close-up's subject often rises from the bottom edge
	}
	if m.Neighbours > 0 && rng.Float64() < m.Neighbours {
		m.neighbours(rng, size, bg, cx, cy, extent)
	}
	sp := sprites[k]
	mx := float64(max(sp.w, sp.h))
	w := extent * float64(size) * float64(sp.w) / mx * aspect
	h := extent * float64(size) * float64(sp.h) / mx / aspect
	sp.drawOver(fg, size, size, cx*float64(size)-w/2, cy*float64(size)-h/2, w, h, rng.Float64() < 0.5)
	if rng.Float64() < 0.6 {
		HueRotation(rng.Float64() * 360).Apply(fg)
	}
	m.tone(rng, fg, size, 0.55, 1.25)
	cover := make([]float32, n) // the answer: the thing's own edge, not its blur
	for i := range cover {
		cover[i] = fg[4*i+3]
	}
	if rng.Float64() < 0.3 {
		boxBlur(fg, size, 1)
	}

	// A shadow on what is behind it.
	if rng.Float64() < 0.4 {
		sh := make([]float32, n)
		dx, dy := int(math.Round(rng.Float64()*0.08*float64(size))), int(math.Round((0.02+rng.Float64()*0.08)*float64(size)))
		if rng.Float64() < 0.5 {
			dx = -dx
		}
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				sx, sy := x-dx, y-dy
				if sx >= 0 && sy >= 0 && sx < size && sy < size {
					sh[y*size+x] = fg[4*(sy*size+sx)+3]
				}
			}
		}
		blurPlane(sh, size, 2)
		dark := float32(0.25 + 0.4*rng.Float64())
		for i := 0; i < n; i++ {
			f := 1 - dark*sh[i]
			bg[4*i], bg[4*i+1], bg[4*i+2] = bg[4*i]*f, bg[4*i+1]*f, bg[4*i+2]*f
		}
	}

	// Something in front of it, now and then.
	occ := make([]float32, 4*n)
	if rng.Float64() < 0.15 {
		o := sprites[rng.IntN(len(sprites))]
		oe := 0.3 + 0.4*rng.Float64()
		ox := cx + (rng.Float64()*2-1)*extent*0.6
		oy := cy + 0.2 + rng.Float64()*0.3
		omx := float64(max(o.w, o.h))
		ow, oh := oe*float64(size)*float64(o.w)/omx, oe*float64(size)*float64(o.h)/omx
		o.drawOver(occ, size, size, ox*float64(size)-ow/2, oy*float64(size)-oh/2, ow, oh, rng.Float64() < 0.5)
		m.tone(rng, occ, size, 0.6, 1.1)
	}

	for i := 0; i < n; i++ {
		fa, oa := fg[4*i+3], occ[4*i+3]
		for c := 0; c < 3; c++ {
			v := fg[4*i+c] + bg[4*i+c]*(1-fa)
			rgb[3*i+c] = occ[4*i+c] + v*(1-oa)
		}
		mask[i] = min(1, max(0, cover[i]*(1-oa))) // area sums may round past 1
	}

	// The camera: a colour cast, a contrast and brightness, and noise.
	var cast [3]float32
	for c := range cast {
		cast[c] = float32(1 + (rng.Float64()*2-1)*0.08)
	}
	contrast := float32(0.75 + 0.4*rng.Float64())
	bright := float32((rng.Float64()*2 - 1) * 0.08)
	noise := float32(rng.Float64() * 0.04)
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			v := (rgb[3*i+c]*cast[c]-0.5)*contrast + 0.5 + bright + noise*float32(rng.NormFloat64())
			rgb[3*i+c] = min(1, max(0, v))
		}
	}
}

// neighbours draws one to three things into bg beside and behind a
// thing of the given extent centred at (cx, cy): as big as it or
// smaller, sharp, at full tone, overlapping its edge or just clear of it.
func (m *PhotoMaker) neighbours(rng *rand.Rand, size int, bg []float32, cx, cy, extent float64) {
	n := size * size
	layer := make([]float32, 4*n)
	for k := 1 + rng.IntN(3); k > 0; k-- {
		sp := m.r.sprites[rng.IntN(len(m.r.sprites))]
		e := extent * (0.4 + 0.6*rng.Float64())
		a := rng.Float64() * 2 * math.Pi
		d := extent * (0.4 + 0.5*rng.Float64())
		mx := float64(max(sp.w, sp.h))
		w, h := e*float64(size)*float64(sp.w)/mx, e*float64(size)*float64(sp.h)/mx
		x, y := (cx+d*math.Cos(a))*float64(size), (cy+d*math.Sin(a))*float64(size)
		sp.drawOver(layer, size, size, x-w/2, y-h/2, w, h, rng.Float64() < 0.5)
	}
	m.over(rng, layer, bg, size, 0.6, 0.8, 1.2)
}

// over recolours a premultiplied layer with probability hue, tones it
// (a brightness in [lo, hi]) and lays it over the opaque bg.
func (m *PhotoMaker) over(rng *rand.Rand, layer, bg []float32, size int, hue, lo, hi float64) {
	if rng.Float64() < hue {
		HueRotation(rng.Float64() * 360).Apply(layer)
	}
	m.tone(rng, layer, size, lo, hi)
	for i := 0; i < size*size; i++ {
		a := layer[4*i+3]
		for c := 0; c < 3; c++ {
			bg[4*i+c] = min(1, layer[4*i+c]+bg[4*i+c]*(1-a))
		}
	}
}

// background fills bg (premultiplied RGBA, opaque) with a room-like
// backdrop: planes, a texture or clutter, lit unevenly, maybe blurred.
func (m *PhotoMaker) background(rng *rand.Rand, size int, bg []float32) {
	n := size * size
	c0, c1 := randomColour(rng), randomColour(rng)
	ang := rng.Float64() * 2 * math.Pi
	ca, sa := math.Cos(ang), math.Sin(ang)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			u, v := (float64(x)+0.5)/float64(size)-0.5, (float64(y)+0.5)/float64(size)-0.5
			t := float32(clampF(0.5+(u*ca+v*sa)*0.8, 0, 1))
			i := y*size + x
			for c := 0; c < 3; c++ {
				bg[4*i+c] = c0[c]*(1-t) + c1[c]*t
			}
			bg[4*i+3] = 1
		}
	}
	// Planes: a wall meeting a table, a shelf's edge, a window.
	for p := rng.IntN(4); p > 0; p-- {
		col := randomColour(rng)
		a := rng.Float64() * 2 * math.Pi
		nx, ny := math.Cos(a), math.Sin(a)
		off := (rng.Float64()*2 - 1) * 0.45
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				u, v := (float64(x)+0.5)/float64(size)-0.5, (float64(y)+0.5)/float64(size)-0.5
				if u*nx+v*ny > off {
					i := y*size + x
					bg[4*i], bg[4*i+1], bg[4*i+2] = col[0], col[1], col[2]
				}
			}
		}
	}
	switch r := rng.Float64(); {
	case r < 0.25: // wood grain or weave
		col := randomColour(rng)
		freq := 6 + rng.Float64()*30
		a := rng.Float64() * math.Pi
		fa, fb := math.Cos(a), math.Sin(a)
		weave := rng.Float64() < 0.4
		amp := float32(0.2 + 0.5*rng.Float64())
		ph := rng.Float64() * 10
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				u, v := (float64(x)+0.5)/float64(size), (float64(y)+0.5)/float64(size)
				s := 0.5 + 0.5*math.Sin(freq*(u*fa+v*fb)+2*math.Sin(3*u*fb-3*v*fa+ph))
				if weave {
					s = 0.5 + 0.5*math.Sin(freq*u)*math.Sin(freq*v)
				}
				t := amp * float32(s)
				i := y*size + x
				for c := 0; c < 3; c++ {
					bg[4*i+c] = bg[4*i+c]*(1-t) + col[c]*t
				}
			}
		}
	case r < 0.8: // clutter: the things behind
		sprites := m.r.sprites
		layer := make([]float32, 4*n)
		for k := 3 + rng.IntN(10); k > 0; k-- {
			sp := sprites[rng.IntN(len(sprites))]
			e := 0.25 + 0.9*rng.Float64()
			mx := float64(max(sp.w, sp.h))
			w, h := e*float64(size)*float64(sp.w)/mx, e*float64(size)*float64(sp.h)/mx
			x0, y0 := (rng.Float64()*1.2-0.1)*float64(size)-w/2, (rng.Float64()*1.2-0.1)*float64(size)-h/2
			sp.drawOver(layer, size, size, x0, y0, w, h, rng.Float64() < 0.5)
		}
		m.over(rng, layer, bg, size, 0.5, 0.5, 1.0)
	}
	// Uneven light, then maybe the blur of a shallow depth of field.
	lx, ly := rng.Float64()*2-1, rng.Float64()*2-1
	lamp := 0.15 + 0.35*rng.Float64()
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			u, v := (float64(x)+0.5)/float64(size)-0.5, (float64(y)+0.5)/float64(size)-0.5
			f := float32(1 + lamp*(u*lx+v*ly))
			i := y*size + x
			for c := 0; c < 3; c++ {
				bg[4*i+c] = min(1, max(0, bg[4*i+c]*f))
			}
		}
	}
	if r := rng.IntN(4); r > 1 {
		boxBlur(bg, size, r-1)
	}
}

// tone scales a premultiplied layer's colours by a brightness in
// [lo, hi], desaturates it by up to a half, and lights it from one side.
func (m *PhotoMaker) tone(rng *rand.Rand, layer []float32, size int, lo, hi float64) {
	b := float32(lo + (hi-lo)*rng.Float64())
	desat := float32(rng.Float64() * 0.5)
	lx, ly := rng.Float64()*2-1, rng.Float64()*2-1
	side := 0.4 * rng.Float64()
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			i := y*size + x
			a := layer[4*i+3]
			if a == 0 {
				continue
			}
			u, v := (float64(x)+0.5)/float64(size)-0.5, (float64(y)+0.5)/float64(size)-0.5
			f := b * float32(1+side*(u*lx+v*ly))
			r, g, bl := layer[4*i], layer[4*i+1], layer[4*i+2]
			grey := (r + g + bl) / 3
			for c, v := range [3]float32{r, g, bl} {
				layer[4*i+c] = min(a, max(0, (v+(grey-v)*desat)*f))
			}
		}
	}
}

func randomColour(rng *rand.Rand) [3]float32 {
	// Mostly muted, as walls and furniture are; sometimes bright.
	sat := 0.15 + 0.3*rng.Float64()
	if rng.Float64() < 0.2 {
		sat = 0.8
	}
	l := 0.15 + 0.8*rng.Float64()
	var c [3]float32
	for i := range c {
		c[i] = float32(clampF(l+(rng.Float64()*2-1)*sat*0.5, 0, 1))
	}
	return c
}

func clampF(v, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, v)) }

// boxBlur blurs a 4-channel size×size buffer with a (2r+1)² box, edges
// clamped.
func boxBlur(buf []float32, size, r int) {
	plane := make([]float32, size*size)
	for c := 0; c < 4; c++ {
		for i := range plane {
			plane[i] = buf[4*i+c]
		}
		blurPlane(plane, size, r)
		for i := range plane {
			buf[4*i+c] = plane[i]
		}
	}
}

// blurPlane blurs one size×size plane with a (2r+1)² box, edges clamped.
func blurPlane(p []float32, size, r int) {
	if r <= 0 {
		return
	}
	tmp := make([]float32, len(p))
	at := func(i int) int { return min(size-1, max(0, i)) }
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var s float32
			for d := -r; d <= r; d++ {
				s += p[y*size+at(x+d)]
			}
			tmp[y*size+x] = s / float32(2*r+1)
		}
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var s float32
			for d := -r; d <= r; d++ {
				s += tmp[at(y+d)*size+x]
			}
			p[y*size+x] = s / float32(2*r+1)
		}
	}
}
