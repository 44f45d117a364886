package dataset

import (
	"fmt"
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// photoSets are the real photographs of one thing each, several photos
// per thing, with masks drawn by hand (testdata/photos/README.md).
var photoSets = []string{"cockatoo", "et", "kermit"}

// What the cut reaches on them (mean IoU over 15 photos), kept so it
// cannot slip back: on 2026-12-06 without the centre prior the automatic
// cut scored 0.23 and a box 0.29 (a pale bird on a pale wall, a green
// frog beside a green circuit board: the cut collapsed to a detail or
// to nothing); with it 0.34 and 0.62, a box and one keep stroke 0.69;
// computed at 160 pixels instead of 96, 0.34, 0.69 and 0.73; with the
// barrier prior (2026-12-07) 0.44, 0.74 and 0.74; with the learned
// segmenter's prior (engine/segment; the package's TestMain gives it to
// these tests, as the engine gives it to the app) the automatic cut 0.51;
// each set's photos cut together (extractSet: a refused photo cut again
// with the thing's colours in the others, 2026-12-08) 0.59.
// The box itself scores 0.50. The target is 0.85 on every photo: not met (the frog's
// box holds books of other colours, which a remove stroke takes out; a
// white bird's face fills the frame in front of a white wall).
const (
	minAutoIoU = 0.49
	minSetIoU  = 0.55 // each set's photos cut together (extractSet)
	minBoxIoU  = 0.70
)

// maskFromImage is a hand-drawn mask file as a hard mask (white: the
// object).
func maskFromImage(m image.Image) []bool {
	b := m.Bounds()
	out := make([]bool, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, _, _, _ := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out[y*b.Dx()+x] = r >= 0x8000
		}
	}
	return out
}

// boundsOf is a mask's bounding box widened by pad pixels (within w×h):
// the box a person drags around the object.
func boundsOf(m []bool, w, h, pad int) image.Rectangle {
	r := image.Rectangle{Min: image.Pt(w, h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if m[y*w+x] {
				r.Min.X, r.Min.Y = min(r.Min.X, x), min(r.Min.Y, y)
				r.Max.X, r.Max.Y = max(r.Max.X, x+1), max(r.Max.Y, y+1)
			}
		}
	}
	return r.Inset(-pad).Intersect(image.Rect(0, 0, w, h))
}

// TestCutOutOfRealPhotoSets measures the cut-out on real photographs of
// things where they are (a cockatoo in a room, …), against masks drawn by
// hand: the automatic cut, and a box dragged around the thing (its mask's
// bounds plus 2% of the side) as a person does in the cut-out editor,
// with the box itself taken as the mask as the control.
func TestCutOutOfRealPhotoSets(t *testing.T) {
	var sumAuto, sumSet, sumBox, sumKeep, sumCtl float64
	n, rescued := 0, 0
	for _, set := range photoSets {
		var names []string
		var imgs []image.Image
		for i := 1; ; i++ {
			name := fmt.Sprintf("%s-%d", set, i)
			if _, err := os.Stat(filepath.Join("testdata", "photos", name+".jpg")); err != nil {
				break
			}
			names, imgs = append(names, name), append(imgs, readTestPhoto(t, name+".jpg"))
		}
		together, togetherErr := extractSet(imgs)
		for k, name := range names {
			img := imgs[k]
			b := img.Bounds()
			W, H := b.Dx(), b.Dy()
			truth := maskFromImage(readTestPhoto(t, name+"-mask.png"))
			auto, err := extractObject(img)
			autoIoU := 0.0
			if err == nil {
				autoIoU = maskIoU(maskOf(auto, W, H), truth)
			}
			setIoU := 0.0
			if togetherErr[k] == nil {
				setIoU = maskIoU(maskOf(together[k], W, H), truth)
			}
			switch {
			case err == nil && (togetherErr[k] != nil || together[k].fromSet || setIoU != autoIoU):
				t.Errorf("%s stood out by itself (IoU %.3f) but was cut otherwise with the set (%.3f, %v)", name, autoIoU, setIoU, togetherErr[k])
			case err != nil && togetherErr[k] == nil:
				rescued++
				if !together[k].fromSet {
					t.Errorf("%s: refused by itself, cut with the set, but not marked so", name)
				}
			}
			box := boundsOf(truth, W, H, max(W, H)/50)
			boxed, err := extractObjectWith(img, &Hints{Box: box})
			boxIoU := 0.0
			if err == nil {
				boxIoU = maskIoU(maskOf(boxed, W, H), truth)
			} else {
				t.Logf("%s with a box: %v", name, err)
			}
			// A keep stroke down the middle of the thing, as a person
			// paints one: the mask's points on its central column.
			stroke := keepStroke(truth, W, H)
			kept, err := extractObjectWith(img, &Hints{Box: box, Keep: stroke})
			keepIoU := 0.0
			if err == nil {
				keepIoU = maskIoU(maskOf(kept, W, H), truth)
			}
			sumKeep += keepIoU
			ctl := make([]bool, W*H)
			for y := box.Min.Y; y < box.Max.Y; y++ {
				for x := box.Min.X; x < box.Max.X; x++ {
					ctl[y*W+x] = true
				}
			}
			ctlIoU := maskIoU(ctl, truth)
			t.Logf("%-12s automatic %.3f, with the set's other photos %.3f, with a box %.3f, a box and a keep stroke %.3f (the box alone %.3f)", name, autoIoU, setIoU, boxIoU, keepIoU, ctlIoU)
			sumAuto, sumSet, sumBox, sumCtl, n = sumAuto+autoIoU, sumSet+setIoU, sumBox+boxIoU, sumCtl+ctlIoU, n+1
		}
	}
	if n == 0 {
		t.Fatal("no photos")
	}
	auto, together, boxed, ctl := sumAuto/float64(n), sumSet/float64(n), sumBox/float64(n), sumCtl/float64(n)
	t.Logf("mean IoU of %d photos: automatic %.3f, with the set's other photos %.3f (%d refused by themselves cut so), with a box %.3f, a box and a keep stroke %.3f, the box alone %.3f", n, auto, together, rescued, boxed, sumKeep/float64(n), ctl)
	if auto < minAutoIoU || together < minSetIoU || boxed < minBoxIoU {
		t.Errorf("mean IoU: automatic %.3f (want ≥ %.2f), with the set %.3f (want ≥ %.2f), with a box %.3f (want ≥ %.2f)", auto, minAutoIoU, together, minSetIoU, boxed, minBoxIoU)
	}
	if boxed < ctl+0.05 {
		t.Errorf("the cut with a box (%.3f) is hardly better than the box itself (%.3f)", boxed, ctl)
	}
}

// keepStroke is a vertical stroke through the middle of a mask: its
// points on the column through the mask's centre, every 8 pixels, from
// 15% to 85% of its height there.
func keepStroke(m []bool, w, h int) []image.Point {
	var sx, n int
	for i, v := range m {
		if v {
			sx += i % w
			n++
		}
	}
	if n == 0 {
		return nil
	}
	cx := sx / n
	var ys []int
	for y := 0; y < h; y++ {
		if m[y*w+cx] {
			ys = append(ys, y)
		}
	}
	var pts []image.Point
	for k := len(ys) * 15 / 100; k < len(ys)*85/100; k += 8 {
		pts = append(pts, image.Pt(cx, ys[k]))
	}
	return pts
}

// BenchmarkCutOutWithABox is one cut of a 640×480 photo with a box, what
// the cut-out editor computes after each drag.
func BenchmarkCutOutWithABox(b *testing.B) {
	img := readTestPhoto(b, "kermit-2.jpg")
	box := image.Rect(300, 60, 560, 420)
	for b.Loop() {
		if _, err := extractObjectWith(img, &Hints{Box: box}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCutOutAutomatic is the automatic cut of a 640×480 photo (what
// every dropped photo gets: two cuts, without and with the barrier
// prior, run at once) beside a single cut of the same photo, in the same
// run: on two cores the pair costs about one.
func BenchmarkCutOutAutomatic(b *testing.B) {
	img := toNRGBA(readTestPhoto(b, "et-1.jpg"))
	b.Run("TwoCuts", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := grabCutMask(img, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OneCut", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := grabCutWith(img, nil, 0, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestClicksOnRealPhotos plays a person correcting the cut-out in the
// editor, as interactive segmentation is measured (the number of clicks
// to 85% IoU, Xu et al. 2016): a box around the thing, then up to
// maxClicks dabs of the brush, each in the middle of the largest wrong
// region of the cut so far (keep where the thing is missing, remove where
// too much is taken), as wide as that region allows up to the large
// brush. On 2026-12-08: 10 of the 15 photos at 0.85 within 4 dabs (the
// bird's and the plush toy's all, in 0-2), the frog among books none
// (after 4 dabs 0.49-0.85); before remove strokes inside the thing were
// kept out of the cut's hole filling, the frog's dabs on the book
// enclosed by its arms changed nothing (0.489 after each).
func TestClicksOnRealPhotos(t *testing.T) {
	const maxClicks = 4
	reached := 0
	var sumFirst, sumLast float64
	n := 0
	for _, set := range photoSets {
		for i := 1; ; i++ {
			name := fmt.Sprintf("%s-%d", set, i)
			if _, err := os.Stat(filepath.Join("testdata", "photos", name+".jpg")); err != nil {
				break
			}
			img := readTestPhoto(t, name+".jpg")
			truth := maskFromImage(readTestPhoto(t, name+"-mask.png"))
			W, H := img.Bounds().Dx(), img.Bounds().Dy()
			h := &Hints{Box: boundsOf(truth, W, H, max(W, H)/50)}
			var ious []float64
			for clicks := 0; ; clicks++ {
				m := make([]bool, W*H)
				if ex, err := extractObjectWith(img, h); err == nil {
					m = maskOf(ex, W, H)
				}
				ious = append(ious, maskIoU(m, truth))
				if ious[clicks] >= 0.85 || clicks == maxClicks {
					break
				}
				missing, extra := make([]bool, W*H), make([]bool, W*H)
				for k := range m {
					missing[k], extra[k] = truth[k] && !m[k], m[k] && !truth[k]
				}
				dm, de := depth(missing, W, H), depth(extra, W, H)
				best, at, keep := 0.0, -1, false
				for k := range dm {
					if dm[k] > best {
						best, at, keep = dm[k], k, true
					}
					if de[k] > best {
						best, at, keep = de[k], k, false
					}
				}
				if at < 0 {
					break
				}
				p, r := image.Pt(at%W, at/W), max(3, min(int(best)-1, max(W, H)/20))
				if keep {
					h.Keep, h.KeepRadius = append(h.Keep, p), append(h.KeepRadius, r)
				} else {
					h.Remove, h.RemoveRadius = append(h.Remove, p), append(h.RemoveRadius, r)
				}
			}
			last := ious[len(ious)-1]
			if last >= 0.85 {
				reached++
			}
			sumFirst, sumLast, n = sumFirst+ious[0], sumLast+last, n+1
			t.Logf("%-11s IoU after each dab %.3f", name, ious)
		}
	}
	t.Logf("%d of %d photos at 0.85 within %d dabs; mean IoU with the box alone %.3f, after the dabs %.3f", reached, n, maxClicks, sumFirst/float64(n), sumLast/float64(n))
	if reached < minReached || sumLast/float64(n) < sumFirst/float64(n)+0.05 {
		t.Errorf("%d photos at 0.85 (want ≥ %d), mean IoU %.3f after the dabs against %.3f with the box alone", reached, minReached, sumLast/float64(n), sumFirst/float64(n))
	}
}

// minReached: photos of the 15 that TestClicksOnRealPhotos brings to
// 0.85 (10 on 2026-12-08).
const minReached = 10

// depth is each pixel's distance (8-connected chamfer, in pixels) to the
// nearest pixel outside m or the image's edge; 0 outside m.
func depth(m []bool, w, h int) []float64 {
	d := make([]float64, w*h)
	for i := range d {
		if m[i] {
			d[i] = math.Inf(1)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if d[i] == 0 {
				continue
			}
			v := d[i]
			if x == 0 || y == 0 || x == w-1 || y == h-1 {
				v = 1
			}
			if x > 0 {
				v = min(v, d[i-1]+1)
			}
			if y > 0 {
				v = min(v, d[i-w]+1)
				if x > 0 {
					v = min(v, d[i-w-1]+math.Sqrt2)
				}
				if x < w-1 {
					v = min(v, d[i-w+1]+math.Sqrt2)
				}
			}
			d[i] = v
		}
	}
	for y := h - 1; y >= 0; y-- {
		for x := w - 1; x >= 0; x-- {
			i := y*w + x
			if d[i] == 0 {
				continue
			}
			v := d[i]
			if x < w-1 {
				v = min(v, d[i+1]+1)
			}
			if y < h-1 {
				v = min(v, d[i+w]+1)
				if x < w-1 {
					v = min(v, d[i+w+1]+math.Sqrt2)
				}
				if x > 0 {
					v = min(v, d[i+w-1]+math.Sqrt2)
				}
			}
			d[i] = v
		}
	}
	return d
}
