package store

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"conceptstudio/engine/safefile"
)

// marked is a w×h image whose every pixel is (v, 255-v, 40, 255), so that
// each test image is recognisable after a round trip.
func marked(w, h int, v uint8) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = v, 255-v, 40, 255
	}
	return img
}

// marks returns the red value of each image's centre pixel.
func marks(imgs []image.Image) []uint8 {
	var out []uint8
	for _, im := range imgs {
		b := im.Bounds()
		r, _, _, _ := im.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2).RGBA()
		out = append(out, uint8(r>>8))
	}
	return out
}

// sizes returns each image's size.
func sizes(imgs []image.Image) []image.Point {
	var out []image.Point
	for _, im := range imgs {
		out = append(out, im.Bounds().Size())
	}
	return out
}

func mustImages(t *testing.T, l *Library, name string) []image.Image {
	t.Helper()
	imgs, err := l.TrainingImages(name)
	if err != nil {
		t.Fatalf("training images of %s: %v", name, err)
	}
	return imgs
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestSaveWithImagesKeepsNormalizedCopies(t *testing.T) {
	l := openTestLibrary(t)
	big := marked(600, 300, 10)                                                    // wider than TrainingImageSide
	small := marked(32, 16, 200)                                                   // smaller: kept as is
	tall := marked(100, 1000, 120)                                                 // taller
	offset := marked(40, 40, 77).(*image.NRGBA).SubImage(image.Rect(5, 5, 25, 15)) // origin not at 0
	if err := l.SaveWithImages(testConcept("teddy"), []image.Image{big, small, tall, offset}); err != nil {
		t.Fatal(err)
	}
	if !l.Has("teddy") {
		t.Fatal("the concept was not written")
	}
	dir := l.ImagesDir("teddy")
	if dir != filepath.Join(l.Dir, "teddy.images") {
		t.Fatalf("images folder %s", dir)
	}
	var names []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		names = append(names, de.Name())
	}
	if !reflect.DeepEqual(names, []string{"001.png", "002.png", "003.png", "004.png"}) {
		t.Fatalf("files in %s: %q", dir, names)
	}
	for _, n := range names {
		data, _ := os.ReadFile(filepath.Join(dir, n))
		if _, format, err := image.DecodeConfig(bytes.NewReader(data)); err != nil || format != "png" {
			t.Errorf("%s is %q, %v; want a PNG", n, format, err)
		}
	}
	imgs := mustImages(t, l, "teddy")
	wantSizes := []image.Point{{256, 128}, {32, 16}, {25, 256}, {20, 10}}
	if got := sizes(imgs); !reflect.DeepEqual(got, wantSizes) {
		t.Fatalf("sizes %v, want %v", got, wantSizes)
	}
	if got := marks(imgs); !reflect.DeepEqual(got, []uint8{10, 200, 120, 77}) {
		t.Fatalf("images out of order or changed: marks %v", got)
	}
	for _, im := range imgs {
		if im.Bounds().Min != (image.Point{}) {
			t.Errorf("image origin %v", im.Bounds().Min)
		}
	}
	// The library still lists one concept: the folder is no entry.
	if list, err := l.List(); err != nil || len(list) != 1 || list[0].Name != "teddy" || list[0].Err != nil {
		t.Fatalf("list %+v, %v", list, err)
	}
}

func TestSaveWithImagesAppliesJPEGOrientation(t *testing.T) {
	// Left half red, right half blue, stored sideways with EXIF
	// orientation 6: upright, the red half is on top.
	src := image.NewRGBA(image.Rect(0, 0, 600, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 600; x++ {
			c := color.RGBA{0, 0, 255, 255}
			if x < 300 {
				c = color.RGBA{255, 0, 0, 255}
			}
			src.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, t.TempDir(), "sideways.jpg", withExifOrientation(buf.Bytes(), 6))
	loaded, _, err := LoadImages([]string{path}, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := openTestLibrary(t)
	if err := l.SaveWithImages(testConcept("teddy"), []image.Image{loaded[0].Image}); err != nil {
		t.Fatal(err)
	}
	imgs := mustImages(t, l, "teddy")
	if len(imgs) != 1 || imgs[0].Bounds().Size() != image.Pt(128, 256) {
		t.Fatalf("stored %v, want one 128×256 image", sizes(imgs))
	}
	top, _, topB, _ := imgs[0].At(64, 20).RGBA()
	bot, _, botB, _ := imgs[0].At(64, 236).RGBA()
	if top>>8 < 200 || topB>>8 > 50 || bot>>8 > 50 || botB>>8 < 200 {
		t.Fatalf("not upright: top r=%d b=%d, bottom r=%d b=%d", top>>8, topB>>8, bot>>8, botB>>8)
	}
}

func TestSaveWithImagesReplacesOldImages(t *testing.T) {
	l := openTestLibrary(t)
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 1), marked(8, 8, 2), marked(8, 8, 3)})
	if err := l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 9)}); err != nil {
		t.Fatal(err)
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{9}) {
		t.Fatalf("after retraining: %v", got)
	}
	if err := l.SaveWithImages(testConcept("teddy"), nil); err != nil {
		t.Fatal(err)
	}
	if imgs := mustImages(t, l, "teddy"); len(imgs) != 0 || exists(l.ImagesDir("teddy")) {
		t.Fatalf("saving without images keeps %d", len(imgs))
	}
	// Plain Save keeps the images; nothing temporary is left behind.
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 5)})
	if err := l.Save(testConcept("teddy")); err != nil {
		t.Fatal(err)
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{5}) {
		t.Fatalf("Save lost the images: %v", got)
	}
	des, _ := os.ReadDir(l.Dir)
	for _, de := range des {
		if safefile.IsTemp(de.Name()) {
			t.Errorf("left behind: %s", de.Name())
		}
	}
	// An empty image is refused and the old images stay.
	if err := l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 6), image.NewNRGBA(image.Rect(0, 0, 0, 0))}); err == nil {
		t.Fatal("an empty image was accepted")
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{5}) {
		t.Fatalf("a refused save changed the images: %v", got)
	}
}

func TestTrainingImagesOfUnknownOrImportedConcept(t *testing.T) {
	l := openTestLibrary(t)
	if _, err := l.TrainingImages("ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown concept: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b"} {
		if _, err := l.TrainingImages(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// An orphaned images folder (its concept gone) must not pass to a
	// concept imported under that name.
	os.MkdirAll(l.ImagesDir("teddy"), 0o755)
	writeFile(t, l.ImagesDir("teddy"), "001.png", nil)
	src := writeFile(t, t.TempDir(), "teddy.concept.safetensors", encodeConcept(t, testConcept("teddy")))
	if _, err := l.Import(src, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	imgs, err := l.TrainingImages("teddy")
	if err != nil || len(imgs) != 0 {
		t.Fatalf("imported concept: %d images, %v; want none", len(imgs), err)
	}
	if exists(l.ImagesDir("teddy")) {
		t.Error("the stale folder survived the import")
	}
	// The same for Add.
	os.MkdirAll(l.ImagesDir("cup"), 0o755)
	writeFile(t, l.ImagesDir("cup"), "001.png", nil)
	if err := l.Add(testConcept("cup")); err != nil {
		t.Fatal(err)
	}
	if imgs := mustImages(t, l, "cup"); len(imgs) != 0 {
		t.Fatalf("added concept inherits %d images", len(imgs))
	}
	// A damaged image file is reported, naming the concept.
	l.SaveWithImages(testConcept("bear"), []image.Image{marked(8, 8, 1)})
	os.WriteFile(filepath.Join(l.ImagesDir("bear"), "001.png"), []byte("not a png"), 0o644)
	if _, err := l.TrainingImages("bear"); err == nil || !errors.Is(err, ErrNotAnImage) {
		t.Fatalf("damaged image: %v", err)
	}
}

func TestRenameAndDuplicateCarryImages(t *testing.T) {
	l := openTestLibrary(t)
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 11), marked(8, 8, 22)})
	if err := l.Rename("teddy", "bear"); err != nil {
		t.Fatal(err)
	}
	if got := marks(mustImages(t, l, "bear")); !reflect.DeepEqual(got, []uint8{11, 22}) {
		t.Fatalf("renamed concept's images: %v", got)
	}
	if exists(l.ImagesDir("teddy")) {
		t.Error("the old images folder is still there")
	}
	if err := l.Duplicate("bear", "bear2"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"bear", "bear2"} {
		if got := marks(mustImages(t, l, n)); !reflect.DeepEqual(got, []uint8{11, 22}) {
			t.Fatalf("%s after duplicate: %v", n, got)
		}
	}
	// The copies are independent: retraining one leaves the other.
	l.SaveWithImages(testConcept("bear2"), []image.Image{marked(8, 8, 33)})
	if got := marks(mustImages(t, l, "bear")); !reflect.DeepEqual(got, []uint8{11, 22}) {
		t.Fatalf("the original changed with its copy: %v", got)
	}
	// A concept without images renamed onto a name with a stale folder
	// ends up with none.
	l.Add(testConcept("cup"))
	os.MkdirAll(l.ImagesDir("mug"), 0o755)
	writeFile(t, l.ImagesDir("mug"), "001.png", nil)
	if err := l.Rename("cup", "mug"); err != nil {
		t.Fatal(err)
	}
	if imgs := mustImages(t, l, "mug"); len(imgs) != 0 || exists(l.ImagesDir("mug")) {
		t.Fatalf("renamed concept inherits a stale folder (%d images)", len(imgs))
	}
	// A refused rename moves no images.
	if err := l.Rename("bear", "bear2"); !errors.Is(err, ErrExists) {
		t.Fatal(err)
	}
	if got := marks(mustImages(t, l, "bear")); !reflect.DeepEqual(got, []uint8{11, 22}) {
		t.Fatalf("refused rename moved images: %v", got)
	}
}

func TestDeleteAndRestoreCarryImages(t *testing.T) {
	l := openTestLibrary(t)
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 1)})
	if err := l.Delete("teddy"); err != nil {
		t.Fatal(err)
	}
	if exists(l.ImagesDir("teddy")) || !exists(filepath.Join(l.TrashDir(), "teddy.images", "001.png")) {
		t.Fatal("the images did not go to the trash with the concept")
	}
	// A second teddy, with other images, deleted too: teddy~2.
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 2), marked(8, 8, 3)})
	if err := l.Delete("teddy"); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(l.TrashDir(), "teddy~2.images", "002.png")) {
		t.Fatal("the second teddy's images are not under its trash id")
	}
	if trash, _ := l.Trash(); len(trash) != 2 {
		t.Fatalf("trash lists %d items, want 2 (folders are no items)", len(trash))
	}
	name, err := l.Restore("teddy~2")
	if err != nil || name != "teddy" {
		t.Fatal(name, err)
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{2, 3}) {
		t.Fatalf("restored images %v, want the second teddy's", got)
	}
	if exists(filepath.Join(l.TrashDir(), "teddy~2.images")) {
		t.Error("restored images still in the trash")
	}
	// Delete the restored one again: the first teddy's trash id is taken,
	// so it must not mix with its images.
	if err := l.Delete("teddy"); err != nil {
		t.Fatal(err)
	}
	name, err = l.Restore("teddy")
	if err != nil {
		t.Fatal(err)
	}
	if got := marks(mustImages(t, l, name)); !reflect.DeepEqual(got, []uint8{1}) {
		t.Fatalf("first teddy restored with images %v", got)
	}
	if err := l.EmptyTrash(); err != nil {
		t.Fatal(err)
	}
	if des, _ := os.ReadDir(l.TrashDir()); len(des) != 0 {
		t.Fatalf("emptied trash still holds %d entries", len(des))
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{1}) {
		t.Fatalf("emptying the trash touched the live images: %v", got)
	}
}

func TestRestoreKeepsImagesLeftByInterruptedDelete(t *testing.T) {
	l := openTestLibrary(t)
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 7)})
	// A crash between the two renames of Delete: the concept is in the
	// trash, its images still in the library.
	os.MkdirAll(l.TrashDir(), 0o755)
	if err := os.Rename(l.ConceptPath("teddy"), filepath.Join(l.TrashDir(), "teddy"+ConceptExt)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Restore("teddy"); err != nil {
		t.Fatal(err)
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{7}) {
		t.Fatalf("images after restore: %v", got)
	}
}

func TestOpenLibraryRemovesStaleImageFolders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib")
	l, err := OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 1)})
	l.Close()
	stale := filepath.Join(dir, ".teddy.images.tmp123456")
	os.MkdirAll(stale, 0o755)
	writeFile(t, stale, "001.png", []byte("half"))
	l, err = OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if exists(stale) {
		t.Error("a stale temporary images folder survived")
	}
	if got := marks(mustImages(t, l, "teddy")); !reflect.DeepEqual(got, []uint8{1}) {
		t.Fatalf("real images touched: %v", got)
	}
}

func TestReadOnlyLibraryReadsImagesButRefusesWrites(t *testing.T) {
	l := openTestLibrary(t)
	l.SaveWithImages(testConcept("teddy"), []image.Image{marked(8, 8, 4)})
	ro := NewLibrary(l.Dir)
	if got := marks(mustImages(t, ro, "teddy")); !reflect.DeepEqual(got, []uint8{4}) {
		t.Fatalf("read-only read: %v", got)
	}
	before := snapshot(t, l.Dir)
	if err := ro.SaveWithImages(testConcept("cup"), []image.Image{marked(8, 8, 4)}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only write: %v", err)
	}
	if snapshot(t, l.Dir) != before {
		t.Fatal("a refused write changed the library")
	}
}
