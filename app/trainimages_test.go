package app

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conceptstudio/engine"
	"conceptstudio/store"
)

// smallConcept is a valid textual-inversion concept.
func smallConcept(name string) *engine.Concept {
	return &engine.Concept{Name: name, Class: "teddy bear", Method: engine.TI, BaseID: "base-test",
		Tensors: map[string]engine.Tensor{"emb": {Shape: []int{1, 4}, Data: []float32{1, 2, 3, 4}}}}
}

// grey is a w×h image of one grey value.
func grey(w, h int, v uint8) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{v, v, v, 255})
		}
	}
	return img
}

func newTestApp(t *testing.T, dir string) (*App, *bytes.Buffer) {
	t.Helper()
	var errOut bytes.Buffer
	a, err := New(Options{LibraryDir: dir, Out: &bytes.Buffer{}, Err: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	return a, &errOut
}

func TestTrainedConceptKeepsItsImagesInTheLibrary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib") // not made yet: the library creates it
	a, _ := newTestApp(t, dir)
	out := filepath.Join(dir, "teddy"+store.ConceptExt)
	if err := a.writeTrained(out, smallConcept("teddy"), []image.Image{grey(512, 256, 30), grey(20, 20, 220)}); err != nil {
		t.Fatal(err)
	}
	imgs, err := a.TrainingImages("teddy*")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].Bounds().Size() != image.Pt(256, 128) || imgs[1].Bounds().Size() != image.Pt(20, 20) {
		t.Fatalf("got %d images", len(imgs))
	}
	if r, _, _, _ := imgs[1].At(10, 10).RGBA(); r>>8 != 220 {
		t.Fatalf("second image changed: %d", r>>8)
	}
	// The rename and delete use cases carry them along.
	if err := a.RenameConcept("teddy", "bear"); err != nil {
		t.Fatal(err)
	}
	if imgs, err := a.TrainingImages("bear"); err != nil || len(imgs) != 2 {
		t.Fatalf("after rename: %d, %v", len(imgs), err)
	}
	id, err := a.DeleteConcept("bear")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.TrainingImages("bear"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(Explain(err), `no concept called "bear"`) {
		t.Fatalf("deleted concept: %v", err)
	}
	if _, err := a.RestoreConcept(id); err != nil {
		t.Fatal(err)
	}
	if imgs, err := a.TrainingImages("bear"); err != nil || len(imgs) != 2 {
		t.Fatalf("after restore: %d, %v", len(imgs), err)
	}
}

func TestTrainingImagesOfUnknownAndImportedConcepts(t *testing.T) {
	dir := t.TempDir()
	a, _ := newTestApp(t, dir)
	if _, err := a.TrainingImages("ghost"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("unknown concept: %v", err)
	}
	src := filepath.Join(t.TempDir(), "cup"+store.ConceptExt)
	cup := smallConcept("cup")
	if b, err := engine.DefaultBase(); err == nil { // imports are checked against the embedded model
		cup.BaseID = b.ID()
		cup.Tensors["emb"] = engine.Tensor{Shape: []int{1, b.Cfg.TextDim}, Data: make([]float32, b.Cfg.TextDim)}
	}
	if err := engine.WriteConceptFile(src, cup); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ImportConcept(src); err != nil {
		t.Fatal(err)
	}
	imgs, err := a.TrainingImages("cup")
	if err != nil || len(imgs) != 0 {
		t.Fatalf("imported concept: %d images, %v; want none and no error", len(imgs), err)
	}
}

func TestTrainedConceptOutsideTheLibraryIsJustAFile(t *testing.T) {
	lib := t.TempDir()
	a, _ := newTestApp(t, lib)
	other := t.TempDir()
	out := filepath.Join(other, "teddy"+store.ConceptExt)
	if err := a.writeTrained(out, smallConcept("teddy"), []image.Image{grey(8, 8, 1)}); err != nil {
		t.Fatal(err)
	}
	des, _ := os.ReadDir(other)
	if len(des) != 1 || des[0].Name() != "teddy"+store.ConceptExt {
		t.Fatalf("wrote %v next to the file", des)
	}
	if des, _ := os.ReadDir(lib); len(des) != 0 {
		t.Fatalf("the library was touched: %d entries", len(des))
	}
}

func TestTrainedConceptIsSavedEvenWhenTheLibraryStaysLocked(t *testing.T) {
	dir := t.TempDir()
	holder, err := store.OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	old := libraryWait
	libraryWait = 100 * time.Millisecond
	defer func() { libraryWait = old }()
	a, errOut := newTestApp(t, dir)
	out := filepath.Join(dir, "teddy"+store.ConceptExt)
	if err := a.writeTrained(out, smallConcept("teddy"), []image.Image{grey(8, 8, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.ReadConceptFile(out); err != nil {
		t.Fatalf("the concept was lost: %v", err)
	}
	if !strings.Contains(errOut.String(), "without its training images") {
		t.Fatalf("no warning: %q", errOut.String())
	}
	if imgs, err := a.TrainingImages("teddy"); err != nil || len(imgs) != 0 {
		t.Fatalf("%d images, %v", len(imgs), err)
	}
}
