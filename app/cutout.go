package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/safefile"
	"conceptstudio/store"
)

// CutOutHints are a person's corrections to an image's cut-out, in
// fractions of the image's width and height (so the window can draw them
// at any size): the object lies inside Box (x, y, w, h; zero: anywhere),
// the brush strokes' points Keep (object) and Remove (background), with
// Radius the brush's radius as a fraction of the image's longer side.
type CutOutHints struct {
	Box          [4]float64
	Keep, Remove [][2]float64
	Radius       float64
	// KeepRadius and RemoveRadius, where given, are each point's own
	// brush radius (fractions too; points beyond them use Radius).
	KeepRadius, RemoveRadius []float64
}

// Empty reports whether the hints mark nothing.
func (h CutOutHints) Empty() bool {
	return h.Box[2] <= 0 && h.Box[3] <= 0 && len(h.Keep) == 0 && len(h.Remove) == 0
}

// CutOut cuts the object out of the image at path as the hints mark it
// (GrabCut steered by them, whatever the background): the cut-out, with
// transparency, and the sheet's preview of it (over a checkerboard, fit
// to 128×128).
func CutOut(path string, h CutOutHints) (cut, preview image.Image, err error) {
	img, err := loadForCut(path)
	if err != nil {
		return nil, nil, err
	}
	b := img.Bounds()
	W, H := float64(b.Dx()), float64(b.Dy())
	pt := func(p [2]float64) image.Point {
		return image.Pt(b.Min.X+int(p[0]*W), b.Min.Y+int(p[1]*H))
	}
	hints := dataset.Hints{Radius: max(1, int(h.Radius*max(W, H)))}
	if h.Box[2] > 0 && h.Box[3] > 0 {
		hints.Box = image.Rectangle{Min: pt([2]float64{h.Box[0], h.Box[1]}), Max: pt([2]float64{h.Box[0] + h.Box[2], h.Box[1] + h.Box[3]})}.Intersect(b)
	}
	for _, p := range h.Keep {
		hints.Keep = append(hints.Keep, pt(p))
	}
	for _, p := range h.Remove {
		hints.Remove = append(hints.Remove, pt(p))
	}
	px := func(rs []float64) (out []int) {
		for _, r := range rs {
			out = append(out, max(1, int(r*max(W, H))))
		}
		return out
	}
	hints.KeepRadius, hints.RemoveRadius = px(h.KeepRadius), px(h.RemoveRadius)
	c, err := dataset.ExtractObjectHinted(img, hints)
	if err != nil {
		return nil, nil, fmt.Errorf("%s", Explain(err))
	}
	return c, overCheckerboard(thumbnail(c, 128)), nil
}

// CutOutDir is where corrected cut-outs are kept until training copies
// them: the user's cache folder.
func CutOutDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "conceptstudio", "cutouts")
}

// SaveCutOut writes a corrected cut-out as a PNG with transparency in
// dir (made if need be), named after the original image and its pixels,
// and returns its path; the same cut-out saved twice is one file.
func SaveCutOut(cut image.Image, original, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the folder %s for cut-outs: %w", dir, err)
	}
	var buf strings.Builder
	if err := png.Encode(&buf, cut); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(buf.String()))
	stem := strings.TrimSuffix(filepath.Base(original), filepath.Ext(original))
	path := filepath.Join(dir, fmt.Sprintf("%s-cutout-%s.png", Slug(stem), hex.EncodeToString(sum[:4])))
	err := safefile.Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, buf.String())
		return err
	})
	return path, err
}

// LoadPicture reads an image as training would (orientation applied),
// scaled to fit side×side, for the window to draw marks on.
func LoadPicture(path string, side int) (image.Image, error) {
	img, err := loadForCut(path)
	if err != nil {
		return nil, fmt.Errorf("%s", Explain(err))
	}
	return thumbnail(img, side), nil
}

// lastCut keeps the picture the cut-out editor works on, decoded once:
// the editor asks for a new cut-out after every drag, of the same file.
var lastCut struct {
	sync.Mutex
	path    string
	size    int64
	modTime time.Time
	img     image.Image
}

// loadForCut reads an image as training would (store.LoadImages), or
// returns the one read last when the file is unchanged (same path, size
// and modification time).
func loadForCut(path string) (image.Image, error) {
	st, statErr := os.Stat(path)
	lastCut.Lock()
	defer lastCut.Unlock()
	if statErr == nil && lastCut.img != nil && lastCut.path == path && lastCut.size == st.Size() && lastCut.modTime.Equal(st.ModTime()) {
		return lastCut.img, nil
	}
	imgs, _, err := store.LoadImages([]string{path}, 1)
	if err != nil {
		return nil, err
	}
	img := imgs[0].Image
	if statErr != nil {
		lastCut.img = nil // nothing to tell a changed file by: keep no copy
		return img, nil
	}
	lastCut.path, lastCut.size, lastCut.modTime, lastCut.img = path, st.Size(), st.ModTime(), img
	return img, nil
}
