package dataset

import (
	"fmt"
	"hash/fnv"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
)

// ExampleSize is the side of an example photo. It is larger than the
// model's 32×32 on purpose: users drop ordinary photos, which the app
// resizes.
const ExampleSize = 128

// exampleSeed fixes the example photos: the same seed, the same files.
const exampleSeed = 20251125

// WriteExamples writes ExamplesPerObject example "photos" for each of
// ExampleObjects to dir/<short>/<n>.png (n from 1), e.g. dir/teddy/1.png.
// objects maps a personal object's name to its image (any size, ideally the
// full-resolution Fluent 3D art, trimmed or not). Each photo is the object
// at 50-90% of the frame, at a random offset, sometimes mirrored, on a
// light plain or soft-gradient background, 128×128. The generator is
// deterministic: the same objects give byte-identical files.
func WriteExamples(dir string, objects map[string]image.Image) error {
	for _, name := range ExampleObjects {
		var short string
		for _, p := range PersonalObjects {
			if p.Name == name {
				short = p.Short
			}
		}
		src, ok := objects[name]
		if !ok || short == "" {
			return fmt.Errorf("dataset: examples: no image for %q", name)
		}
		h := fnv.New64a()
		h.Write([]byte(name))
		rng := rand.New(rand.NewPCG(exampleSeed, h.Sum64()))
		for n := 1; n <= ExamplesPerObject; n++ {
			img := ExamplePhoto(src, ExampleSize, rng)
			if err := writePNG(filepath.Join(dir, short, fmt.Sprintf("%d.png", n)), img); err != nil {
				return err
			}
		}
	}
	return nil
}

// ExamplePhoto composes one example photo of obj (trimmed to its visible
// box first) on a light background, size×size, drawing its choices from
// rng.
func ExamplePhoto(obj image.Image, size int, rng *rand.Rand) *image.NRGBA {
	b := alphaBounds(obj, trimAlpha)
	if b.Empty() {
		b = obj.Bounds()
	}
	src := toPremult(obj, b)

	// Background: a light tint, plain or a soft vertical/diagonal gradient.
	hue := rng.Float64() * 360
	c1 := hsl(hue, 0.15+0.3*rng.Float64(), 0.82+0.12*rng.Float64())
	c2 := c1
	gradient := rng.Float64() < 0.6
	if gradient {
		c2 = hsl(hue+rng.Float64()*60-30, 0.15+0.3*rng.Float64(), 0.80+0.15*rng.Float64())
	}
	angle := rng.Float64() * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	buf := make([]float32, 4*size*size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			u := (float64(x)+0.5)/float64(size) - 0.5
			v := (float64(y)+0.5)/float64(size) - 0.5
			t := 0.5 + (u*dx+v*dy)/math.Sqrt2
			p := buf[4*(y*size+x):]
			for c := 0; c < 3; c++ {
				p[c] = float32(c1[c]*(1-t) + c2[c]*t)
			}
			p[3] = 1
		}
	}

	// The object: longest side 50-90% of the frame, anywhere it fits.
	ext := (0.5 + 0.4*rng.Float64()) * float64(size)
	s := ext / float64(max(b.Dx(), b.Dy()))
	w, h := float64(b.Dx())*s, float64(b.Dy())*s
	x0 := rng.Float64() * (float64(size) - w)
	y0 := rng.Float64() * (float64(size) - h)
	flip := rng.Float64() < 0.5

	// A soft contact shadow under the object, as on a table.
	shadowY := y0 + h*0.97
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			ex := (float64(x) + 0.5 - (x0 + w/2)) / (w * 0.45)
			ey := (float64(y) + 0.5 - shadowY) / (h * 0.06)
			d := ex*ex + ey*ey
			if d < 1 {
				k := float32(0.18 * (1 - d))
				p := buf[4*(y*size+x):]
				for c := 0; c < 3; c++ {
					p[c] *= 1 - k
				}
			}
		}
	}
	src.drawOver(buf, size, size, x0, y0, w, h, flip)
	return premultToNRGBA(buf, size, size)
}

// hsl converts hue (degrees), saturation and lightness to sRGB in [0,1].
func hsl(h, s, l float64) [3]float64 {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return [3]float64{r + m, g + m, b + m}
}
