package dataset

import (
	"errors"
	"image"
	"strings"
	"testing"
)

// TestARefusedPhotoIsCutWithTheOthers: a close-up of a pale bird that
// fills the frame in front of a pale wall is refused by itself; given
// with three other photos of the bird, it is cut with their colours of
// the bird, marked so, close to the mask drawn by hand, and the same in
// any order of the photos; the photos that stood out by themselves are
// cut exactly as alone.
func TestARefusedPhotoIsCutWithTheOthers(t *testing.T) {
	names := []string{"cockatoo-2.jpg", "cockatoo-3.jpg", "cockatoo-4.jpg", "cockatoo-5.jpg"}
	var imgs []image.Image
	for _, n := range names {
		imgs = append(imgs, readTestPhoto(t, n))
	}
	if _, err := extractObject(imgs[0]); !errors.Is(err, ErrBusyBackground) {
		t.Fatalf("the close-up by itself: %v (the test needs one refused)", err)
	}
	exs, errs := extractSet(imgs)
	if errs[0] != nil || !exs[0].fromSet {
		t.Fatalf("the close-up with the others: %v, marked %v", errs[0], exs[0].fromSet)
	}
	b := imgs[0].Bounds()
	truth := maskFromImage(readTestPhoto(t, "cockatoo-2-mask.png"))
	if iou := maskIoU(maskOf(exs[0], b.Dx(), b.Dy()), truth); iou < 0.8 {
		t.Errorf("the close-up cut with the others: IoU %.3f against the hand-drawn mask, want ≥ 0.8", iou)
	}
	for i := 1; i < len(imgs); i++ {
		alone, err := extractObject(imgs[i])
		if err != nil || errs[i] != nil || exs[i].fromSet || !sameNRGBA(alone.cut, exs[i].cut) {
			t.Errorf("%s stood out by itself (%v) but was cut otherwise in the set (%v)", names[i], err, errs[i])
		}
	}
	rev := []image.Image{imgs[3], imgs[2], imgs[1], imgs[0]}
	rexs, rerrs := extractSet(rev)
	if rerrs[3] != nil || !sameNRGBA(rexs[3].cut, exs[0].cut) {
		t.Errorf("in the reverse order the close-up is cut otherwise (%v)", rerrs[3])
	}
}

// TestNothingToLearnFromLeavesARefusal: the set's help needs photos cut
// by themselves — two refused close-ups stay refused — and does not make
// a thing out of a bare surface: crops of the espresso cup's table given
// with the photo of the cup stay refused.
func TestNothingToLearnFromLeavesARefusal(t *testing.T) {
	_, errs := extractSet([]image.Image{readTestPhoto(t, "cockatoo-1.jpg"), readTestPhoto(t, "cockatoo-2.jpg")})
	for i, err := range errs {
		if err == nil {
			t.Errorf("close-up %d was cut with nothing to learn from", i+1)
		}
	}
	photo := readTestPhoto(t, "coffee.png")
	sub := photo.(interface {
		SubImage(image.Rectangle) image.Image
	})
	for _, r := range []image.Rectangle{image.Rect(0, 0, 120, 120), image.Rect(480, 0, 600, 120), image.Rect(0, 280, 160, 400)} {
		_, errs := extractSet([]image.Image{photo, sub.SubImage(r)})
		if errs[0] != nil {
			t.Fatalf("the cup: %v", errs[0])
		}
		if errs[1] == nil {
			t.Errorf("the bare table at %v was cut out with the cup's photo", r)
		}
	}
}

// TestConceptSetSaysWhichImageTheOthersCut: a concept set made of the
// bird's photos warns about the one cut with the others' help, by its
// number.
func TestConceptSetSaysWhichImageTheOthersCut(t *testing.T) {
	var imgs []image.Image
	for _, n := range []string{"cockatoo-3.jpg", "cockatoo-2.jpg", "cockatoo-4.jpg"} {
		imgs = append(imgs, readTestPhoto(t, n))
	}
	cs, err := NewConceptSet(testAtlas(t), "coco", "bird", imgs)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range cs.Warnings {
		if strings.HasPrefix(w, "image 2: ") && strings.Contains(w, "other images") {
			found = true
		}
	}
	if !found {
		t.Errorf("warnings: %q", cs.Warnings)
	}
}

// sameNRGBA compares two images' sizes and pixels.
func sameNRGBA(a, b *image.NRGBA) bool {
	if a == nil || b == nil || a.Rect.Size() != b.Rect.Size() {
		return false
	}
	for y := 0; y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			if a.NRGBAAt(a.Rect.Min.X+x, a.Rect.Min.Y+y) != b.NRGBAAt(b.Rect.Min.X+x, b.Rect.Min.Y+y) {
				return false
			}
		}
	}
	return true
}
