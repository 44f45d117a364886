package app

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDifferentObjectsAreFlagged: two teddy bears and two teapots (the
// issue's chimera) warn on the images that are not of the first object;
// five images of one object warn of nothing; one image says what one
// image means.
func TestDifferentObjectsAreFlagged(t *testing.T) {
	ex := func(c string, n int) string { return filepath.Join("..", "examples", c, string(rune('0'+n))+".png") }
	checks := CheckImages([]string{ex("teddy", 1), ex("teddy", 2), ex("teapot", 1), ex("teapot", 2)})
	for i, c := range checks {
		flagged := strings.Contains(c.Warning, "looks like another object")
		if flagged != (i >= 2) {
			t.Errorf("%s: warning %q (flagged %v, want %v)", c.Path, c.Warning, flagged, i >= 2)
		}
		if c.Problem != "" {
			t.Errorf("%s: problem %q", c.Path, c.Problem)
		}
	}
	for _, concept := range []string{"teddy", "teapot", "dog", "couch"} {
		var paths []string
		for n := 1; n <= 5; n++ {
			paths = append(paths, ex(concept, n))
		}
		for _, c := range CheckImages(paths) {
			if strings.Contains(c.Warning, "another object") {
				t.Errorf("%s: one object's image flagged: %q", c.Path, c.Warning)
			}
		}
	}
	one := CheckImages([]string{ex("teapot", 3)})
	if !strings.Contains(one[0].Warning, "one image") || one[0].Problem != "" {
		t.Errorf("one image: %+v", one[0])
	}
}

// TestCheckShowsTheCutOut: a usable image comes with its cut-out over a
// checkerboard (what training learns from), no bigger than 128 pixels; an
// unusable one has none.
func TestCheckShowsTheCutOut(t *testing.T) {
	checks := CheckImages([]string{filepath.Join("..", "examples", "teddy", "1.png"), "no-such-file.png"})
	c := checks[0].Cutout
	if c == nil || c.Bounds().Dx() > 128 || c.Bounds().Dy() > 128 {
		t.Fatalf("cut-out %v", c)
	}
	// A corner is checkerboard (the object is in the middle), opaque.
	if r, g, b, a := c.At(0, 0).RGBA(); a != 0xffff || r != g || g != b {
		t.Errorf("corner %v, want an opaque grey square", c.At(0, 0))
	}
	if checks[1].Cutout != nil {
		t.Error("a missing file has a cut-out")
	}
}

// TestTinyObjectIsDoubted: an image whose object is a small detail is
// marked (a warning, it may still train), below 5% of the picture as
// well as a speck (a 3.6% square: under the 2% the threshold once was, a
// cat close-up cut to one eye passed unremarked); whole objects are not,
// nor a real close-up of a cat's face that the cut keeps whole (it was
// cut to one eye, 2.4%, when GrabCut worked at 96 pixels).
func TestTinyObjectIsDoubted(t *testing.T) {
	square := func(name string, side int, c color.NRGBA) string {
		img := image.NewNRGBA(image.Rect(0, 0, 200, 200))
		for i := range img.Pix {
			img.Pix[i] = 240
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		lo := 100 - side/2
		for y := lo; y < lo+side; y++ {
			for x := lo; x < lo+side; x++ {
				img.SetNRGBA(x, y, c)
			}
		}
		p := filepath.Join(t.TempDir(), name)
		f, _ := os.Create(p)
		png.Encode(f, img)
		f.Close()
		return p
	}
	cat := filepath.Join("..", "engine", "dataset", "testdata", "photos", "chelsea.png") // a real close-up (CC0)
	c := CheckImages([]string{square("speck.png", 8, color.NRGBA{200, 30, 30, 255}), filepath.Join("..", "examples", "teddy", "1.png"), square("patch.png", 38, color.NRGBA{30, 60, 200, 255}), filepath.Join("..", "examples", "couch", "1.png"), cat})
	for _, i := range []int{0, 2} {
		if c[i].Problem != "" || !strings.Contains(c[i].Warning, "covers only") || !strings.Contains(c[i].Warning, "Adjust") {
			t.Errorf("a small square: %+v", c[i])
		}
	}
	for _, i := range []int{1, 3, 4} {
		if strings.Contains(c[i].Warning, "covers only") {
			t.Errorf("%s was doubted: %q", filepath.Base(c[i].Path), c[i].Warning)
		}
	}
}

// TestAPhotoWithNothingToCutSaysAdjust: a real photo nothing can be cut
// out of by itself (a cockatoo close-up on a pale wall) is marked with
// what to do, the button under it, in a few words.
func TestAPhotoWithNothingToCutSaysAdjust(t *testing.T) {
	c := CheckImages([]string{filepath.Join("..", "engine", "dataset", "testdata", "photos", "cockatoo-2.jpg")})
	if !strings.Contains(c[0].Problem, "Adjust…") || len(c[0].Problem) > 120 {
		t.Errorf("the mark: %q", c[0].Problem)
	}
}

// TestTheOtherPhotosCutARefusedOne: the same close-up dropped with three
// other photos of the bird is cut with their help and marked to be
// checked, with the way out (Adjust…) in the mark, as training cuts it.
func TestTheOtherPhotosCutARefusedOne(t *testing.T) {
	var paths []string
	for n := 2; n <= 5; n++ {
		paths = append(paths, filepath.Join("..", "engine", "dataset", "testdata", "photos", fmt.Sprintf("cockatoo-%d.jpg", n)))
	}
	c := CheckImages(paths)
	if c[0].Problem != "" || c[0].Cutout == nil {
		t.Fatalf("the close-up among the others: %q", c[0].Problem)
	}
	if !strings.Contains(c[0].Warning, "other images") || !strings.Contains(c[0].Warning, "Adjust…") || len(c[0].Warning) > 120 {
		t.Errorf("its mark: %q", c[0].Warning)
	}
	for _, o := range c[1:] {
		if o.Problem != "" || strings.Contains(o.Warning, "other images") {
			t.Errorf("%s: %q / %q", o.Path, o.Problem, o.Warning)
		}
	}
}

// checkFiles is a drop as people make one: a photo where it was taken,
// a file that is not an image, a cut-out, one too small and the cut-out
// again.
func checkFiles(t testing.TB) []string {
	dir := t.TempDir()
	photo := func(n string) string { return filepath.Join("..", "engine", "dataset", "testdata", "photos", n) }
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("not an image"), 0o644)
	tiny := filepath.Join(dir, "tiny.png")
	f, _ := os.Create(tiny)
	png.Encode(f, image.NewNRGBA(image.Rect(0, 0, 1, 1)))
	f.Close()
	teddy := filepath.Join("..", "examples", "teddy", "1.png")
	return []string{photo("et-1.jpg"), notImage, teddy, tiny, teddy}
}

// TestChecksInParallelAnswerTheSame: every file's checks, run on several
// goroutines, give the answers one at a time gives, file for file.
func TestChecksInParallelAnswerTheSame(t *testing.T) {
	paths := checkFiles(t)
	one, many := checkImages(paths, 1), checkImages(paths, 3)
	for i := range paths {
		a, b := one[i], many[i]
		if a.Path != b.Path || a.Problem != b.Problem || a.Warning != b.Warning || (a.Cutout == nil) != (b.Cutout == nil) {
			t.Errorf("%s: one at a time %q/%q, in parallel %q/%q", paths[i], a.Problem, a.Warning, b.Problem, b.Warning)
			continue
		}
		if a.Cutout != nil && !sameImage(a.Cutout, b.Cutout) {
			t.Errorf("%s: the cut-outs differ", paths[i])
		}
	}
	if one[1].Problem == "" || one[3].Problem == "" || !strings.Contains(one[4].Warning, "nearly the same") || one[0].Cutout == nil {
		t.Errorf("the drop was not checked: %q, %q, %q, photo cut out %v", one[1].Problem, one[3].Problem, one[4].Warning, one[0].Cutout != nil)
	}
}

// sameImage compares two images pixel for pixel.
func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// BenchmarkCheckImages is what the new-concept sheet does with a drop of
// four phone photos of one thing (the plush toy), the files' own checks
// one at a time (Serial) and on every core (Parallel, what CheckImages
// does), in the same run.
func BenchmarkCheckImages(b *testing.B) {
	var paths []string
	for n := 1; n <= 4; n++ {
		paths = append(paths, filepath.Join("..", "engine", "dataset", "testdata", "photos", fmt.Sprintf("et-%d.jpg", n)))
	}
	for _, c := range []struct {
		name    string
		workers int
	}{{"Serial", 1}, {"Parallel", runtime.NumCPU()}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				checkImages(paths, c.workers)
			}
		})
	}
}
