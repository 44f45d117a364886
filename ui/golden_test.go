package ui

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"conceptstudio/store"
)

// The golden tests render the main screens with fixed data, a fixed theme
// and fixed window sizes, and compare them with the images (and markup)
// under testdata/. When a screen changes on purpose, Fyne writes what it
// rendered under testdata/failed/: look at it, and copy it over the
// golden if it is right.

// goldenTheme is Fyne's default theme in its light variant whatever the
// app's settings say, so that the goldens do not depend on the machine.
type goldenTheme struct{ fyne.Theme }

func (g goldenTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return g.Theme.Color(n, theme.VariantLight)
}

// newGoldenApp is a test app with the golden theme.
func newGoldenApp(t *testing.T) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(goldenTheme{theme.DefaultTheme()})
}

// newGoldenWindow is a window of a fixed size showing content.
func newGoldenWindow(t *testing.T, content fyne.CanvasObject, w, h float32) fyne.Window {
	t.Helper()
	win := test.NewTempWindow(t, content)
	win.Resize(fyne.NewSize(w, h))
	return win
}

// pattern is a w×h picture with diagonal colour bands, different for each
// v, drawn the same on every run.
func pattern(w, h int, v uint8) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			band := uint8((x + y) / 8 % 4)
			img.SetNRGBA(x, y, color.NRGBA{R: v + band*30, G: 255 - v - band*20, B: 60 + band*40, A: 255})
		}
	}
	return img
}

// sameImage reports whether two images have the same size and pixels.
func sameImage(a, b image.Image) bool {
	if a.Bounds().Size() != b.Bounds().Size() {
		return false
	}
	ao, bo := a.Bounds().Min, b.Bounds().Min
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			r1, g1, b1, a1 := a.At(ao.X+x, ao.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bo.X+x, bo.Y+y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// goldenConcepts are two concepts: a measured Perfusion one with a
// thumbnail and a LoRA one without either.
func goldenConcepts() []ConceptInfo {
	return []ConceptInfo{
		{Name: "teddy", Class: "teddy bear", Method: "perfusion", Size: 10 << 10, Identity: 0.82, Thumbnail: pattern(32, 32, 90)},
		{Name: "mug", Class: "cup", Method: "lora", Size: 100 << 10, Identity: noIdentity, Gate: 0.8},
	}
}

// relayout lays o and everything inside it out again, top down. The
// window's driver does this before each frame for the objects whose
// minimum size changed (a gate row added, say); Fyne's test canvas does
// not, so without it a golden would show overlaps the user never sees.
func relayout(o fyne.CanvasObject) {
	switch v := o.(type) {
	case *fyne.Container:
		if v.Layout != nil {
			v.Layout.Layout(v.Objects, v.Size())
		}
		for _, c := range v.Objects {
			relayout(c)
		}
	case fyne.Widget:
		r := test.WidgetRenderer(v)
		r.Layout(v.Size())
		for _, c := range r.Objects() {
			relayout(c)
		}
	}
}

// assertGolden compares the window's rendering with testdata/NAME.png and
// its markup with testdata/NAME.xml.
func assertGolden(t *testing.T, w fyne.Window, name string) {
	t.Helper()
	drainMain()
	relayout(w.Content())
	for _, o := range w.Canvas().Overlays().List() {
		relayout(o)
	}
	test.AssertRendersToImage(t, name+".png", w.Canvas())
	test.AssertRendersToMarkup(t, name+".xml", w.Canvas())
}

func TestGoldenMainScreen(t *testing.T) {
	newGoldenApp(t)
	w := test.NewTempWindow(t, nil)
	f := &fakeBackend{concepts: goldenConcepts(), vocab: testVocab}
	m := buildScreen(w, f, &fakeSaver{}, func(func(fyne.Position, []fyne.URI)) {})
	w.SetContent(m.root)
	w.Resize(fyne.NewSize(1100, 720))

	m.settings.Apply(GenerateSpec{Seed: 1234, N: 4, Steps: 25, Guidance: 4, Layout: 4})
	m.prompt.SetText("a teddy* on the left of a mug*") // unfocused: no cursor in the golden
	spec := GenerateSpec{Prompt: "a teddy* on the left of a mug*", Concepts: []string{"teddy", "mug"}, Seed: 1234, N: 4, Steps: 25, Guidance: 4, Layout: 4}
	var shots []Shot
	for i := range 4 {
		shots = append(shots, Shot{Image: pattern(64, 64, uint8(30+50*i)), Spec: spec, Index: i})
	}
	m.gallery.Add(shots)
	m.setStatus("Generated 4 images in 2.0 s.")
	assertGolden(t, w, "main_screen")
}

func TestGoldenNewConceptSheet(t *testing.T) {
	newGoldenApp(t)
	w := newGoldenWindow(t, nil, 800, 640)
	// Committed copies of pattern(64, 64, 20|100|180), by a relative path
	// so that the markup is the same on every machine.
	images := []string{"testdata/images/bear1.png", "testdata/images/bear2.png", "testdata/images/bear3.png"}
	for i, v := range []uint8{20, 100, 180} {
		if got, err := store.LoadImage(images[i]); err != nil || !sameImage(got, pattern(64, 64, v)) {
			t.Fatalf("%s is not pattern(64, 64, %d): %v", images[i], v, err)
		}
	}
	ShowNewConcept(w, images, testVocab, []string{"teddy", "mug"}, nil, func(TrainSpec) {})
	assertGolden(t, w, "new_concept_sheet")
}

func TestGoldenLibraryPanel(t *testing.T) {
	newGoldenApp(t)
	w := test.NewTempWindow(t, nil)
	p := NewLibraryPanel(w, &fakeBackend{concepts: goldenConcepts()}, &fakeSaver{})
	w.SetContent(p)
	w.Resize(fyne.NewSize(280, 320))
	assertGolden(t, w, "library_panel")
}

func TestGoldenGatesPanel(t *testing.T) {
	newGoldenApp(t)
	g := NewGatePanel()
	g.Debounce = time.Hour // no preview request while the golden renders
	w := newGoldenWindow(t, g, 720, 220)
	assertGolden(t, w, "gates_panel_empty") // the hint, in the hint colour
	g.SetConcepts(goldenConcepts())
	g.SetPrompt([]string{"teddy", "mug"})
	g.SetPreview(pattern(96, 96, 140), "preview · seed 1234")
	assertGolden(t, w, "gates_panel")
}

func TestGoldenTrainingCard(t *testing.T) {
	newGoldenApp(t)
	tr := newStepTrainer()
	q := NewTrainingQueue(tr)
	w := newGoldenWindow(t, q, 280, 420)
	q.Enqueue(TrainSpec{Name: "teddy", Class: "teddy bear", Method: "perfusion", Images: []string{"a.png"}})
	q.Enqueue(TrainSpec{Name: "mug", Class: "cup", Method: "lora"})
	eventually(t, "the first job to start", func() bool { return tr.started() == 1 })
	r := rand.New(rand.NewPCG(7, 7))
	loss := 0.9
	for i := 1; i <= 24; i++ {
		loss = loss*0.93 + 0.04*r.Float64()
		p := Progress{Step: 10 * i, Total: 600, Loss: loss, Elapsed: time.Duration(i) * 5 * time.Second}
		if i == 24 {
			p.Preview = pattern(64, 64, 200)
		}
		tr.report(p)
	}
	assertGolden(t, w, "training_card")

	// Wind down before the next test: a job ending later would post
	// updates for widgets of a window that is gone. Drop
	// the queued job first so that nothing starts after the running one.
	running, queued := q.jobs[0], q.jobs[1]
	q.Cancel(queued)
	tr.finish <- nil
	eventually(t, "the running job to end", func() bool { return running.state == jobDone })
}

func TestGoldenTrainingImagesDialogs(t *testing.T) {
	newGoldenApp(t)
	w := test.NewTempWindow(t, nil)
	f := &fakeBackend{concepts: goldenConcepts(), trainingImages: map[string][]image.Image{
		"teddy": {pattern(256, 192, 20), pattern(192, 256, 100), pattern(256, 256, 180), pattern(64, 64, 240)},
		"mug":   nil,
	}}
	p := NewLibraryPanel(w, f, &fakeSaver{})
	w.SetContent(p)
	w.Resize(fyne.NewSize(720, 520))
	p.ShowTrainingImages("teddy")
	assertGolden(t, w, "training_images")
	w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())
	p.ShowTrainingImages("mug")
	assertGolden(t, w, "training_images_none")
}
