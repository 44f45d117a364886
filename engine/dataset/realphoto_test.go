package dataset

import (
	"image"
	"os"
	"path/filepath"
	"testing"
)

// readTestPhoto reads a photo of testdata/photos.
func readTestPhoto(t testing.TB, name string) image.Image {
	t.Helper()
	return readImage(t, filepath.Join("testdata", "photos", name))
}

// readImage decodes the image file at path.
func readImage(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// maskOf is an extraction's hard mask at the photo's size.
func maskOf(ex extraction, w, h int) []bool {
	m := make([]bool, w*h)
	sx := float64(ex.box.Dx()) / float64(ex.cut.Rect.Dx())
	sy := float64(ex.box.Dy()) / float64(ex.cut.Rect.Dy())
	for y := ex.box.Min.Y; y < ex.box.Max.Y; y++ {
		for x := ex.box.Min.X; x < ex.box.Max.X; x++ {
			cx := min(int(float64(x-ex.box.Min.X)/sx), ex.cut.Rect.Dx()-1)
			cy := min(int(float64(y-ex.box.Min.Y)/sy), ex.cut.Rect.Dy()-1)
			if ex.cut.NRGBAAt(cx, cy).A >= 128 {
				m[y*w+x] = true
			}
		}
	}
	return m
}

// TestCutOutOfARealPhoto: a real photograph (an espresso cup with saucer
// and spoon on a wooden table, CC0; see testdata/photos) against a mask
// drawn by hand. The automatic cut and a box drawn around the saucer, as
// a person does in the cut-out editor, must each reach IoU 0.85 (the
// automatic cut kept only the cup's white rim and the coffee, IoU 0.30,
// until its start was the whole picture inside a thin ring). The control
// is the box itself taken as the mask.
func TestCutOutOfARealPhoto(t *testing.T) {
	img := readTestPhoto(t, "coffee.png")
	truthImg := readTestPhoto(t, "coffee-mask.png")
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	truth := make([]bool, W*H)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			r, _, _, _ := truthImg.At(x, y).RGBA()
			truth[y*W+x] = r >= 0x8000
		}
	}
	auto, err := extractObject(img)
	autoIoU := 0.0
	if err == nil {
		autoIoU = maskIoU(maskOf(auto, W, H), truth)
	}
	box := image.Rect(60, 10, 495, 398)
	boxed, err := extractObjectWith(img, &Hints{Box: box})
	if err != nil {
		t.Fatal(err)
	}
	got := maskIoU(maskOf(boxed, W, H), truth)
	control := make([]bool, W*H)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			control[y*W+x] = true
		}
	}
	ctl := maskIoU(control, truth)
	t.Logf("IoU against the hand-drawn mask: automatic %.3f, with a box %.3f; the box alone %.3f", autoIoU, got, ctl)
	if got < 0.85 {
		t.Errorf("with a box around the saucer: IoU %.3f, want ≥ 0.85", got)
	}
	if autoIoU < 0.85 {
		t.Errorf("the automatic cut: IoU %.3f, want ≥ 0.85", autoIoU)
	}
	if got < ctl+0.1 {
		t.Errorf("the cut (%.3f) is hardly better than its box (%.3f)", got, ctl)
	}
}
