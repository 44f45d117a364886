package dataset

import (
	"image"
	"testing"
)

// For the external tests (package dataset_test), which may import the
// packages that import this one (the learned segmenter).

var (
	PhotoSetsForTest     = photoSets
	MaskFromImageForTest = maskFromImage
	MaskIoUForTest       = maskIoU
	ReadTestPhotoForTest = readTestPhoto
	BoundsOfForTest      = boundsOf
)

// AutoCutForTest is the automatic cut's hard mask at the photo's size.
func AutoCutForTest(img image.Image) ([]bool, error) {
	ex, err := extractObject(img)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	return maskOf(ex, b.Dx(), b.Dy()), nil
}

// SegTunablesForTest sets how the cut uses the learned prior and returns
// a function that puts them back.
func SegTunablesForTest(t testing.TB, weight, clip float64, ring, start, fill bool) func() {
	w0, c0, r0, s0, f0 := segWeight, segClip, segRing, segStart, segFill
	segWeight, segClip, segRing, segStart, segFill = weight, clip, ring, start, fill
	return func() { segWeight, segClip, segRing, segStart, segFill = w0, c0, r0, s0, f0 }
}
