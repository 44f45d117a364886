package eval

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"conceptstudio/engine/dataset"
)

// viewSampler draws the oracle's training views: one object (an atlas
// sprite in either style, or a Fluent 3D personal object) on a background,
// at a random place and size, with the dataset's renderer.
type viewSampler struct {
	atlas    *dataset.Atlas
	rd       *dataset.Renderer
	classes  []string
	classOf  []int // class per atlas sprite
	personal []personalView
	opt      viewOptions
}

// personalView is a personal object as premultiplied RGBA in [0, 1],
// trimmed to its visible box.
type personalView struct {
	class   int
	sprite  int // an atlas sprite of the same name (for its backgrounds)
	w, h    int
	pix     []float64
	allowed []string
}

// viewOptions are the augmentation's probabilities.
type viewOptions struct {
	Personal    float64 // share of views showing a personal object
	AnyColour   float64 // share of backgrounds of any colour (else allowed ones)
	Pattern     float64 // share of patterned backgrounds
	DatasetWord float64 // share placed by the dataset's position and size words (else anywhere)
	Noise       float64 // share with Gaussian noise added
	Blur        float64 // share softened
	Sprites     []int   // the atlas sprites drawn (nil: all)
}

func defaultViewOptions() viewOptions {
	return viewOptions{Personal: 0.1, AnyColour: 0.1, Pattern: 0.3, DatasetWord: 0.6, Noise: 0.3, Blur: 0.2}
}

func newViewSampler(a *dataset.Atlas, opt viewOptions) (*viewSampler, error) {
	s := &viewSampler{atlas: a, rd: dataset.NewRenderer(a), classes: a.Names(), opt: opt}
	idx := map[string]int{}
	for i, n := range s.classes {
		idx[n] = i
	}
	for _, sp := range a.Sprites {
		s.classOf = append(s.classOf, idx[sp.Name])
	}
	for _, name := range dataset.PersonalNames() {
		c, ok := idx[name]
		if !ok {
			continue
		}
		img, err := dataset.LoadPersonal(name)
		if err != nil {
			return nil, err
		}
		pv := toPersonal(img)
		if pv.w == 0 {
			continue
		}
		pv.class = c
		pv.sprite = a.SpritesNamed(name)[0]
		pv.allowed = a.AllowedBackgrounds(pv.sprite)
		s.personal = append(s.personal, pv)
	}
	return s, nil
}

// toPersonal trims an image to the pixels with alpha above 12/255 (as the
// dataset trims sprites) and premultiplies it.
func toPersonal(img image.Image) personalView {
	b := img.Bounds()
	box := image.Rectangle{}
	first := true
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA); c.A > 12 {
				p := image.Rect(x, y, x+1, y+1)
				if first {
					box, first = p, false
				} else {
					box = box.Union(p)
				}
			}
		}
	}
	pv := personalView{w: box.Dx(), h: box.Dy(), pix: make([]float64, 4*box.Dx()*box.Dy())}
	for y := 0; y < pv.h; y++ {
		for x := 0; x < pv.w; x++ {
			c := color.NRGBAModel.Convert(img.At(box.Min.X+x, box.Min.Y+y)).(color.NRGBA)
			a := float64(c.A) / 255
			p := pv.pix[4*(y*pv.w+x):]
			p[0], p[1], p[2], p[3] = float64(c.R)/255*a, float64(c.G)/255*a, float64(c.B)/255*a, a
		}
	}
	return pv
}

// sample draws one view into dst (size×size NHWC in [-1, 1]) and returns
// its class.
func (s *viewSampler) sample(rng *rand.Rand, size int, dst []float32) int {
	o := s.opt
	personal := len(s.personal) > 0 && rng.Float64() < o.Personal
	var sprite int
	var pv *personalView
	if personal {
		pv = &s.personal[rng.IntN(len(s.personal))]
		sprite = pv.sprite
	} else if len(o.Sprites) > 0 {
		sprite = o.Sprites[rng.IntN(len(o.Sprites))]
	} else {
		sprite = rng.IntN(len(s.atlas.Sprites))
	}
	bg := dataset.Background{}
	if rng.Float64() < o.AnyColour {
		bg.Colour = dataset.Colours[rng.IntN(len(dataset.Colours))].Name
	} else {
		allowed := s.atlas.AllowedBackgrounds(sprite)
		bg.Colour = allowed[rng.IntN(len(allowed))]
	}
	if rng.Float64() < o.Pattern {
		bg.Pattern = dataset.Patterns[rng.IntN(len(dataset.Patterns))]
		bg.Phase = rng.Float64()
	}
	flip := rng.Float64() < 0.5
	// The box: the dataset's placement, or any extent and place.
	var p dataset.Placed
	if rng.Float64() < o.DatasetWord {
		pos := dataset.Positions[rng.IntN(len(dataset.Positions))]
		size := dataset.Sizes[rng.IntN(len(dataset.Sizes))]
		var err error
		if p, err = s.atlas.PlaceSingle(rng, sprite, pos, size, flip); err != nil {
			panic(err) // unreachable: the words are the dataset's own
		}
	} else {
		p = dataset.Placed{Sprite: sprite, Flip: flip, Extent: 0.25 + 0.6*rng.Float64()}
	}
	// Box width and height as fractions of the side.
	var bw, bh float64
	if personal {
		m := float64(max(pv.w, pv.h))
		bw, bh = p.Extent*float64(pv.w)/m, p.Extent*float64(pv.h)/m
	} else {
		r := s.atlas.Sprites[sprite].Rect
		m := float64(max(r.Dx(), r.Dy()))
		bw, bh = p.Extent*float64(r.Dx())/m, p.Extent*float64(r.Dy())/m
	}
	if p.Position == "" { // placed anywhere it fits
		p.CX = bw/2 + rng.Float64()*(1-bw)
		p.CY = bh/2 + rng.Float64()*(1-bh)
	} else if personal { // the dataset centred the sprite's box, not this one
		p.CX = math.Max(bw/2, math.Min(1-bw/2, p.CX))
		p.CY = math.Max(bh/2, math.Min(1-bh/2, p.CY))
	}
	sc := dataset.Scene{Background: bg}
	if !personal {
		sc.Objects = []dataset.Placed{p}
	}
	s.rd.Render(sc, size, dst)
	if personal {
		n := float64(size)
		pv.drawOver(dst, size, (p.CX-bw/2)*n, (p.CY-bh/2)*n, bw*n, bh*n, flip)
	}
	if rng.Float64() < o.Blur {
		blur(dst, size, 0.3+0.5*rng.Float64())
	}
	if rng.Float64() < o.Noise {
		sigma := 0.1 * rng.Float64()
		for i := range dst {
			dst[i] = float32(math.Max(-1, math.Min(1, float64(dst[i])+sigma*rng.NormFloat64())))
		}
	}
	if personal {
		return pv.class
	}
	return s.classOf[sprite]
}

// drawOver composites the personal object over the opaque NHWC image dst
// ([-1, 1]) into the box [x0, x0+w)×[y0, y0+h) (pixels), with an area
// filter as the dataset's renderer does.
func (pv *personalView) drawOver(dst []float32, size int, x0, y0, w, h float64, flip bool) {
	xs := areaSpans(pv.w, x0, w, size)
	ys := areaSpans(pv.h, y0, h, size)
	for _, ry := range ys {
		for _, rx := range xs {
			var acc [4]float64
			for ky, wy := range ry.w {
				sy := ry.s0 + ky
				for kx, wx := range rx.w {
					sx := rx.s0 + kx
					if flip {
						sx = pv.w - 1 - sx
					}
					q := pv.pix[4*(sy*pv.w+sx):]
					wt := wx * wy
					acc[0] += wt * q[0]
					acc[1] += wt * q[1]
					acc[2] += wt * q[2]
					acc[3] += wt * q[3]
				}
			}
			d := dst[3*(ry.d*size+rx.d):]
			for c := 0; c < 3; c++ {
				bgv := (float64(d[c]) + 1) / 2
				v := acc[c] + bgv*(1-acc[3])
				d[c] = float32(math.Max(-1, math.Min(1, 2*v-1)))
			}
		}
	}
}

// span is the weight of source pixels s0, s0+1, ... in destination pixel
// d: the overlap lengths, in destination pixels.
type span struct {
	d, s0 int
	w     []float64
}

// areaSpans maps srcN source pixels onto [off, off+length) of a dstN
// line.
func areaSpans(srcN int, off, length float64, dstN int) []span {
	scale := length / float64(srcN)
	var out []span
	for d := max(0, int(math.Floor(off))); d < min(dstN, int(math.Ceil(off+length))); d++ {
		u0 := math.Max(0, (float64(d)-off)/scale)
		u1 := math.Min(float64(srcN), (float64(d+1)-off)/scale)
		if u1 <= u0 {
			continue
		}
		sp := span{d: d, s0: int(math.Floor(u0))}
		for s := sp.s0; s < min(srcN, int(math.Ceil(u1))); s++ {
			sp.w = append(sp.w, math.Max(0, (math.Min(u1, float64(s+1))-math.Max(u0, float64(s)))*scale))
		}
		out = append(out, sp)
	}
	return out
}

// blur mixes an NHWC image with its 3×3 box-filtered self.
func blur(x []float32, size int, amount float64) {
	src := append([]float32(nil), x...)
	for y := 0; y < size; y++ {
		for xx := 0; xx < size; xx++ {
			for c := 0; c < 3; c++ {
				var s float64
				n := 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						yy, xq := y+dy, xx+dx
						if yy < 0 || xq < 0 || yy >= size || xq >= size {
							continue
						}
						s += float64(src[3*(yy*size+xq)+c])
						n++
					}
				}
				i := 3*(y*size+xx) + c
				x[i] = float32((1-amount)*float64(src[i]) + amount*s/float64(n))
			}
		}
	}
}
