package app

import (
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stripedPhoto writes a 120×120 photo-like picture: a busy striped
// cloth with a red ball at (cx, cy), radius r.
func stripedPhoto(t *testing.T, dir string, cx, cy, r int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	img := image.NewNRGBA(image.Rect(0, 0, 120, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 120; x++ {
			c := color.NRGBA{60, 90, 160, 255}
			if (x+y)/5%2 == 0 {
				c = color.NRGBA{220, 210, 170, 255}
			}
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
				c = color.NRGBA{200, 40, 40, 255}
			}
			n := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+rng.IntN(21)-10))) }
			img.SetNRGBA(x, y, color.NRGBA{n(c.R), n(c.G), n(c.B), 255})
		}
	}
	p := filepath.Join(dir, "ball.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCutOutWithHints: a box drawn around a ball on a striped cloth gives
// a cut-out of the ball (its opaque pixels red, none of the cloth), saved
// with transparency where the user's cache would keep it; the saved file
// passes the sheet's checks; a box around nothing is refused in words.
func TestCutOutWithHints(t *testing.T) {
	dir := t.TempDir()
	photo := stripedPhoto(t, dir, 40, 70, 18)
	cut, preview, err := CutOut(photo, CutOutHints{Box: [4]float64{15.0 / 120, 45.0 / 120, 50.0 / 120, 50.0 / 120}})
	if err != nil {
		t.Fatal(err)
	}
	if preview == nil || preview.Bounds().Dx() > 128 {
		t.Fatalf("preview %v", preview)
	}
	b := cut.Bounds()
	red, other := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(cut.At(x, y)).(color.NRGBA)
			if c.A < 128 {
				continue
			}
			if c.R > 150 && c.G < 90 {
				red++
			} else {
				other++
			}
		}
	}
	t.Logf("cut-out %v: %d red pixels, %d others (the ball has ~1018)", b, red, other)
	if red < 800 || other > red/10 {
		t.Errorf("the cut-out holds %d red and %d other pixels: not the ball", red, other)
	}
	saved, err := SaveCutOut(cut, photo, filepath.Join(dir, "cache", "cutouts"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SaveCutOut(cut, photo, filepath.Join(dir, "cache", "cutouts"))
	if again != saved || !strings.HasPrefix(filepath.Base(saved), "ball-cutout-") {
		t.Errorf("saved as %s, then %s", saved, again)
	}
	chk := CheckImages([]string{saved})[0]
	if chk.Problem != "" || chk.Cutout == nil || strings.Contains(chk.Warning, "edge") {
		t.Errorf("the saved cut-out fails the sheet's check or is warned about: %+v", chk)
	}
	if _, _, err := CutOut(photo, CutOutHints{Box: [4]float64{0.9, 0.9, 0.01, 0.01}}); err == nil || strings.Contains(err.Error(), "dataset") {
		t.Errorf("a box around nothing: %v, want a plain refusal", err)
	}
}

// TestCutOutReadsAChangedFileAgain: the editor's repeated cut-outs of one
// picture reuse its decoding, but a file replaced on disk is read again.
func TestCutOutReadsAChangedFileAgain(t *testing.T) {
	dir := t.TempDir()
	photo := stripedPhoto(t, dir, 40, 70, 18)
	box := CutOutHints{Box: [4]float64{15.0 / 120, 45.0 / 120, 50.0 / 120, 50.0 / 120}}
	first, _, err := CutOut(photo, box)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := CutOut(photo, box)
	if err != nil || again.Bounds() != first.Bounds() {
		t.Fatalf("a second cut of the same file: %v, %v", again.Bounds(), err)
	}
	// The ball moves elsewhere, wholly out of the box (a new file at the
	// same path, a later time).
	time.Sleep(10 * time.Millisecond)
	stripedPhoto(t, dir, 100, 20, 18)
	os.Chtimes(photo, time.Now().Add(time.Second), time.Now().Add(time.Second))
	// The box now holds only cloth: the cut is refused or holds no red
	// of the ball (the cut-out may keep a patch of cloth, as GrabCut with
	// a box keeps what is most walled off inside it).
	if img, _, err := CutOut(photo, box); err == nil && redPixels(img) > 0 {
		t.Errorf("the old box cut the new picture as if the ball were still in it (%d red pixels)", redPixels(img))
	}
	if red := redPixels(first); red < 100 {
		t.Errorf("the first cut holds %d red pixels of the ball: the control tells nothing", red)
	}
}

// redPixels counts the opaque, ball-red pixels of a cut-out.
func redPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.A >= 128 && c.R > 150 && c.G < 90 && c.B < 90 {
				n++
			}
		}
	}
	return n
}
