package ui

import (
	"image"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
	"conceptstudio/engine"
	"conceptstudio/store"
)

// walk calls f on o and everything drawn inside it (containers' objects
// and widgets' renderer objects).
func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	f(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			walk(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			walk(c, f)
		}
	}
}

// overlayContent returns the images (not theme icons) and texts shown in
// the window's top overlay (nil, nil when there is none).
func overlayContent(w fyne.Window) (imgs []image.Image, texts []string) {
	top := w.Canvas().Overlays().Top()
	walk(top, func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		switch v := o.(type) {
		case *canvas.Image:
			if v.Image != nil && v.Resource == nil { // not a theme icon
				imgs = append(imgs, v.Image)
			}
		case *widget.Label:
			texts = append(texts, v.Text)
		case *canvas.Text:
			texts = append(texts, v.Text)
		}
	})
	return imgs, texts
}

func TestShowTrainingImagesShowsTheImages(t *testing.T) {
	a, b, c := solid(10), solid(120), solid(240)
	f := &fakeBackend{concepts: testConcepts(), trainingImages: map[string][]image.Image{
		"teddy": {a, b, c},
		"mug":   nil,
	}}
	m, w, _ := newTestScreen(t, f, nil)
	p := m.libPanel

	p.ShowTrainingImages("teddy")
	imgs, texts := overlayContent(w)
	if len(imgs) != 3 || imgs[0] != a || imgs[1] != b || imgs[2] != c {
		t.Fatalf("dialog shows %d images, want teddy's 3 in order", len(imgs))
	}
	if !strings.Contains(strings.Join(texts, "|"), "Training images of teddy*") {
		t.Fatalf("no title; texts %q", texts)
	}
	w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())

	// A concept without images: a clear message instead of an empty grid.
	p.ShowTrainingImages("mug")
	imgs, texts = overlayContent(w)
	if w.Canvas().Overlays().Top() == nil || len(imgs) != 0 {
		t.Fatalf("no message dialog, or images shown (%d)", len(imgs))
	}
	if !strings.Contains(strings.Join(texts, "|"), noTrainingImages("mug")) {
		t.Fatalf("dialog texts %q lack the explanation", texts)
	}
	if !strings.Contains(m.status.Text, "mug* has no training images") {
		t.Fatalf("status %q", m.status.Text)
	}
	w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())

	// An unknown concept: no dialog, the reason in the status line.
	p.ShowTrainingImages("ghost")
	if top := w.Canvas().Overlays().Top(); top != nil {
		t.Fatal("a dialog opened for an unknown concept")
	}
	if !strings.Contains(m.status.Text, `Cannot show the training images of ghost*: there is no concept called "ghost"`) {
		t.Fatalf("status %q", m.status.Text)
	}
}

func TestAppBackendReadsTrainingImagesFromTheLibrary(t *testing.T) {
	dir := t.TempDir()
	l, err := store.OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &engine.Concept{Name: "teddy", Class: "teddy bear", Method: engine.TI, BaseID: "base-test",
		Tensors: map[string]engine.Tensor{"emb": {Shape: []int{1, 4}, Data: []float32{1, 2, 3, 4}}}}
	if err := l.SaveWithImages(c, []image.Image{solid(50), solid(150)}); err != nil {
		t.Fatal(err)
	}
	c2 := *c
	c2.Name = "cup"
	if err := l.Add(&c2); err != nil {
		t.Fatal(err)
	}
	l.Close()
	a, err := app.New(app.Options{LibraryDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b := newAppBackend(a)
	imgs, err := b.TrainingImages("teddy")
	if err != nil || len(imgs) != 2 || imgs[0].Bounds().Size() != image.Pt(32, 32) {
		t.Fatalf("teddy: %d images, %v", len(imgs), err)
	}
	if r, _, _, _ := imgs[1].At(3, 3).RGBA(); r>>8 != 150 {
		t.Fatalf("second image is %d, want 150", r>>8)
	}
	if imgs, err := b.TrainingImages("cup"); err != nil || len(imgs) != 0 {
		t.Fatalf("cup (no images): %d, %v", len(imgs), err)
	}
	if _, err := b.TrainingImages("ghost"); err == nil {
		t.Fatal("an unknown concept has images")
	}
}
