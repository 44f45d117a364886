package app

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/image/draw"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
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
	// Cutout is what training will learn from: the object cut out of the
	// image, over a checkerboard, scaled to fit 128×128 (nil when no
	// object could be cut out).
	Cutout image.Image
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
// out of it (by itself, or with the thing's colours in the other images,
// as training cuts them: dataset.ExtractObjects), and not a near
// duplicate of another.
func CheckImages(paths []string) []ImageCheck {
	return checkImages(paths, runtime.NumCPU())
}

// checkImages is CheckImages with each file's own checks (reading, size,
// the cut-out) run on up to workers goroutines: the answers are the same
// in the same order, however many.
func checkImages(paths []string, workers int) []ImageCheck {
	out := make([]ImageCheck, len(paths))
	own := make([]*store.LoadedImage, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, len(paths))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], own[i] = readImage(paths[i])
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	var readable []image.Image
	var at []int
	for i, l := range own {
		if l != nil {
			readable = append(readable, l.Image)
			at = append(at, i)
		}
	}
	for k, cut := range dataset.ExtractObjects(readable, workers) {
		i := at[k]
		if !judgeCut(&out[i], own[i].Image, cut) {
			own[i] = nil
		}
	}
	var loaded []store.LoadedImage
	at = at[:0]
	for i, l := range own {
		if l != nil {
			loaded = append(loaded, *l)
			at = append(at, i)
		}
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
	for k, other := range differentObjects(loaded) {
		if i := at[k]; other >= 0 && out[i].Warning == "" {
			out[i].Warning = fmt.Sprintf("looks like another object than %s: a concept learns one thing, and images of two things teach a mix of both", filepath.Base(loaded[other].Path))
		}
	}
	if len(loaded) == 1 && len(paths) == 1 && out[at[0]].Warning == "" {
		out[at[0]].Warning = "one image: the concept will copy this one view closely; 3-5 images from different sides make it recognisable in new scenes"
	}
	return out
}

// readImage is one file's own checks before the cut: readable as an
// image and big enough; the image, when it is.
func readImage(p string) (ImageCheck, *store.LoadedImage) {
	c := ImageCheck{Path: p}
	imgs, _, err := store.LoadImages([]string{p}, 1)
	if err != nil {
		c.Problem = Explain(err)
		return c, nil
	}
	img := imgs[0].Image
	c.Thumbnail = thumbnail(img, 128)
	if b := img.Bounds(); b.Dx() < MinImageSide || b.Dy() < MinImageSide {
		c.Problem = fmt.Sprintf("%s is %d×%d pixels, too small to learn from; use one at least %d pixels on each side", filepath.Base(p), b.Dx(), b.Dy(), MinImageSide)
		return c, nil
	}
	return c, &imgs[0]
}

// judgeCut fills in what the cut-out of img says (its picture, a problem
// or a warning) and reports whether the image can train.
func judgeCut(c *ImageCheck, img image.Image, cut dataset.Cut) bool {
	if cut.Err != nil {
		if nothingToCut(cut.Err) {
			// The way out is the button under the picture.
			c.Problem = "nothing stands out from this photo's background to cut out by itself: use Adjust… and drag a box around the thing"
		} else {
			c.Problem = "no object could be cut out: " + Explain(cut.Err)
		}
		return false
	}
	c.Cutout = overCheckerboard(thumbnail(cut.Image, 128))
	if share := opaqueShare(cut.Image, img.Bounds()); share < minObjectShare {
		c.Warning = fmt.Sprintf("the object found covers only %.1f%% of the image: check the cut-out, it may be a detail, not the whole thing; if so, mark the thing with Adjust…, or use a photo with the whole thing clear of its surroundings", 100*share)
	} else if cut.FromSet {
		c.Warning = "nothing stood out by itself: cut out with the thing's colours from your other images — check it, or use Adjust…"
	} else if b := img.Bounds(); (cut.Box.Min.X <= b.Min.X || cut.Box.Min.Y <= b.Min.Y || cut.Box.Max.X >= b.Max.X || cut.Box.Max.Y >= b.Max.Y) && opaqueAtEdge(img) {
		c.Warning = "the object touches the image's edge and may be cut off"
	}
	return true
}

// sameObject is the colour-blind judge's feature similarity (cosine)
// above which two images show one object. On the example concepts, images
// of one object are 0.67-0.85 alike on average and of two objects −0.09 to
// 0.31 (TestDifferentObjectsAreFlagged).
const sameObject = 0.45

// differentObjects groups images by the judge's feature similarity (a pair
// at or above sameObject is one object) and, for each image outside the
// largest group (the first image's among equals), returns the index of an
// image of that group; −1 for images in it. Fewer than two images, or a
// judge that cannot load, flag nothing.
func differentObjects(imgs []store.LoadedImage) []int {
	out := make([]int, len(imgs))
	for i := range out {
		out[i] = -1
	}
	if len(imgs) < 2 {
		return out
	}
	judge, err := eval.LoadJudge()
	if err != nil {
		return out
	}
	defer judge.Close()
	var views []image.Image
	for _, l := range imgs {
		views = append(views, l.Image)
	}
	f, err := judge.Features(views)
	if err != nil {
		return out
	}
	group := make([]int, len(imgs))
	for i := range group {
		group[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if group[i] != i {
			group[i] = find(group[i])
		}
		return group[i]
	}
	for i := range imgs {
		for j := i + 1; j < len(imgs); j++ {
			if eval.Identity(f[i:i+1], f[j:j+1]) >= sameObject {
				group[find(j)] = find(i)
			}
		}
	}
	size := map[int]int{}
	for i := range imgs {
		size[find(i)]++
	}
	main := find(0)
	for i := range imgs {
		if size[find(i)] > size[main] {
			main = find(i)
		}
	}
	for i := range imgs {
		if find(i) != main {
			for j := range imgs {
				if find(j) == main {
					out[i] = j
					break
				}
			}
		}
	}
	return out
}

// minObjectShare is the least share of an image the cut-out object should
// cover: below it the cut is likely a detail (the cat whose fur was
// taken for background: a real close-up of a cat is cut to one eye, 2.4%
// of the picture; the example photos' objects cover 15-35%).
const minObjectShare = 0.05

// opaqueShare is the share of the image (bounds b, before any reduction
// the extraction made) that the cut-out's opaque pixels cover.
func opaqueShare(cut *image.NRGBA, b image.Rectangle) float64 {
	n := 0
	for i := 3; i < len(cut.Pix); i += 4 {
		if cut.Pix[i] >= 128 {
			n++
		}
	}
	// The cut-out is at the extraction's size: at most dataset.MaxExtractSide.
	scale := 1.0
	if s := max(b.Dx(), b.Dy()); s > dataset.MaxExtractSide {
		scale = float64(s) / dataset.MaxExtractSide
	}
	return float64(n) * scale * scale / float64(b.Dx()*b.Dy())
}

// opaqueAtEdge reports whether any pixel on the image's border is mostly
// opaque: a cut-out with transparency (cropped close, as the cut-out
// editor saves them) has its object near the edge without being cut off.
func opaqueAtEdge(img image.Image) bool {
	b := img.Bounds()
	for x := b.Min.X; x < b.Max.X; x++ {
		for _, y := range []int{b.Min.Y, b.Max.Y - 1} {
			if _, _, _, a := img.At(x, y).RGBA(); a >= 0x8000 {
				return true
			}
		}
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for _, x := range []int{b.Min.X, b.Max.X - 1} {
			if _, _, _, a := img.At(x, y).RGBA(); a >= 0x8000 {
				return true
			}
		}
	}
	return false
}

// overCheckerboard draws an image with transparency over a grey
// checkerboard (8-pixel squares), as image editors show a cut-out.
func overCheckerboard(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			bg := 0xcc
			if (x/8+y/8)%2 == 0 {
				bg = 0xf2
			}
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			a := int(c.A)
			mix := func(v uint8) uint8 { return uint8((int(v)*a + bg*(255-a)) / 255) }
			out.SetNRGBA(x, y, color.NRGBA{mix(c.R), mix(c.G), mix(c.B), 255})
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

// nothingToCut reports whether err says no object could be told from its
// photo's background (the way out is a box drawn in the cut-out editor).
func nothingToCut(err error) bool {
	return errors.Is(err, dataset.ErrBusyBackground) || errors.Is(err, dataset.ErrNoObject)
}
