// Command icongen draws Concept Studio's app icon (icons/appicon.png): a
// rounded square with a violet-to-amber gradient and a white four-point
// sparkle, the "new concept" star of a pseudo-word. Run it from the
// repository root; `make icons` then bundles the PNG with `fyne bundle`.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	const n = 512
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	const r = 0.2 // corner radius, as a share of the side
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			u, v := (float64(x)+0.5)/n, (float64(y)+0.5)/n
			a := coverage(u, v, r)
			if a == 0 {
				continue
			}
			t := (u + v) / 2 // diagonal gradient
			c := mix([3]float64{0x5b, 0x3c, 0xc4}, [3]float64{0xf5, 0x9e, 0x0b}, t)
			// Sparkle: |dx|^p + |dy|^p < s with p < 1 gives a four-point star.
			dx, dy := math.Abs(u-0.5), math.Abs(v-0.5)
			s := math.Pow(dx, 0.5) + math.Pow(dy, 0.5)
			w := smooth(0.62, 0.58, s)
			// A small second sparkle at the top right.
			dx2, dy2 := math.Abs(u-0.76), math.Abs(v-0.24)
			w = math.Max(w, smooth(0.30, 0.27, math.Pow(dx2, 0.5)+math.Pow(dy2, 0.5)))
			for i := range c {
				c[i] = c[i]*(1-w) + 255*w
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), uint8(255 * a)})
		}
	}
	f, err := os.Create("icons/appicon.png")
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// coverage is 1 inside a rounded square of corner radius r (unit square,
// with a small margin), fading over one pixel at the edge.
func coverage(u, v, r float64) float64 {
	const m = 0.04
	qx := math.Max(math.Abs(u-0.5)-(0.5-m-r), 0)
	qy := math.Max(math.Abs(v-0.5)-(0.5-m-r), 0)
	d := math.Hypot(qx, qy) - r
	return smooth(0.5/512, -0.5/512, d)
}

// smooth is 0 at a, 1 at b, linear between.
func smooth(a, b, x float64) float64 {
	t := (x - a) / (b - a)
	return math.Min(math.Max(t, 0), 1)
}

func mix(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}
