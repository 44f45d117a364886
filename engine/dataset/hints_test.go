package dataset

import (
	"image"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// composeAt pastes a cut-out onto bg, scaled by scale, with its top left
// at (x0, y0); it returns the object's true mask.
func composeAt(bg, cut *image.NRGBA, x0, y0 int, scale float64) []bool {
	S := bg.Rect.Dx()
	w, h := int(float64(cut.Rect.Dx())*scale), int(float64(cut.Rect.Dy())*scale)
	truth := make([]bool, S*bg.Rect.Dy())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := cut.NRGBAAt(cut.Rect.Min.X+int(float64(x)/scale), cut.Rect.Min.Y+int(float64(y)/scale))
			a := float64(c.A) / 255
			if a == 0 {
				continue
			}
			X, Y := x0+x, y0+y
			p := bg.Pix[bg.PixOffset(X, Y):]
			p[0] = uint8(float64(c.R)*a + float64(p[0])*(1-a))
			p[1] = uint8(float64(c.G)*a + float64(p[1])*(1-a))
			p[2] = uint8(float64(c.B)*a + float64(p[2])*(1-a))
			truth[Y*S+X] = a >= 0.5
		}
	}
	return truth
}

func exampleCut(t *testing.T, name string) *image.NRGBA {
	t.Helper()
	img := readImage(t, filepath.Join("..", "..", "examples", name, "1.png"))
	cut, err := ExtractObject(img)
	if err != nil {
		t.Fatal(err)
	}
	return cut
}

// hintedMask runs the hinted extraction and returns its hard mask at the
// photo's size.
func hintedMask(t *testing.T, img *image.NRGBA, h Hints) []bool {
	t.Helper()
	ex, err := extractObjectWith(img, &h)
	if err != nil {
		t.Fatal(err)
	}
	S := img.Rect.Dx()
	mask := make([]bool, S*img.Rect.Dy())
	for y := ex.box.Min.Y; y < ex.box.Max.Y; y++ {
		for x := ex.box.Min.X; x < ex.box.Max.X; x++ {
			if ex.cut.NRGBAAt(x-ex.box.Min.X, y-ex.box.Min.Y).A >= 128 {
				mask[y*S+x] = true
			}
		}
	}
	return mask
}

// TestHintsPickTheObject: a photo-like wooden table with a teddy bear and
// a teapot. The automatic cut takes one thing (the larger); a box around
// the other takes that one instead; a box around both with a remove
// stroke on one leaves the other; a keep stroke on the second keeps both.
// Each is scored against the true masks (IoU), with the automatic cut as
// the control that must miss the thing asked for.
func TestHintsPickTheObject(t *testing.T) {
	const S = 200
	rng := rand.New(rand.NewPCG(8, 9))
	photo := texturedBackground(0, S, rng)
	side := func(c *image.NRGBA, px int) float64 { return float64(px) / float64(max(c.Rect.Dx(), c.Rect.Dy())) }
	bearCut, potCut := exampleCut(t, "teddy"), exampleCut(t, "teapot")
	bear := composeAt(photo, bearCut, 16, 50, side(bearCut, 96))
	pot := composeAt(photo, potCut, 124, 96, side(potCut, 64))
	both := make([]bool, len(bear))
	for i := range both {
		both[i] = bear[i] || pot[i]
	}
	_, auto, err := extractForTest(photo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("automatic cut: IoU %.3f with the bear, %.3f with the teapot", maskIoU(auto, bear), maskIoU(auto, pot))
	if maskIoU(auto, pot) > 0.5 {
		t.Fatalf("the control: the automatic cut already finds the teapot (IoU %.3f); the photo tells nothing about hints", maskIoU(auto, pot))
	}
	potBox := image.Rect(116, 88, 196, 168)
	cases := []struct {
		name  string
		h     Hints
		truth []bool
		min   float64
	}{
		{"a box around the teapot", Hints{Box: potBox}, pot, 0.85},
		{"a box around both, the bear removed", Hints{Box: image.Rect(8, 40, 196, 168), Remove: []image.Point{{64, 98}, {50, 80}, {80, 120}, {40, 130}}, Radius: 14}, pot, 0.8},
		{"the bear, and the teapot kept too", Hints{Keep: []image.Point{{156, 128}}, Radius: 8}, both, 0.8},
		{"a box around both, the bear removed with one dab of a big brush", Hints{Box: image.Rect(8, 40, 196, 168), Remove: []image.Point{{64, 98}}, RemoveRadius: []int{44}, Radius: 3}, pot, 0.8},
	}
	// The same dab with the small brush leaves the bear: the point's own
	// radius is what removed it.
	small := hintedMask(t, photo, Hints{Box: image.Rect(8, 40, 196, 168), Remove: []image.Point{{64, 98}}, Radius: 3})
	if got := maskIoU(small, pot); got > 0.5 {
		t.Errorf("one small dab on the bear already leaves only the teapot (IoU %.3f): the big-brush case tells nothing", got)
	}
	for _, c := range cases {
		got := maskIoU(hintedMask(t, photo, c.h), c.truth)
		t.Logf("%s: IoU %.3f", c.name, got)
		if got < c.min {
			t.Errorf("%s: IoU %.3f, want ≥ %.2f", c.name, got, c.min)
		}
	}
	// An empty box is refused in words, not with an empty cut-out.
	blank := texturedBackground(1, 64, rng)
	if _, err := ExtractObjectHinted(blank, Hints{Box: image.Rect(2, 2, 4, 4)}); err == nil {
		t.Error("a 2×2 box on a plain texture gave a cut-out")
	}
	// Hints are in the image's own coordinates, wherever its origin is.
	sub := photo.SubImage(image.Rect(100, 70, 200, 180)).(*image.NRGBA)
	if _, err := ExtractObjectHinted(sub, Hints{Box: potBox}); err != nil {
		t.Errorf("a sub-image with the box in its coordinates: %v", err)
	}
}

// TestARemoveStrokeInsideTheThingStays: a person's remove stroke on
// something enclosed by the thing (a blue card held in front of a red
// disc, with the grey wall around) takes it out of the cut-out; the
// cut's filling of enclosed holes had put it back (a frog in front of a
// book: five remove dabs on the book changed nothing).
func TestARemoveStrokeInsideTheThingStays(t *testing.T) {
	const S = 160
	img := image.NewNRGBA(image.Rect(0, 0, S, S))
	card := image.Rect(68, 68, 92, 92)
	for y := 0; y < S; y++ {
		for x := 0; x < S; x++ {
			c := [3]uint8{128, 128, 128}
			dx, dy := x-S/2, y-S/2
			switch {
			case image.Pt(x, y).In(card):
				c = [3]uint8{40, 60, 200}
			case dx*dx+dy*dy < 50*50:
				c = [3]uint8{200, 40, 40}
			}
			copy(img.Pix[img.PixOffset(x, y):], []uint8{c[0], c[1], c[2], 255})
		}
	}
	in := func(m []bool, r image.Rectangle) float64 {
		k := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if m[y*S+x] {
					k++
				}
			}
		}
		return float64(k) / float64(r.Dx()*r.Dy())
	}
	box := image.Rect(20, 20, 140, 140)
	inner := card.Inset(3)
	if got := in(hintedMask(t, img, Hints{Box: box}), inner); got < 0.9 {
		t.Fatalf("without a stroke the card is %.0f%% kept (the test needs it enclosed and kept)", 100*got)
	}
	m := hintedMask(t, img, Hints{Box: box, Remove: []image.Point{{80, 80}}, Radius: 6})
	if got := in(m, inner); got > 0.1 {
		t.Errorf("with a remove dab on the card it is still %.0f%% kept", 100*got)
	}
	if got := in(m, image.Rect(55, 45, 65, 55)); got < 0.9 {
		t.Errorf("the disc around it is only %.0f%% kept", 100*got)
	}
}
