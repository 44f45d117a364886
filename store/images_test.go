package store

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// near reports whether two 8-bit channel values are within tol.
func near(a, b uint8, tol int) bool {
	d := int(a) - int(b)
	return d <= tol && d >= -tol
}

func rgba8(c color.Color) (r, g, b, a uint8) {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return n.R, n.G, n.B, n.A
}

func encoded(t *testing.T, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeImageFormats(t *testing.T) {
	red := color.NRGBA{200, 30, 40, 255}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 16, 8))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = []uint8{200, 30, 40, 255}[i%4]
	}
	half := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range half.Pix {
		half.Pix[i] = []uint8{10, 20, 250, 100}[i%4]
	}
	deep := image.NewNRGBA64(image.Rect(0, 0, 4, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			deep.Set(x, y, color.NRGBA64{0xc8c8, 0x1e1e, 0x2828, 0xffff})
		}
	}
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.NRGBA{0, 0, 0, 0}, red})
	for i := range pal.Pix {
		pal.Pix[i] = 1
	}
	pal.Pix[0] = 0
	frame2 := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	for i := range frame2.Pix {
		frame2.Pix[i] = 1
	}
	cases := []struct {
		name, format string
		data         []byte
		w, h         int
		at           image.Point
		want         color.NRGBA
		tol          int
	}{
		{"png 8-bit", "png", encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, nrgba) }), 16, 8, image.Pt(3, 3), red, 0},
		{"png 16-bit", "png", encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, deep) }), 4, 4, image.Pt(1, 1), red, 0},
		{"png alpha kept", "png", encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, half) }), 4, 4, image.Pt(0, 0), color.NRGBA{10, 20, 250, 100}, 0},
		{"png palette", "png", encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, pal) }), 4, 4, image.Pt(2, 2), red, 0},
		{"png palette transparent", "png", encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, pal) }), 4, 4, image.Pt(0, 0), color.NRGBA{0, 0, 0, 0}, 0},
		{"jpeg baseline", "jpeg", encoded(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, nrgba, &jpeg.Options{Quality: 95}) }), 16, 8, image.Pt(8, 4), red, 12},
		{"jpeg progressive", "jpeg", jpegFlat(16, 8, []uint8{76, 85, 255}, true), 16, 8, image.Pt(5, 5), color.NRGBA{254, 0, 0, 255}, 6},
		{"jpeg gray", "jpeg", jpegFlat(9, 9, []uint8{77}, false), 9, 9, image.Pt(8, 8), color.NRGBA{77, 77, 77, 255}, 2},
		// Adobe CMYK is stored inverted: C=0, M=255, Y=255, K=0 (red).
		{"jpeg cmyk", "jpeg", jpegFlat(8, 8, []uint8{255, 0, 0, 255}, false), 8, 8, image.Pt(4, 4), color.NRGBA{255, 0, 0, 255}, 4},
		{"jpeg cmyk progressive", "jpeg", jpegFlat(8, 16, []uint8{255, 0, 0, 255}, true), 8, 16, image.Pt(4, 12), color.NRGBA{255, 0, 0, 255}, 4},
		{"gif first frame", "gif", encoded(t, func(b *bytes.Buffer) error {
			return gif.EncodeAll(b, &gif.GIF{Image: []*image.Paletted{pal, frame2}, Delay: []int{10, 10}})
		}), 4, 4, image.Pt(3, 3), red, 0},
		{"bmp", "bmp", encoded(t, func(b *bytes.Buffer) error { return bmp.Encode(b, nrgba) }), 16, 8, image.Pt(15, 7), red, 0},
		{"tiff", "tiff", encoded(t, func(b *bytes.Buffer) error { return tiff.Encode(b, half, &tiff.Options{Compression: tiff.Deflate}) }), 4, 4, image.Pt(3, 3), color.NRGBA{10, 20, 250, 100}, 0},
		{"webp lossless with alpha", "webp", webpLossless(5, 3, 200, 30, 40, 128), 5, 3, image.Pt(4, 2), color.NRGBA{200, 30, 40, 128}, 0},
	}
	for _, c := range cases {
		img, format, err := DecodeImage(c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if format != c.format || img.Bounds().Dx() != c.w || img.Bounds().Dy() != c.h {
			t.Errorf("%s: %s %v, want %s %dx%d", c.name, format, img.Bounds(), c.format, c.w, c.h)
			continue
		}
		r, g, b, a := rgba8(img.At(img.Bounds().Min.X+c.at.X, img.Bounds().Min.Y+c.at.Y))
		if !near(r, c.want.R, c.tol) || !near(g, c.want.G, c.tol) || !near(b, c.want.B, c.tol) || a != c.want.A {
			t.Errorf("%s: pixel %v = (%d %d %d %d), want %v ±%d", c.name, c.at, r, g, b, a, c.want, c.tol)
		}
	}
}

func TestJPEGExifOrientation(t *testing.T) {
	// 16×8, red block in the top-left corner, rest white.
	src := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			c := color.RGBA{255, 255, 255, 255}
			if x < 4 && y < 4 {
				c = color.RGBA{255, 0, 0, 255}
			}
			src.Set(x, y, c)
		}
	}
	plain := encoded(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 100}) })
	isRed := func(c color.Color) bool { r, g, _, _ := rgba8(c); return r > 200 && g < 80 }
	for _, tc := range []struct {
		orientation uint16
		w, h        int
		redAt       image.Point // a point inside the red block after orientation
	}{
		{1, 16, 8, image.Pt(1, 1)},
		{3, 16, 8, image.Pt(14, 6)}, // rotated 180°
		{6, 8, 16, image.Pt(6, 1)},  // rotate 90° clockwise: top-left → top-right
		{8, 8, 16, image.Pt(1, 14)}, // rotate 90° counter-clockwise: top-left → bottom-left
	} {
		img, _, err := DecodeImage(withExifOrientation(plain, tc.orientation))
		if err != nil {
			t.Fatalf("orientation %d: %v", tc.orientation, err)
		}
		b := img.Bounds()
		if b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("orientation %d: size %v, want %dx%d", tc.orientation, b, tc.w, tc.h)
			continue
		}
		if !isRed(img.At(b.Min.X+tc.redAt.X, b.Min.Y+tc.redAt.Y)) {
			t.Errorf("orientation %d: the red corner is not at %v", tc.orientation, tc.redAt)
		}
	}
}

func TestFlattenOnlyWhenAsked(t *testing.T) {
	img := image.NewNRGBA(image.Rect(2, 3, 4, 5)) // fully transparent, offset bounds
	img.SetNRGBA(3, 4, color.NRGBA{255, 0, 0, 255})
	data := encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, img) })
	path := writeFile(t, t.TempDir(), "cut.png", data)
	got, err := LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := rgba8(got.At(got.Bounds().Min.X, got.Bounds().Min.Y)); a != 0 {
		t.Fatal("LoadImage must keep alpha")
	}
	flat := Flatten(got, NeutralBackground)
	if r, g, b, a := rgba8(flat.At(0, 0)); r != 128 || g != 128 || b != 128 || a != 255 {
		t.Fatalf("transparent pixel on neutral: %d %d %d %d", r, g, b, a)
	}
	if r, g, b, a := rgba8(flat.At(1, 1)); r != 255 || g != 0 || b != 0 || a != 255 {
		t.Fatalf("opaque pixel: %d %d %d %d", r, g, b, a)
	}
}

func pngOf(t *testing.T, img image.Image) []byte {
	return encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, img) })
}

func TestLoadImagesWarnsAboutNearDuplicates(t *testing.T) {
	dir := t.TempDir()
	grad := func(shift int, flip bool) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				v := x * 4
				if flip {
					v = 255 - y*4
				}
				img.SetNRGBA(x, y, color.NRGBA{uint8(min(255, v+shift)), uint8(v / 2), 40, 255})
			}
		}
		return img
	}
	a := writeFile(t, dir, "a.png", pngOf(t, grad(0, false)))
	b := writeFile(t, dir, "b.jpg", encoded(t, func(w *bytes.Buffer) error { return jpeg.Encode(w, grad(2, false), nil) }))
	c := writeFile(t, dir, "c.png", pngOf(t, grad(0, true)))
	imgs, warns, err := LoadImages([]string{a, b, c}, 3)
	if err != nil || len(imgs) != 3 {
		t.Fatalf("%v %v", imgs, err)
	}
	if imgs[1].Format != "jpeg" || imgs[1].Path != b {
		t.Fatalf("loaded %+v", imgs[1])
	}
	if len(warns) != 1 || !reflect2(warns[0].Paths, []string{a, b}) || !strings.Contains(warns[0].Message, "a.png and b.jpg") {
		t.Fatalf("want one warning about a.png and b.jpg, got %+v", warns)
	}
	_, _, err = LoadImages([]string{a, c}, 3)
	if !errors.Is(err, ErrTooFewImages) || !strings.Contains(err.Error(), "at least 3") {
		t.Fatalf("two images for three: %v", err)
	}
	bad := writeFile(t, dir, "notes.png", []byte("hello"))
	empty := writeFile(t, dir, "empty.jpg", nil)
	_, _, err = LoadImages([]string{a, bad, c, empty}, 3)
	var le *LoadErrors
	if !errors.As(err, &le) || len(le.Errs) != 2 || !errors.Is(err, ErrNotAnImage) ||
		!strings.Contains(err.Error(), "notes.png") || !strings.Contains(err.Error(), "1 more") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("bad files: %v", err)
	}
}

func reflect2(a, b []string) bool {
	return len(a) == len(b) && strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestImageCapsAreCheckedBeforeDecoding(t *testing.T) {
	for _, dims := range [][2]uint32{{100000, 100000}, {MaxImageSide + 1, 1}, {1, MaxImageSide + 1}, {8000, 8000}} {
		_, _, err := DecodeImage(pngHeaderOnly(dims[0], dims[1]))
		if !errors.Is(err, ErrImageTooLarge) {
			t.Errorf("%v: want ErrImageTooLarge, got %v", dims, err)
		}
	}
	// At the cap the header passes, and the (empty) data is what fails.
	_, _, err := DecodeImage(pngHeaderOnly(MaxImageSide, 16))
	if !errors.Is(err, ErrNotAnImage) {
		t.Errorf("at the cap: want the truncated-data error, got %v", err)
	}
}
