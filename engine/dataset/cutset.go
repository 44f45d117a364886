package dataset

import (
	"errors"
	"image"
	"math"
	"runtime"
	"sync"
)

// A person gives several photos of one thing. Where a photo's thing does
// not stand out by itself (a white bird's face filling the frame in front
// of a white wall), the other photos say what its colours are: the cut of
// that photo weighs, beside its own colour models, how much likelier each
// pixel's colour is under the thing's colours in the others' cuts than
// under their surroundings' (setColours.prior). Only photos refused by
// themselves are cut again so, and only from photos that were cut by
// themselves: a photo that stands out is cut as before, and the answer
// does not depend on the photos' order.
//
// Measured on the 15 real photos (TestCutOutOfRealPhotoSets, each set's
// five photos together, 2026-12-08): the automatic mean IoU 0.510 →
// 0.587. Of the bird's two close-ups refused by themselves one is cut at
// 0.865, the other at 0.301 (its thing and wall share their white); the
// frog among books is unchanged (no photo of it is refused: its books
// are in every cut). The weight, with every photo of the sets cut so
// (each from the others): 0.5 0.574, 1 0.597, 2 0.586; the cuts that
// had stood out by themselves moved by −0.01 to +0.02 then, so they are
// left as they are. Bare 200-pixel crops of the same rooms (no part of
// the thing): the cut by itself refuses only one of them (the others
// hold things of their own: a window, a shelf, a beam), and the frog's
// colours cut that one (a bookshelf with the frog's green) — what the
// sheet's mark asks a person to look at.
const (
	setWeight = 1.0 // nats per nat of the log-likelihood ratio
	setClip   = 4.0 // the ratio is clipped to ±setClip before weighing
	// setMinPixels: each side's samples (at the cut's scale) needed to
	// learn its colours.
	setMinPixels = 64
	// setMinMargin: a cut made so is kept only if its pixels are on
	// average likelier the set's thing's colours than its surroundings'
	// by more than this (setColours.explains). The two close-ups cut so
	// score 0.78 (IoU 0.86) and 1.00 (0.30), so the margin does not tell
	// a good cut from a poor one; the sheet asks for a look instead.
	setMinMargin = 0.0
)

// setColours are the colours of a thing and of its surroundings in a
// set's photos, as Gaussian mixtures over RGB at the cut's scale.
type setColours struct{ object, background *gmm }

// prior is how many nats more likely a pixel of colour z is the thing's
// than its surroundings', weighed and clipped.
func (s *setColours) prior(z [3]float64) float64 {
	d := s.object.logLikelihood(z) - s.background.logLikelihood(z)
	return setWeight * min(setClip, max(-setClip, d))
}

// explains is the mean of prior over ex's object pixels (at the cut's
// scale): how much more the thing cut looks like the set's thing than
// like the set's surroundings.
func (s *setColours) explains(ex extraction) float64 {
	var sum float64
	n := 0
	atCutScale(ex, func(z [3]float64, in bool) {
		if in {
			sum += s.prior(z)
			n++
		}
	})
	if n == 0 {
		return math.Inf(-1)
	}
	return sum / float64(n)
}

// learnSetColours learns the colours from the cuts (at least one object
// and one background pixel each; cut-outs with transparency give only
// the thing's colours), or returns nil when they hold too few pixels.
func learnSetColours(cuts []extraction) *setColours {
	var obj, bg [][3]float64
	for _, ex := range cuts {
		atCutScale(ex, func(z [3]float64, in bool) {
			if in {
				obj = append(obj, z)
			} else if !ex.usedAlpha {
				bg = append(bg, z)
			}
		})
	}
	if len(obj) < setMinPixels || len(bg) < setMinPixels {
		return nil
	}
	return &setColours{object: fitGMM(obj, grabCutComponents), background: fitGMM(bg, grabCutComponents)}
}

// atCutScale calls f for each pixel of ex's image as the cut sees it
// (cutScale), with its colour and whether ex's mask holds it (p ≥ ½ at
// the pixel's centre); nothing for an extraction without its image.
func atCutScale(ex extraction, f func(z [3]float64, in bool)) {
	if ex.src == nil || len(ex.mask) != ex.src.Rect.Dx()*ex.src.Rect.Dy() {
		return
	}
	W, H := ex.src.Rect.Dx(), ex.src.Rect.Dy()
	small := cutScale(ex.src)
	w, h := small.Rect.Dx(), small.Rect.Dy()
	for y := 0; y < h; y++ {
		sy := min(H-1, int((float64(y)+0.5)*float64(H)/float64(h)))
		for x := 0; x < w; x++ {
			sx := min(W-1, int((float64(x)+0.5)*float64(W)/float64(w)))
			p := small.Pix[small.PixOffset(x, y):]
			f([3]float64{float64(p[0]), float64(p[1]), float64(p[2])}, ex.mask[sy*W+sx] >= 0.5)
		}
	}
}

// extractSet cuts the thing out of each of a set's photos: each by
// itself (extractObject), then each photo in which nothing stood out from
// a busy background again, with the colours of the thing in the photos
// that were cut by themselves (every one but it). errs[i] is photo i's
// error; exs[i] is valid where it is nil.
func extractSet(imgs []image.Image) (exs []extraction, errs []error) {
	return extractSetOn(imgs, runtime.NumCPU())
}

// extractSetOn is extractSet on up to workers goroutines (the answers
// are the same, however many).
func extractSetOn(imgs []image.Image, workers int) (exs []extraction, errs []error) {
	parallel := func(n int, f func(int)) { parallelOn(workers, n, f) }
	exs, errs = make([]extraction, len(imgs)), make([]error, len(imgs))
	parallel(len(imgs), func(i int) { exs[i], errs[i] = extractObject(imgs[i]) })
	again := make([]*extraction, len(imgs)) // the photos cut with the others' help
	parallel(len(imgs), func(i int) {
		if !errors.Is(errs[i], ErrBusyBackground) {
			return
		}
		var others []extraction // (cuts refused by themselves never teach)
		for j, ex := range exs {
			if j != i && errs[j] == nil {
				others = append(others, ex)
			}
		}
		set := learnSetColours(others)
		if set == nil {
			return
		}
		if ex, err := extractObjectUsing(imgs[i], nil, set); err == nil && set.explains(ex) > setMinMargin {
			ex.fromSet = true
			again[i] = &ex
		}
	})
	for i, ex := range again {
		if ex != nil {
			exs[i], errs[i] = *ex, nil
		}
	}
	return exs, errs
}

// parallelOn runs f(0) … f(n−1) on up to workers goroutines.
func parallelOn(workers, n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Cut is one photo's answer from ExtractObjects.
type Cut struct {
	// Image is the thing cut out (as ExtractObject's), nil with Err.
	Image *image.NRGBA
	// Box is where Image's box (margin included) lies in the photo.
	Box image.Rectangle
	// Err is why nothing could be cut out (as ExtractObject's).
	Err error
	// FromSet: nothing stood out in this photo by itself; it was cut with
	// the thing's colours in the set's other photos, so it is worth a
	// look.
	FromSet bool
	// AtEdge: the thing touches the photo's edge and may be cut off.
	AtEdge bool
}

// ExtractObjects cuts the thing out of each of several photos of it, as
// ExtractObject does, and cuts a photo in which nothing stands out by
// itself again with the thing's colours in the others (Cut.FromSet).
// NewConceptSet cuts its images the same way. The photos are cut on up
// to workers goroutines (below 1: one); the answers are the same,
// however many.
func ExtractObjects(imgs []image.Image, workers int) []Cut {
	exs, errs := extractSetOn(imgs, workers)
	out := make([]Cut, len(imgs))
	for i := range imgs {
		if errs[i] != nil {
			out[i].Err = errs[i]
			continue
		}
		out[i] = Cut{Image: exs[i].cut, Box: exs[i].box, FromSet: exs[i].fromSet, AtEdge: exs[i].atEdge}
	}
	return out
}
