package store

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // registers GIF with image.Decode (first frame)
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Caps on the images users bring in. Dimensions are checked from the
// file's header (image.DecodeConfig) before any pixel is decoded, so a
// small file claiming a huge image (a decompression bomb) costs nothing.
const (
	MaxImageSide      = 8192
	MaxImagePixels    = 50_000_000
	MaxImageFileBytes = 100 << 20
)

// NeutralBackground is the mid grey that Flatten composites transparent
// images on.
var NeutralBackground = color.NRGBA{R: 128, G: 128, B: 128, A: 255}

// nearDuplicateMAD is the mean absolute difference (0-255) of two 8×8
// grayscale thumbnails under which two images count as near-duplicates.
const nearDuplicateMAD = 6.0

// LoadedImage is an image read by LoadImages.
type LoadedImage struct {
	Path   string
	Format string      // "png", "jpeg", "gif", "bmp", "tiff" or "webp"
	Image  image.Image // alpha kept; see Flatten
}

// Warning is a problem worth telling the user that does not stop them.
type Warning struct {
	Paths   []string // the files concerned
	Message string   // one line
}

// DecodeImage decodes an image file's bytes: PNG (8/16-bit, palette,
// alpha), JPEG (baseline, progressive, CMYK; the EXIF orientation is
// applied), GIF (first frame), BMP, TIFF and WebP. Alpha is kept. It
// returns the format name. Refusals match ErrNotAnImage (empty, unknown
// format, damaged or truncated) or ErrImageTooLarge (over MaxImageSide or
// MaxImagePixels, checked before decoding).
func DecodeImage(data []byte) (img image.Image, format string, err error) {
	if len(data) == 0 {
		return nil, "", errorf(ErrNotAnImage, "the file is empty (0 bytes)")
	}
	if len(data) >= 12 && string(data[4:8]) == "ftyp" {
		return nil, "", errorf(ErrNotAnImage, "HEIC/AVIF images cannot be read; save it as JPEG or PNG")
	}
	cfg, format, err := decodeConfig(data)
	if errors.Is(err, image.ErrFormat) {
		return nil, "", errorf(ErrNotAnImage, "not an image Concept Studio can read (it reads PNG, JPEG, GIF, BMP, TIFF and WebP)")
	}
	if err != nil {
		return nil, "", errorf(ErrNotAnImage, "the %s image is damaged or truncated (%v)", formatName(format), err)
	}
	if err := checkDims(cfg.Width, cfg.Height); err != nil {
		return nil, "", err
	}
	img, err = decodePixels(data, format == "jpeg")
	if err != nil {
		return nil, "", errorf(ErrNotAnImage, "the %s image is damaged or truncated (%v)", formatName(format), err)
	}
	if b := img.Bounds(); checkDims(b.Dx(), b.Dy()) != nil || b.Dx()*b.Dy() != cfg.Width*cfg.Height {
		return nil, "", errorf(ErrNotAnImage, "the %s image is damaged: its header says %d×%d but it holds %d×%d", formatName(format), cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return img, format, nil
}

// decodeConfig reads the header, turning a decoder panic into an error.
func decodeConfig(data []byte) (cfg image.Config, format string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the decoder failed: %v", r)
		}
	}()
	return image.DecodeConfig(bytes.NewReader(data))
}

// decodePixels decodes the image (applying a JPEG's EXIF orientation),
// turning a decoder panic into an error.
func decodePixels(data []byte, orient bool) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("the decoder failed: %v", r)
		}
	}()
	return imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(orient))
}

// formatName is how users spell an image format.
func formatName(f string) string {
	if n, ok := map[string]string{"webp": "WebP", "jpeg": "JPEG"}[f]; ok {
		return n
	}
	return strings.ToUpper(f)
}

func checkDims(w, h int) error {
	switch {
	case w <= 0 || h <= 0:
		return errorf(ErrNotAnImage, "the image has no pixels (%d×%d)", w, h)
	case w > MaxImageSide || h > MaxImageSide || int64(w)*int64(h) > MaxImagePixels:
		return errorf(ErrImageTooLarge, "the image is %d×%d pixels; the limit is %d on a side and %d megapixels",
			w, h, MaxImageSide, MaxImagePixels/1_000_000)
	}
	return nil
}

// LoadImage reads an image file (see DecodeImage), keeping its alpha.
// Errors name the file.
func LoadImage(path string) (image.Image, error) {
	img, _, err := loadImage(path)
	return img, err
}

func loadImage(path string) (image.Image, string, error) {
	base := filepath.Base(path)
	if st, err := os.Stat(path); err == nil && st.Size() > MaxImageFileBytes {
		return nil, "", errorf(ErrImageTooLarge, "%s is %d MB; images over %d MB are refused", base, st.Size()>>20, MaxImageFileBytes>>20)
	}
	data, err := readInputFile(path, MaxImageFileBytes, ErrNotAnImage, "an image")
	if err != nil {
		return nil, "", err
	}
	img, format, err := DecodeImage(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", base, err)
	}
	return img, format, nil
}

// LoadErrors collects the files LoadImages could not use, one error each.
// Its message is the first error, and how many more there are.
type LoadErrors struct {
	Errs []error
}

func (e *LoadErrors) Error() string {
	if len(e.Errs) == 1 {
		return e.Errs[0].Error()
	}
	return fmt.Sprintf("%s (and %d more files cannot be used)", e.Errs[0], len(e.Errs)-1)
}

// Unwrap returns every file's error, for errors.Is and errors.As.
func (e *LoadErrors) Unwrap() []error { return e.Errs }

// LoadImages reads the images for training a concept. Fewer than minCount
// paths fail with ErrTooFewImages; files that cannot be used fail with a
// *LoadErrors naming each (matching ErrNotAnImage or ErrImageTooLarge).
// Near-duplicate images come back as warnings. Nothing is written.
func LoadImages(paths []string, minCount int) ([]LoadedImage, []Warning, error) {
	if len(paths) < minCount {
		return nil, nil, errorf(ErrTooFewImages, "at least %d images are needed, and %d %s given", minCount, len(paths), plural(len(paths), "was", "were"))
	}
	var (
		out  []LoadedImage
		errs []error
	)
	for _, p := range paths {
		img, format, err := loadImage(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, LoadedImage{Path: p, Format: format, Image: img})
	}
	if len(errs) > 0 {
		return nil, nil, &LoadErrors{Errs: errs}
	}
	return out, NearDuplicates(out), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// NearDuplicates warns about pairs of images that look almost the same:
// their 8×8 grayscale thumbnails (on the neutral background) differ by
// less than a small mean difference.
func NearDuplicates(imgs []LoadedImage) []Warning {
	thumbs := make([][64]float64, len(imgs))
	for i, im := range imgs {
		thumbs[i] = thumb8(im.Image)
	}
	var out []Warning
	for i := range imgs {
		for j := i + 1; j < len(imgs); j++ {
			var d float64
			for k := range thumbs[i] {
				d += abs(thumbs[i][k] - thumbs[j][k])
			}
			if d/64 < nearDuplicateMAD {
				out = append(out, Warning{
					Paths: []string{imgs[i].Path, imgs[j].Path},
					Message: fmt.Sprintf("%s and %s look almost the same; varied images teach the concept better",
						filepath.Base(imgs[i].Path), filepath.Base(imgs[j].Path)),
				})
			}
		}
	}
	return out
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// thumb8 is the 8×8 grayscale (0-255) thumbnail of img on the neutral
// background.
func thumb8(img image.Image) [64]float64 {
	small := imaging.Resize(Flatten(img, NeutralBackground), 8, 8, imaging.Box)
	var t [64]float64
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			i := small.PixOffset(x, y)
			p := small.Pix[i : i+3 : i+3]
			t[y*8+x] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		}
	}
	return t
}

// Flatten composites img over an opaque background colour bg (use
// NeutralBackground unless the caller has a reason not to) and returns an
// opaque copy. LoadImage keeps alpha; call this only when the alpha is not
// needed (object extraction needs it).
func Flatten(img image.Image, bg color.Color) *image.NRGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	r, g, bl, _ := bg.RGBA()
	draw.Draw(dst, dst.Rect, image.NewUniform(color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Over)
	return &image.NRGBA{Pix: dst.Pix, Stride: dst.Stride, Rect: dst.Rect}
}
