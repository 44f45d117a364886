package dataset

import (
	"image"
	"math"
	"testing"
)

// TestMinimumBarrierDistance: on a dark picture with a bright square and a
// bright bar that reaches the border, the square is walled off (its
// distance is the step, 1) and the bar is not (0: a path of bright pixels
// joins it to a bright border pixel), and the background is 0.
func TestMinimumBarrierDistance(t *testing.T) {
	const w, h = 12, 10
	ch := make([]float64, w*h)
	seed := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			seed[i] = x == 0 || y == 0 || x == w-1 || y == h-1
			if (x >= 3 && x < 6 && y >= 3 && y < 6) || (y == 7 && x >= 6) {
				ch[i] = 1
			}
		}
	}
	d := mbdMap(ch, w, h, seed)
	at := func(x, y int) float64 { return d[y*w+x] }
	if at(4, 4) != 1 || at(3, 5) != 1 {
		t.Errorf("inside the square: %g, %g; want 1 (walled off by a step of 1)", at(4, 4), at(3, 5))
	}
	if at(8, 7) != 0 {
		t.Errorf("on the bar that reaches the border: %g, want 0", at(8, 7))
	}
	if at(1, 1) != 0 || at(8, 3) != 0 {
		t.Errorf("background: %g, %g; want 0", at(1, 1), at(8, 3))
	}
	// With no seed at all nothing is reachable: 0 everywhere.
	for _, v := range mbdMap(ch, w, h, make([]bool, w*h)) {
		if v != 0 || math.IsNaN(v) {
			t.Fatalf("no seeds: %g, want 0", v)
		}
	}
}

// TestBarrierPrior: the prior favours the object inside a walled-off
// region and not elsewhere, and leaves sure background alone.
func TestBarrierPrior(t *testing.T) {
	const w, h = 20, 20
	z := make([][3]float64, w*h)
	sure := make([]bool, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			z[i] = [3]float64{200, 190, 170}
			if x >= 7 && x < 13 && y >= 7 && y < 13 {
				z[i] = [3]float64{40, 90, 200}
			}
			sure[i] = x < 2 || y < 2 || x >= w-2 || y >= h-2
		}
	}
	prior := make([]float64, w*h)
	barrierPrior(z, w, h, sure, 8, prior)
	if p := prior[10*w+10]; p < 7 {
		t.Errorf("inside the object: prior %.2f, want about +8", p)
	}
	if p := prior[4*w+4]; p > 0 {
		t.Errorf("on the background: prior %.2f, want at most 0", p)
	}
	if p := prior[0]; p != 0 {
		t.Errorf("on the sure background: prior %.2f, want 0 (untouched)", p)
	}
}

// TestOtsu: two clusters are parted between them.
func TestOtsu(t *testing.T) {
	var v []float64
	for i := 0; i < 50; i++ {
		v = append(v, 0.1+0.001*float64(i), 0.7+0.001*float64(i))
	}
	if th := otsu(v); th <= 0.149 || th > 0.7 {
		t.Errorf("threshold %.3f, want between the clusters (above 0.149, at most 0.7)", th)
	}
}

// TestBareSurfacesAreRefused: crops of a real photo's bare wooden table
// (the espresso cup's, away from the cup) hold no thing, and the
// automatic cut-out refuses them — the barrier prior alone always finds
// a most walled-off part, so it must not decide whether there is a thing
// (it did, and cut these, before grabCutMask asked the colour models
// first).
func TestBareSurfacesAreRefused(t *testing.T) {
	photo := readTestPhoto(t, "coffee.png").(interface {
		SubImage(image.Rectangle) image.Image
	})
	for _, r := range []image.Rectangle{image.Rect(0, 0, 120, 120), image.Rect(480, 0, 600, 120), image.Rect(0, 280, 160, 400)} {
		if _, err := extractObject(photo.SubImage(r)); err == nil {
			t.Errorf("the bare table at %v was cut out", r)
		}
	}
}
