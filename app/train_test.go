package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/internal/testenv"
	"conceptstudio/store"
)

// TestTrainReportsNoTypedNilPreview: most training reports have no
// preview, and then Progress.Preview must be nil itself, not an
// image.Image holding a nil pointer (the window drew that and crashed).
func TestTrainReportsNoTypedNilPreview(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	lib := t.TempDir()
	a, err := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	reports := 0
	err = a.Train(context.Background(), TrainRequest{Method: "ti", Name: "teddy", Class: "teddy bear", Steps: 2,
		OutPath: filepath.Join(lib, "teddy"+store.ConceptExt), Images: imgs, ModelPath: m},
		func(p Progress) {
			reports++
			if p.Preview != nil && p.Preview.Bounds().Empty() {
				t.Errorf("step %d: a preview with no pixels", p.Step)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if reports == 0 {
		t.Fatal("no progress reports")
	}
}

// TestTrainIntoALibraryNotMadeYet: a fresh install's library folder does
// not exist; training into it (past the first checkpoint, written every
// 25 steps beside the concept file) creates it and saves the concept.
func TestTrainIntoALibraryNotMadeYet(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	lib := filepath.Join(t.TempDir(), "data", "conceptstudio")
	a, err := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	out := filepath.Join(lib, "teddy"+store.ConceptExt)
	if err := a.Train(context.Background(), TrainRequest{Method: "ti", Name: "teddy", Class: "teddy bear", Steps: 30,
		OutPath: out, Images: imgs, ModelPath: m}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("no concept file: %v", err)
	}
	if _, err := os.Stat(out + ".partial"); err == nil {
		t.Errorf("the training checkpoint was left behind")
	}
}

// TestUnknownClassIsRefusedAtOnce: a class word the model does not know
// is refused before any work, in plain words, with the nearest classes it
// knows; no warning first.
func TestUnknownClassIsRefusedAtOnce(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	var errOut bytes.Buffer
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	err = a.Train(context.Background(), TrainRequest{Method: "ti", Name: "moto", Class: "motorcycle", Steps: 3,
		OutPath: filepath.Join(t.TempDir(), "moto"+store.ConceptExt), Images: imgs, ModelPath: m}, nil)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `does not know the class word "motorcycle"`) || !strings.Contains(err.Error(), "bicycle") {
		t.Fatalf("got %v", err)
	}
	if errOut.Len() != 0 {
		t.Errorf("printed before refusing: %q", errOut.String())
	}
	if got := NearestClasses("teddy", 2); len(got) != 2 || got[0] != "teddy bear" {
		t.Errorf("nearest to teddy: %v", got)
	}
}

// TestDiscardTraining: a cancelled training keeps its state beside the
// concept file (so the same training continues); DiscardTraining removes
// it, and discarding again is no error.
func TestDiscardTraining(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	lib := filepath.Join(t.TempDir(), "lib")
	a, err := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	ctx, cancel := context.WithCancel(context.Background())
	err = a.Train(ctx, TrainRequest{Method: "ti", Name: "teddy", Class: "teddy bear", Steps: 50,
		OutPath: a.LibraryPath("teddy"), Images: imgs, ModelPath: m}, func(p Progress) {
		if p.Step >= 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancelled training, got %v", err)
	}
	partial := a.LibraryPath("teddy") + ".partial"
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("nothing kept to continue from: %v", err)
	}
	if err := a.DiscardTraining("teddy"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("still there after Discard: %v", err)
	}
	if err := a.DiscardTraining("teddy"); err != nil {
		t.Fatalf("discarding twice: %v", err)
	}
}

// TestAPhotoCutWithTheOthersIsNamed: from the command line, a photo
// that nothing stood out from by itself, cut with the thing's colours in
// the other photos, trains with them and its warning names the file, as
// the user knows it, not its place in the list.
func TestAPhotoCutWithTheOthersIsNamed(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	a, stderr := newTestApp(t, t.TempDir())
	var photos []string
	for _, n := range []string{"3", "2", "4", "5"} {
		photos = append(photos, "../engine/dataset/testdata/photos/cockatoo-"+n+".jpg")
	}
	out := filepath.Join(t.TempDir(), "coco"+store.ConceptExt)
	if err := a.Train(context.Background(), TrainRequest{Method: "ti", Name: "coco", Class: "parrot", Steps: 1,
		OutPath: out, Images: photos, ModelPath: m}, nil); err != nil {
		t.Fatal(err)
	}
	w := stderr.String()
	if !strings.Contains(w, "warning: cockatoo-2.jpg: nothing stood out") || strings.Contains(w, "image 2:") || strings.Contains(w, "leaving out") {
		t.Errorf("warnings: %q", w)
	}
	c, err := engine.ReadConceptFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Settings.Images != 4 {
		t.Errorf("the concept learned from %d pictures, want all 4", c.Settings.Images)
	}
}

// TestABusyPhotoIsNamedWithWhatToDo: a real photo nothing can be cut
// out of automatically (a close-up of a pale cockatoo on a pale wall) is
// left out with a warning that names the file, not "image 2", and says how
// to cut it out, while other pictures remain; alone, it is refused the
// same way.
func TestABusyPhotoIsNamedWithWhatToDo(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	a, stderr := newTestApp(t, t.TempDir())
	busy := "../engine/dataset/testdata/photos/cockatoo-2.jpg"
	out := filepath.Join(t.TempDir(), "coco"+store.ConceptExt)
	err := a.Train(context.Background(), TrainRequest{Method: "ti", Name: "coco", Class: "parrot", Steps: 1,
		OutPath: out, Images: []string{busy, "../examples/teddy/1.png"}, ModelPath: m}, nil)
	if err != nil {
		t.Fatalf("one good picture of two: %v", err)
	}
	if w := stderr.String(); !strings.Contains(w, "warning: leaving out cockatoo-2.jpg: ") || !strings.Contains(w, "Adjust…") {
		t.Errorf("warnings: %q", w)
	}
	c, err := engine.ReadConceptFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if c.Settings.Images != 1 {
		t.Errorf("the concept learned from %d pictures, want the 1 left", c.Settings.Images)
	}
	err = a.Train(context.Background(), TrainRequest{Method: "ti", Name: "coco", Class: "parrot", Steps: 1,
		OutPath: filepath.Join(t.TempDir(), "coco"+store.ConceptExt), Images: []string{busy}, ModelPath: m}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "cockatoo-2.jpg: ") || !strings.Contains(err.Error(), "Adjust…") {
		t.Fatalf("the busy photo alone: %v", err)
	}
}
