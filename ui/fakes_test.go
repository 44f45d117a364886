package ui

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"conceptstudio/app"
)

// fakeBackend is a Backend that records what the window asks.
type fakeBackend struct {
	mu          sync.Mutex
	concepts    []ConceptInfo
	vocab       []string
	imageChecks map[string]ImageCheck       // CheckImages' answers by path (others: fine)
	checker     func([]string) []ImageCheck // when set, CheckImages asks it instead
	cutDir      string                      // where SaveCutOut writes

	specs    []GenerateSpec
	genErr   error
	genBlock bool // GenerateImages waits for its context to end
	genCtxs  []error

	trainSpecs []TrainSpec
	train      func(ctx context.Context, spec TrainSpec, progress func(Progress)) error

	renamed  [][2]string
	deleted  []string
	restored []string
	exported [][2]string
	imported []string
	settings map[string]GenerateSpec

	// outdated answers OutdatedConcepts.
	outdated []OutdatedConcept

	// trainingImages answers TrainingImages by name (a name not in it is
	// an unknown concept); nil: two grey squares for every concept.
	trainingImages map[string][]image.Image
}

func (f *fakeBackend) GenerateImages(ctx context.Context, spec GenerateSpec, progress func(Progress)) ([]Shot, error) {
	f.mu.Lock()
	f.specs = append(f.specs, spec)
	block, genErr := f.genBlock, f.genErr
	f.mu.Unlock()
	if progress != nil {
		progress(Progress{Step: 1, Total: 2, Elapsed: time.Second})
	}
	if block {
		<-ctx.Done()
		f.mu.Lock()
		f.genCtxs = append(f.genCtxs, ctx.Err())
		f.mu.Unlock()
		return nil, ctx.Err()
	}
	if genErr != nil {
		return nil, genErr
	}
	var shots []Shot
	for i := range spec.N {
		shots = append(shots, Shot{Image: solid(uint8(40 * i)), Spec: spec, Index: i})
	}
	return shots, nil
}

func (f *fakeBackend) lastSpec() (GenerateSpec, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.specs) == 0 {
		return GenerateSpec{}, 0
	}
	return f.specs[len(f.specs)-1], len(f.specs)
}

func (f *fakeBackend) TrainConcept(ctx context.Context, spec TrainSpec, progress func(Progress)) error {
	f.mu.Lock()
	f.trainSpecs = append(f.trainSpecs, spec)
	train := f.train
	f.mu.Unlock()
	if train != nil {
		return train(ctx, spec, progress)
	}
	return nil
}

func (f *fakeBackend) Concepts() ([]ConceptInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ConceptInfo(nil), f.concepts...), nil
}

func (f *fakeBackend) RenameConcept(oldName, newName string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renamed = append(f.renamed, [2]string{oldName, newName})
	for i := range f.concepts {
		if f.concepts[i].Name == oldName {
			f.concepts[i].Name = newName
		}
	}
	return nil
}

func (f *fakeBackend) DeleteConcept(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, name)
	for i, c := range f.concepts {
		if c.Name == name {
			f.concepts = append(f.concepts[:i], f.concepts[i+1:]...)
			return "trash:" + name, nil
		}
	}
	return "", errors.New("no such concept")
}

func (f *fakeBackend) RestoreConcept(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restored = append(f.restored, id)
	f.concepts = append(f.concepts, ConceptInfo{Name: strings.TrimPrefix(id, "trash:"), Method: "perfusion", Identity: noIdentity})
	return nil
}

func (f *fakeBackend) ExportConcept(name, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exported = append(f.exported, [2]string{name, path})
	return nil
}

func (f *fakeBackend) TrainingImages(name string) ([]image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.trainingImages == nil {
		return []image.Image{solid(10), solid(200)}, nil
	}
	imgs, ok := f.trainingImages[name]
	if !ok {
		return nil, errors.New("there is no concept called \"" + name + "\" in the library")
	}
	return imgs, nil
}

func (f *fakeBackend) ImportConcept(path string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imported = append(f.imported, path)
	name := strings.TrimSuffix(filepath.Base(path), ".concept.safetensors")
	f.concepts = append(f.concepts, ConceptInfo{Name: name, Method: "perfusion", Identity: noIdentity})
	return name, nil
}

func (f *fakeBackend) ImageSettings(path string) (GenerateSpec, error) {
	if s, ok := f.settings[path]; ok {
		return s, nil
	}
	return GenerateSpec{}, ErrNoSettings
}

// Picture, CutOut and SaveCutOut are the app's own (cut-outs saved in
// f.cutDir, a test's folder).
func (f *fakeBackend) Picture(path string, side int) (image.Image, error) {
	return app.LoadPicture(path, side)
}

func (f *fakeBackend) CutOut(path string, h CutOutHints) (image.Image, image.Image, error) {
	return app.CutOut(path, h)
}

func (f *fakeBackend) SaveCutOut(cut image.Image, original string) (string, error) {
	if f.cutDir == "" {
		return "", errors.New("fake backend: no cut-out folder")
	}
	return app.SaveCutOut(cut, original, f.cutDir)
}

// CheckImages answers the checks set in f.imageChecks, and "fine" for
// every other file.
func (f *fakeBackend) CheckImages(paths []string) []ImageCheck {
	if f.checker != nil {
		return f.checker(paths)
	}
	out := make([]ImageCheck, len(paths))
	for i, p := range paths {
		out[i] = ImageCheck{Path: p}
		if c, ok := f.imageChecks[p]; ok {
			out[i] = c
			out[i].Path = p
		}
	}
	return out
}

func (f *fakeBackend) OutdatedConcepts() ([]OutdatedConcept, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outdated, nil
}

func (f *fakeBackend) VocabularyWords() ([]string, error) {
	if f.vocab == nil {
		return nil, notAvailable("vocabulary")
	}
	return f.vocab, nil
}

// fakeSaver answers every question at once with fixed places.
type fakeSaver struct {
	file, dir string
	asked     []string
	open      []string // OpenImage's answers, in turn ("" when none is left)
}

func (s *fakeSaver) OpenImage(title string, done func(string, error)) {
	s.asked = append(s.asked, "open")
	if len(s.open) == 0 {
		done("", nil)
		return
	}
	p := s.open[0]
	s.open = s.open[1:]
	done(p, nil)
}

func (s *fakeSaver) SaveFile(title, suggested string, done func(string, error)) {
	s.asked = append(s.asked, suggested)
	if s.file == "" {
		done("", nil)
		return
	}
	done(filepath.Join(s.file, suggested), nil)
}

func (s *fakeSaver) ChooseFolder(title string, done func(string, error)) {
	s.asked = append(s.asked, "folder")
	done(s.dir, nil)
}

// solid is a 32×32 image of one grey.
func solid(v uint8) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = v
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// writePNG writes a small PNG and returns its path.
func writePNG(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{200, 100, 0, 255})
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// testConcepts are three concepts, one per kind of gate.
func testConcepts() []ConceptInfo {
	return []ConceptInfo{
		{Name: "teddy", Class: "teddy bear", Method: "perfusion", Size: 10 << 10, Identity: 0.82, Thumbnail: solid(90)},
		{Name: "mug", Class: "cup", Method: "lora", Size: 100 << 10, Identity: noIdentity},
		{Name: "cat", Class: "cat", Method: "ti", Size: 3 << 10, Identity: 0.5},
	}
}

// newTestScreen builds the main screen over a fake backend and saver,
// returning the drop handler too.
// testScreen is the main screen with signals for finished background work.
type testScreen struct {
	*mainScreen
	generated, previewed chan struct{}
}

func newTestScreen(t *testing.T, f *fakeBackend, s Saver) (*testScreen, fyne.Window, func(fyne.Position, []fyne.URI)) {
	t.Helper()
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	var drop func(fyne.Position, []fyne.URI)
	if s == nil {
		s = &fakeSaver{}
	}
	m := &testScreen{mainScreen: buildScreen(w, f, s, func(h func(fyne.Position, []fyne.URI)) { drop = h })}
	m.generated = make(chan struct{}, 16)
	m.previewed = make(chan struct{}, 16)
	m.afterGenerate = func() { m.generated <- struct{}{} }
	m.afterPreview = func() { m.previewed <- struct{}{} }
	w.SetContent(m.root)
	w.Resize(fyne.NewSize(1100, 720))
	return m, w, drop
}

// wait waits for one signal on ch, failing with msg after 5 s.
func wait(t *testing.T, ch chan struct{}, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		drainMain()
		select {
		case <-ch:
			return
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for " + msg)
		}
	}
}

// eventually waits for cond, failing with msg after 5 s.
func eventually(t *testing.T, msg string, cond func() bool) {
	t.Helper()
	// Generous: the image checks run GrabCut, which under -race on a
	// loaded 2-core machine took over 5 s (TestCutOutUndoAndBrushSizes
	// timed out in CI), and since the automatic cut-out cuts twice (a
	// barrier prior) about 30 s (it timed out at 30 s on 2026-12-07, the
	// check's own CPU 7.5 s and the race detector's twice that); the wait
	// ends as soon as cond holds.
	deadline := time.Now().Add(90 * time.Second)
	for drainMain(); !cond(); drainMain() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for " + msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
