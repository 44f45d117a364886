package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
)

func testShots() []Shot {
	spec := GenerateSpec{Prompt: "a teddy* on a blue background", Seed: 5, N: 3, Steps: 25, Guidance: 4, Gates: []string{"teddy=0.70"}}
	return []Shot{{Image: solid(10), Spec: spec, Index: 0}, {Image: solid(120), Spec: spec, Index: 1}, {Image: solid(250), Spec: spec, Index: 2}}
}

func TestGalleryEnlargesWithSharpPixels(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	g := NewGallery(w, &fakeSaver{})
	w.SetContent(g)
	w.Resize(fyne.NewSize(700, 500))
	if !g.exportAll.Disabled() || !g.empty.Visible() {
		t.Fatal("an empty gallery offers export")
	}
	g.Add(testShots())
	if len(g.grid.Objects) != 3 || g.empty.Visible() {
		t.Fatalf("%d cells", len(g.grid.Objects))
	}
	// The first cell shows seed and settings.
	if txt := strings.Join(texts(g.grid.Objects[0]), " | "); !strings.Contains(txt, "seed 5 #0") || !strings.Contains(txt, "teddy=0.70") {
		t.Fatalf("cell shows %q", txt)
	}
	var cellImg *tappableImage
	for _, o := range test.LaidOutObjects(g.grid.Objects[1]) {
		if ti, ok := o.(*tappableImage); ok {
			cellImg = ti
		}
	}
	test.Tap(cellImg)
	if g.enlarged == nil || w.Canvas().Overlays().Top() == nil {
		t.Fatal("clicking an image does not enlarge it")
	}
	var big *canvas.Image
	for _, o := range test.LaidOutObjects(w.Canvas().Overlays().Top()) {
		if im, ok := o.(*canvas.Image); ok && im.Image == g.shots[1].Image {
			big = im
		}
	}
	if big == nil || big.ScaleMode != canvas.ImageScalePixels || big.Size().Width < 300 {
		t.Fatalf("enlarged image %+v", big)
	}
}

// texts collects the label texts under o.
func texts(o fyne.CanvasObject) []string {
	var out []string
	for _, c := range test.LaidOutObjects(o) {
		if t, ok := c.(*canvas.Text); ok && t.Text != "" {
			out = append(out, t.Text)
		}
	}
	return out
}

func TestGalleryExportsSelectedAndAll(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	dir := t.TempDir()
	saver := &fakeSaver{file: dir, dir: dir}
	g := NewGallery(w, saver)
	var status string
	g.OnStatus = func(s string) { status = s }
	w.SetContent(g)
	g.Add(testShots())
	if !g.exportSel.Disabled() {
		t.Fatal("export selected is on with nothing selected")
	}
	g.Select(1, true)
	if g.exportSel.Disabled() {
		t.Fatal("export selected is off with one selected")
	}
	test.Tap(g.exportSel)
	one := filepath.Join(dir, "a-teddy-on-a-blue-background-seed5-1.png")
	if _, err := os.Stat(one); err != nil || !strings.Contains(status, "Exported") {
		t.Fatalf("export selected: %v (status %q, asked %v)", err, status, saver.asked)
	}
	f, _ := os.Open(one)
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("exported PNG: %v", err)
	}
	data, _ := os.ReadFile(one)
	if !strings.Contains(string(data), "a teddy* on a blue background") || !strings.Contains(string(data), "teddy=0.70") {
		t.Fatal("the exported PNG lacks its prompt and gates")
	}

	test.Tap(g.exportAll)
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(files) != 4 || !strings.Contains(status, "Exported 3 images") {
		t.Fatalf("export all wrote %v (status %q)", files, status)
	}
	// An image the app rendered is exported with the app's settings.
	shot := testShots()[0]
	shot.Meta = map[string]string{"prompt": "as the app said", "seed": "77", "concepts": `[{"name":"teddy","gate":0.55}]`}
	dst := filepath.Join(dir, "copy.png")
	if err := writeShot(shot, dst, 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !strings.Contains(string(got), "as the app said") || !strings.Contains(string(got), `"gate":0.55`) {
		t.Fatal("the export lacks the app's settings")
	}
	// Cancelling the save dialog writes nothing.
	saver.file = ""
	g.Select(0, true)
	g.Export(g.Selected()[:1])
	if files2, _ := filepath.Glob(filepath.Join(dir, "*.png")); len(files2) != 5 {
		t.Fatalf("cancel wrote files: %v", files2)
	}
}

// TestGalleryAttentionOverlay: an enlarged shot with attention maps offers
// its words (concept words first); picking one draws the map over the
// image (red where the map is bright, the image untouched where it is
// dark); "off" brings the plain image back.
func TestGalleryAttentionOverlay(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	g := NewGallery(w, &fakeSaver{})
	w.SetContent(g)
	w.Resize(fyne.NewSize(700, 600))
	s := testShots()[1] // grey 120
	left := image.NewGray(image.Rect(0, 0, 8, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 4; x++ {
			left.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	s.Attention = []WordMap{{Word: "blue", Map: image.NewGray(image.Rect(0, 0, 8, 8))}, {Word: "teddy*", Map: left}}
	g.Add([]Shot{s})
	g.Enlarge(0)
	if g.attention == nil {
		t.Fatal("no attention picker for a shot with maps")
	}
	if want := []string{"off", "teddy*", "blue"}; !slices.Equal(g.attention.Options, want) {
		t.Fatalf("options %q, want %q", g.attention.Options, want)
	}
	var big *canvas.Image
	for _, o := range test.LaidOutObjects(w.Canvas().Overlays().Top()) {
		if im, ok := o.(*canvas.Image); ok && im.Image == s.Image {
			big = im
		}
	}
	if big == nil {
		t.Fatal("no enlarged image")
	}
	g.attention.SetSelected("teddy*")
	over, ok := big.Image.(*image.NRGBA)
	if !ok {
		t.Fatalf("overlay is %T", big.Image)
	}
	n := over.Bounds().Dx()
	hot := over.NRGBAAt(n/8, n/2)
	cold := over.NRGBAAt(n-1-n/8, n/2)
	if hot.R < 200 || hot.B > 60 {
		t.Errorf("attended pixel %v, want red", hot)
	}
	if cold.R != 120 || cold.G != 120 || cold.B != 120 {
		t.Errorf("unattended pixel %v, want the image's grey 120", cold)
	}
	g.attention.SetSelected("off")
	if big.Image != s.Image {
		t.Error(`"off" does not bring the plain image back`)
	}
}

// TestGalleryExportsScaledAndRemembers: the export size menu draws each
// pixel as a k×k square, records the scale in the PNG's settings, and is
// remembered for the next gallery (the next start).
func TestGalleryExportsScaledAndRemembers(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	dir := t.TempDir()
	g := NewGallery(w, &fakeSaver{file: dir, dir: dir})
	w.SetContent(g)
	g.Add(testShots())
	if g.ExportScale() != 1 {
		t.Fatalf("first export scale %d, want 1 (as made)", g.ExportScale())
	}
	g.scale.SetSelected(scaleLabel(4))
	g.Select(0, true)
	test.Tap(g.exportSel)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(paths) != 1 {
		t.Fatalf("exported %v", paths)
	}
	data, _ := os.ReadFile(paths[0])
	img, err := png.Decode(bytes.NewReader(data))
	src := testShots()[0].Image.Bounds()
	if err != nil || img.Bounds().Dx() != 4*src.Dx() || img.Bounds().Dy() != 4*src.Dy() {
		t.Fatalf("exported %v (%v), want 4× %v", img.Bounds(), err, src)
	}
	if !strings.Contains(string(data), "export_scale") {
		t.Error("the PNG does not record its scale")
	}
	if g2 := NewGallery(w, &fakeSaver{}); g2.ExportScale() != 4 {
		t.Errorf("the next gallery exports at ×%d, want the remembered ×4", g2.ExportScale())
	}
}

// TestGalleryPicturesFollowTheWidth: a wide gallery shows bigger
// pictures, four to a row, within bounds.
func TestGalleryPicturesFollowTheWidth(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	g := NewGallery(w, &fakeSaver{})
	w.SetContent(g)
	g.Add(testShots())
	g.Resize(fyne.NewSize(500, 400))
	small := g.cellSize
	g.Resize(fyne.NewSize(1100, 700))
	if small != galleryCell || g.cellSize <= small || g.cellSize > galleryCellMax {
		t.Fatalf("cells %v at 500 px and %v at 1100 px", small, g.cellSize)
	}
	if got := cellFor(4000); got != galleryCellMax {
		t.Errorf("a very wide gallery: %v", got)
	}
}
