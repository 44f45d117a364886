package dataset_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/segment"
)

// TestMain gives this package's tests the cut the app makes: with the
// shipped segmenter's prior (the engine sets it the same way), so the
// cut-out tests (TestCutOutOfRealPhotoSets, TestBareSurfacesAreRefused,
// the drawn surfaces, …) measure what a user gets. A build that ships no
// segmenter cuts without it.
//
// CONCEPTSTUDIO_SEGMENTER=FILE measures a segmenter trained elsewhere
// (gen_segmenter's -out) in the shipped one's place, in every test.
func TestMain(m *testing.M) {
	if os.Getenv(segmenterEnv) == "" {
		dataset.SetObjectPrior(segment.Prior)
		os.Exit(m.Run())
	}
	s, err := segmenterUnderTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dataset.SetObjectPrior(func(img *image.NRGBA, w, h int) []float32 {
		p, err := s.Predict(img, w, h)
		if err != nil {
			return nil
		}
		return p
	})
	os.Exit(m.Run())
}

const segmenterEnv = "CONCEPTSTUDIO_SEGMENTER"

// segmenterUnderTest is the shipped segmenter, or the file named by
// CONCEPTSTUDIO_SEGMENTER.
func segmenterUnderTest() (*segment.Segmenter, error) {
	f := os.Getenv(segmenterEnv)
	if f == "" {
		return segment.Default()
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return nil, err
	}
	return segment.Decode(data)
}

// realPhoto is one photo of the sets with its hand-drawn mask.
type realPhoto struct {
	name  string
	img   *image.NRGBA
	truth []bool
}

func realPhotos(t *testing.T) []realPhoto {
	var out []realPhoto
	for _, set := range dataset.PhotoSetsForTest {
		for i := 1; ; i++ {
			name := fmt.Sprintf("%s-%d", set, i)
			if _, err := os.Stat(filepath.Join("testdata", "photos", name+".jpg")); err != nil {
				break
			}
			out = append(out, realPhoto{name, dataset.ToNRGBAForTest(dataset.ReadTestPhotoForTest(t, name+".jpg")),
				dataset.MaskFromImageForTest(dataset.ReadTestPhotoForTest(t, name+"-mask.png"))})
		}
	}
	if len(out) == 0 {
		t.Fatal("no photos")
	}
	return out
}

// TestSegmenterOnRealPhotos measures the shipped segmenter, which never
// saw a photograph, on the real photos (IoU of p ≥ ½ against the masks
// drawn by hand), beside two cheats that must do worse: an ellipse filling
// the middle of the picture (things are photographed near the middle),
// and the network's answer for the same photo with its 8×8 blocks
// shuffled (what it sees of colours without the picture's layout). Then
// the automatic cut with and without its prior.
func TestSegmenterOnRealPhotos(t *testing.T) {
	s, err := segmenterUnderTest()
	if err == segment.ErrNone {
		t.Skip("this build ships no segmenter")
	}
	if err != nil {
		t.Fatal(err)
	}
	photos := realPhotos(t)
	// CONCEPTSTUDIO_CUTOUT_GRID=FILE.png draws, a row a photo: the photo,
	// the mask drawn by hand, the network's p, the automatic cut, and the
	// cut without the network.
	gridPath := os.Getenv("CONCEPTSTUDIO_CUTOUT_GRID")
	const cell = 160
	grid := image.NewNRGBA(image.Rect(0, 0, 5*cell, len(photos)*cell))
	draw.Draw(grid, grid.Rect, image.NewUniform(color.NRGBA{90, 90, 90, 255}), image.Point{}, draw.Src)
	var net, ellipse, shuffled, cutWith, cutWithout float64
	rng := rand.New(rand.NewPCG(1, 2))
	iou := func(p []float32, truth []bool) float64 {
		m := make([]bool, len(p))
		for i, v := range p {
			m[i] = v >= 0.5
		}
		return dataset.MaskIoUForTest(m, truth)
	}
	for r, ph := range photos {
		W, H := ph.img.Rect.Dx(), ph.img.Rect.Dy()
		p, err := s.Predict(ph.img, W, H)
		if err != nil {
			t.Fatal(err)
		}
		a := iou(p, ph.truth)
		el := make([]bool, W*H)
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				u, v := (float64(x)+0.5)/float64(W)-0.5, (float64(y)+0.5)/float64(H)-0.5
				el[y*W+x] = u*u+v*v < 0.3*0.3 // 28% of the picture
			}
		}
		b := dataset.MaskIoUForTest(el, ph.truth)
		sh := shuffleBlocks(ph.img, 8, rng)
		ps, _ := s.Predict(sh, W, H)
		c := iou(ps, ph.truth)
		cw, cwo := 0.0, 0.0
		mw, err := dataset.AutoCutForTest(ph.img)
		if err == nil {
			cw = dataset.MaskIoUForTest(mw, ph.truth)
		}
		old := dataset.SetObjectPrior(nil)
		mwo, err := dataset.AutoCutForTest(ph.img)
		if err == nil {
			cwo = dataset.MaskIoUForTest(mwo, ph.truth)
		}
		dataset.SetObjectPrior(old)
		if gridPath != "" {
			drawRow(grid, r, cell, ph, p, mw, mwo)
		}
		t.Logf("%-11s network %.3f (middle ellipse %.3f, blocks shuffled %.3f); automatic cut %.3f (without the network %.3f)", ph.name, a, b, c, cw, cwo)
		net, ellipse, shuffled, cutWith, cutWithout = net+a, ellipse+b, shuffled+c, cutWith+cw, cutWithout+cwo
	}
	if gridPath != "" {
		if err := writePNG(gridPath, grid); err != nil {
			t.Error(err)
		}
	}
	n := float64(len(photos))
	net, ellipse, shuffled, cutWith, cutWithout = net/n, ellipse/n, shuffled/n, cutWith/n, cutWithout/n
	t.Logf("mean IoU of %d photos: network %.3f, middle ellipse %.3f, blocks shuffled %.3f; automatic cut %.3f, without the network %.3f", len(photos), net, ellipse, shuffled, cutWith, cutWithout)
	if net < ellipse+minNetOverEllipse || net < shuffled+minNetOverEllipse {
		t.Errorf("the network (%.3f) is not clearly better than its cheats (%.3f, %.3f)", net, ellipse, shuffled)
	}
	if cutWith < cutWithout+minCutGain {
		t.Errorf("the automatic cut with the network's prior (%.3f) is not better than without (%.3f) by %.2f", cutWith, cutWithout, minCutGain)
	}
}

// shuffleBlocks is img with its k×k blocks in random places.
func shuffleBlocks(img *image.NRGBA, k int, rng *rand.Rand) *image.NRGBA {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	bw, bh := W/k, H/k
	out := image.NewNRGBA(img.Rect)
	draw.Draw(out, out.Rect, img, img.Rect.Min, draw.Src)
	perm := rng.Perm(bw * bh)
	for i, j := range perm {
		sx, sy := (j%bw)*k, (j/bw)*k
		dx, dy := (i%bw)*k, (i/bw)*k
		draw.Draw(out, image.Rect(dx, dy, dx+k, dy+k), img, image.Pt(sx, sy), draw.Src)
	}
	return out
}

const (
	minNetOverEllipse = 0.05
	minCutGain        = 0.05
)

// drawRow draws row r of the grid: photo, hand-drawn mask, the network's
// p (grey), the cut with the network and without it (the photo where
// cut, dark grey elsewhere; all dark where refused).
func drawRow(grid *image.NRGBA, r, cell int, ph realPhoto, p []float32, with, without []bool) {
	W, H := ph.img.Rect.Dx(), ph.img.Rect.Dy()
	scale := float64(cell) / float64(max(W, H))
	cw, ch := int(float64(W)*scale), int(float64(H)*scale)
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			sx, sy := min(W-1, int(float64(x)/scale)), min(H-1, int(float64(y)/scale))
			i := sy*W + sx
			c := ph.img.NRGBAAt(sx, sy)
			dark := color.NRGBA{40, 40, 40, 255}
			grey := func(v uint8) color.NRGBA { return color.NRGBA{v, v, v, 255} }
			oy := r*cell + y
			grid.SetNRGBA(x, oy, c)
			if ph.truth[i] {
				grid.SetNRGBA(cell+x, oy, grey(255))
			} else {
				grid.SetNRGBA(cell+x, oy, grey(0))
			}
			grid.SetNRGBA(2*cell+x, oy, grey(uint8(p[i]*255)))
			for k, m := range [][]bool{with, without} {
				if m != nil && m[i] {
					grid.SetNRGBA((3+k)*cell+x, oy, c)
				} else {
					grid.SetNRGBA((3+k)*cell+x, oy, dark)
				}
			}
		}
	}
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
