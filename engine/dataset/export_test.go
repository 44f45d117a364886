package dataset

import "image"

// For the external tests (package dataset_test), which may import the
// packages that import this one (the learned segmenter).

var (
	PhotoSetsForTest     = photoSets
	MaskFromImageForTest = maskFromImage
	MaskIoUForTest       = maskIoU
	ReadTestPhotoForTest = readTestPhoto
	ToNRGBAForTest       = toNRGBA
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
