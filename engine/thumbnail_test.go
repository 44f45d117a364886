package engine

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"conceptstudio/engine/dataset"
)

// TestThumbnailIsSmallAndFaithful: the thumbnail of a real example photo
// fits 32×32, stays under 2.5 KB (a TI concept file must stay within 4 KB
// with it), keeps the cut-out's transparency, and its colours stay close
// to the source's.
func TestThumbnailIsSmallAndFaithful(t *testing.T) {
	src, err := loadTestPNG("../examples/teddy/1.png")
	if err != nil {
		t.Fatal(err)
	}
	// a cut-out: transparent left third
	cut := imaging.Clone(src)
	b := cut.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Min.X+b.Dx()/3; x++ {
			cut.Set(x, y, image.Transparent)
		}
	}
	data, err := thumbnailPNG(cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 2500 {
		t.Errorf("thumbnail is %d bytes, want ≤ 2500", len(data))
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tb := img.Bounds()
	if max(tb.Dx(), tb.Dy()) != thumbSide {
		t.Fatalf("thumbnail %v, want its longer side %d", tb, thumbSide)
	}
	if _, _, _, a := img.At(1, tb.Dy()/2).RGBA(); a != 0 {
		t.Errorf("the transparent part came out with alpha %d", a)
	}
	ref := imaging.Fit(cut, thumbSide, thumbSide, imaging.Lanczos)
	var diff float64
	var n int
	for y := 0; y < tb.Dy(); y++ {
		for x := tb.Dx() / 2; x < tb.Dx(); x++ {
			r0, g0, b0, _ := img.At(x, y).RGBA()
			c := ref.NRGBAAt(x, y)
			diff += math.Abs(float64(r0>>8)-float64(c.R)) + math.Abs(float64(g0>>8)-float64(c.G)) + math.Abs(float64(b0>>8)-float64(c.B))
			n += 3
		}
	}
	if mean := diff / float64(n); mean > 6 {
		t.Errorf("thumbnail colours differ from the source by %.1f/255 on average", mean)
	} else {
		t.Logf("%d bytes, mean colour error %.2f/255", len(data), mean)
	}
}

// TestReferenceCutoutIsTheTypicalOne: among a teapot's cut-out and four
// teddy bears' the concept keeps a teddy bear as its picture, though the
// teapot came first; two cut-outs keep the first.
func TestReferenceCutoutIsTheTypicalOne(t *testing.T) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	var imgs []image.Image
	for _, p := range []string{"teapot/1", "teddy/1", "teddy/2", "teddy/3", "teddy/4"} {
		img, err := loadTestPNG(filepath.Join("..", "examples", p+".png"))
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	cs, err := dataset.NewConceptSet(atlas, "mix", "teddy bear", imgs)
	if err != nil {
		t.Fatal(err)
	}
	if got := referenceCutout(cs.Cutouts); got == 0 {
		t.Error("the teapot, unlike the four others, was kept as the concept's picture")
	}
	if got := referenceCutout(cs.Cutouts[:2]); got != 0 {
		t.Errorf("of two cut-outs the %d-th was kept, want the first", got)
	}
}
