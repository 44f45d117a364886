package app

import (
	"fmt"
	"image"
	"path/filepath"

	"golang.org/x/image/draw"

	"conceptstudio/engine/dataset"
	"conceptstudio/store"
)

// MinImageSide is the shortest side a training image may have: below it
// there is too little of the object to learn from.
const MinImageSide = 32

// ImageCheck is what CheckImages found about one dropped file.
type ImageCheck struct {
	Path string
	// Thumbnail is the image scaled to fit 128×128 (nil when it cannot be
	// read), for the sheet to show without decoding the file again.
	Thumbnail image.Image
	// Problem is why the file cannot train, in plain words ("" when it
	// can): it is not an image, it is too small, no object can be cut out
	// of it. Training refuses it.
	Problem string
	// Warning is what may make the concept worse, in plain words: a near
	// duplicate of another image, an object cut off at the edge.
	Warning string
}

// CheckImages checks every dropped file at once, as training would read
// it: readable as an image, big enough, with an object that can be cut
// out of it, and not a near duplicate of another.
func CheckImages(paths []string) []ImageCheck {
	out := make([]ImageCheck, len(paths))
	var loaded []store.LoadedImage
	var at []int
	for i, p := range paths {
		out[i].Path = p
		imgs, _, err := store.LoadImages([]string{p}, 1)
		if err != nil {
			out[i].Problem = Explain(err)
			continue
		}
		img := imgs[0].Image
		out[i].Thumbnail = thumbnail(img, 128)
		if b := img.Bounds(); b.Dx() < MinImageSide || b.Dy() < MinImageSide {
			out[i].Problem = fmt.Sprintf("%s is %d×%d pixels, too small to learn from; use one at least %d pixels on each side", filepath.Base(p), b.Dx(), b.Dy(), MinImageSide)
			continue
		}
		if _, box, err := dataset.ExtractObjectBox(img); err != nil {
			out[i].Problem = "no object could be cut out: " + Explain(err)
			continue
		} else if b := img.Bounds(); box.Min.X <= b.Min.X || box.Min.Y <= b.Min.Y || box.Max.X >= b.Max.X || box.Max.Y >= b.Max.Y {
			out[i].Warning = "the object touches the image's edge and may be cut off"
		}
		loaded = append(loaded, imgs[0])
		at = append(at, i)
	}
	index := map[string]int{}
	for k, l := range loaded {
		index[l.Path] = at[k]
	}
	for _, w := range store.NearDuplicates(loaded) {
		if len(w.Paths) == 2 {
			out[index[w.Paths[1]]].Warning = fmt.Sprintf("nearly the same as %s: a duplicate adds nothing and weighs that view twice", filepath.Base(w.Paths[0]))
		}
	}
	return out
}

// thumbnail scales img to fit side×side.
func thumbnail(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	if w >= h {
		w, h = side, max(1, h*side/w)
	} else {
		w, h = max(1, w*side/h), side
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	return dst
}
