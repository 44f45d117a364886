package ui

import (
	"cmp"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"conceptstudio/app"
)

func uris(paths ...string) []fyne.URI {
	var out []fyne.URI
	for _, p := range paths {
		out = append(out, storage.NewFileURI(p))
	}
	return out
}

func TestDroppingImagesOpensTheNewConceptSheet(t *testing.T) {
	tr := newStepTrainer()
	f := &fakeBackend{concepts: testConcepts(), vocab: testVocab, train: tr.TrainConcept}
	m, w, drop := newTestScreen(t, f, nil)
	dir := t.TempDir()
	a, b, c := writePNG(t, dir, "Bear1.png"), writePNG(t, dir, "bear2.png"), writePNG(t, dir, "bear3.png")
	drop(fyne.NewPos(5, 5), uris(a, b, c))
	s := m.sheet
	if s == nil || w.Canvas().Overlays().Top() == nil {
		t.Fatal("no sheet")
	}
	if !strings.Contains(m.status.Text, "3 image(s): Bear1.png, bear2.png, bear3.png") {
		t.Fatalf("status %q", m.status.Text)
	}
	if s.name.Text != "bear" {
		t.Fatalf("suggested name %q", s.name.Text)
	}
	if s.Method() != "perfusion" {
		t.Fatalf("default method %q", s.Method())
	}
	for _, want := range []string{"Perfusion — ~1 min, ~10 KB", "Textual inversion — ~1 min, <4 KB", "LoRA — ~2 min, ~100 KB", "DreamBooth — ~5 min, MBs"} {
		found := false
		for _, o := range s.method.Options {
			found = found || strings.HasPrefix(o, want)
		}
		if !found {
			t.Errorf("no method line %q in %q", want, s.method.Options)
		}
	}

	eventually(t, "the image checks", func() bool { return !s.Checking() })
	// Remove one image.
	s.Remove(b)
	if got := s.Images(); !reflect.DeepEqual(got, []string{a, c}) || len(s.strip.Objects) != 2 {
		t.Fatalf("images %v, %d cells", got, len(s.strip.Objects))
	}
	// Names are validated; the class is required.
	for _, bad := range []string{"Bear", "1bear", "my bear", "teddy"} {
		s.name.SetText(bad)
		if s.name.Validate() == nil || !s.train.Disabled() {
			t.Errorf("name %q accepted", bad)
		}
	}
	s.name.SetText("bear2")
	if s.name.Validate() != nil || !s.train.Disabled() {
		t.Fatal("Train is on without a class word")
	}
	// Class words come from the vocabulary; unknown ones are flagged.
	test.Type(s.class, "teddy be")
	if !reflect.DeepEqual(s.classOpts, []string{"teddy bear"}) {
		t.Fatalf("class suggestions %q", s.classOpts)
	}
	s.class.SetText("teddy beer")
	if h := s.ClassHint(); !strings.Contains(h, "unknown word(s): beer") {
		t.Fatalf("class hint %q", h)
	}
	s.class.SetText("teddy bear")
	if h := s.ClassHint(); strings.Contains(h, "unknown") || s.train.Disabled() {
		t.Fatalf("class hint %q, train disabled %v", h, s.train.Disabled())
	}
	s.SetMethod("lora")
	// The job's goroutine goes on after the queue stops being busy (the
	// library reloads); the next test must not start before it is done.
	finished := make(chan struct{})
	onFinished := m.training.OnFinished
	m.training.OnFinished = func(spec TrainSpec, err error) { onFinished(spec, err); close(finished) }
	test.Tap(s.train)
	eventually(t, "the job to start", func() bool { return tr.started() == 1 })
	want := TrainSpec{Name: "bear2", Class: "teddy bear", Method: "lora", Images: []string{a, c}}
	if got := tr.specs[0]; !reflect.DeepEqual(got, want) {
		t.Fatalf("train spec %+v, want %+v", got, want)
	}
	if !m.training.Busy() {
		t.Fatal("the job is not in the queue")
	}
	tr.finish <- nil
	recv(t, finished, "the job to end")
	if m.training.Busy() {
		t.Fatal("the queue is still busy")
	}
}

func TestDroppingAConceptFileImportsIt(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts()}
	m, _, drop := newTestScreen(t, f, nil)
	drop(fyne.NewPos(5, 5), uris("/some/where/dog.concept.safetensors", "/x/notes.txt"))
	if !reflect.DeepEqual(f.imported, []string{"/some/where/dog.concept.safetensors"}) {
		t.Fatalf("imported %v", f.imported)
	}
	if m.sheet != nil {
		t.Fatal("a concept file opened the new-concept sheet")
	}
	if !strings.Contains(m.status.Text, "Imported dog*.") || !strings.Contains(m.status.Text, "Skipped notes.txt") {
		t.Fatalf("status %q", m.status.Text)
	}
	if m.library.Length() != 4 {
		t.Fatalf("library shows %d concepts after the import", m.library.Length())
	}
	// The prompt knows the new concept.
	m.editor.SetText("a dog* on the left")
	if len(m.editor.Hints()) != 0 {
		t.Fatalf("hints %q", m.editor.Hints())
	}
}

func TestDroppingAnExportedPNGRestoresItsSettings(t *testing.T) {
	dir := t.TempDir()
	png := writePNG(t, dir, "shot.png")
	f := &fakeBackend{concepts: testConcepts(), settings: map[string]GenerateSpec{
		png: {Prompt: "a teddy* on a blue background", Seed: 42, Steps: 30, Guidance: 5.5, N: 2, Gates: []string{"teddy=0.55"}, GlobalLocking: true},
	}}
	m, _, drop := newTestScreen(t, f, nil)
	m.settings.lock.SetChecked(false)
	drop(fyne.NewPos(5, 5), uris(png))
	if m.sheet != nil {
		t.Fatal("an exported PNG opened the new-concept sheet")
	}
	spec, err := m.settings.Spec()
	if err != nil || m.editor.Text() != "a teddy* on a blue background" || spec.Seed != 42 || spec.Steps != 30 ||
		spec.Guidance != 5.5 || spec.N != 2 || !m.settings.SeedLocked() {
		t.Fatalf("restored %q %+v %v", m.editor.Text(), spec, err)
	}
	if got := m.gates.Gates(); !reflect.DeepEqual(got, []string{"teddy=0.55"}) || !m.gates.GlobalLocking() {
		t.Fatalf("gates %v global %v", got, m.gates.GlobalLocking())
	}
	if !strings.Contains(m.status.Text, "Restored the prompt and settings of shot.png") {
		t.Fatalf("status %q", m.status.Text)
	}
	// A PNG without settings is a training image.
	other := writePNG(t, dir, "photo.png")
	drop(fyne.NewPos(5, 5), uris(other))
	if m.sheet == nil || !reflect.DeepEqual(m.sheet.Images(), []string{other}) {
		t.Fatal("a plain PNG did not open the new-concept sheet")
	}
	_ = fmt.Sprint()
}

// TestSheetMarksBadFilesAtOnce: files a new user drops by mistake (a text
// file renamed .png, a 1×1 image, the same photo twice) are checked when
// the sheet opens, with the app's real checks: each unusable one is
// marked on its thumbnail with the reason and Train stays off until they
// are removed; a duplicate only warns.
func TestSheetMarksBadFilesAtOnce(t *testing.T) {
	f := &fakeBackend{vocab: testVocab, checker: app.CheckImages}
	m, _, drop := newTestScreen(t, f, nil)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("shopping list: milk, eggs"), 0o644)
	tiny := filepath.Join(dir, "tiny.png")
	tf, _ := os.Create(tiny)
	png.Encode(tf, image.NewNRGBA(image.Rect(0, 0, 1, 1)))
	tf.Close()
	good, _ := filepath.Abs(filepath.Join("..", "examples", "teddy", "1.png"))
	good2, _ := filepath.Abs(filepath.Join("..", "examples", "teddy", "2.png"))
	twin := filepath.Join(dir, "copy-of-1.png")
	data, _ := os.ReadFile(good)
	os.WriteFile(twin, data, 0o644)
	drop(fyne.NewPos(5, 5), uris(text, tiny, good, good2, twin))
	s := m.sheet
	if s == nil {
		t.Fatal("no sheet")
	}
	eventually(t, "the image checks", func() bool { return !s.Checking() })
	s.name.SetText("bear")
	s.class.SetText("teddy bear")
	if !s.train.Disabled() || !strings.Contains(s.count.Text, "2 of 5 image(s) cannot train") {
		t.Fatalf("train disabled %v, count %q", s.train.Disabled(), s.count.Text)
	}
	for p, want := range map[string]string{text: "not an image", tiny: "too small", twin: "nearly the same as 1.png"} {
		c := s.checks[p]
		t.Logf("%s: %q %q", filepath.Base(p), c.Problem, c.Warning)
		if !strings.Contains(c.Problem+c.Warning, want) {
			t.Errorf("%s: marked %q / %q, want %q", filepath.Base(p), c.Problem, c.Warning, want)
		}
		if strings.Contains(c.Problem+c.Warning, "ExtractObject") || strings.Contains(c.Problem+c.Warning, "store:") {
			t.Errorf("%s: the reason names code: %q", filepath.Base(p), c.Problem+c.Warning)
		}
	}
	if c := s.checks[good]; c.Problem != "" || c.Thumbnail == nil || c.Cutout == nil {
		t.Errorf("a good photo: %+v", c)
	}
	s.Remove(text)
	s.Remove(tiny)
	if s.train.Disabled() {
		t.Fatalf("Train is still off without the bad files (count %q)", s.count.Text)
	}
}

// TestNewConceptWithoutDragAndDrop: "New…" asks for an image with a file
// dialog and opens the sheet on it; "Add image…" there adds more, each
// checked; a cancelled dialog adds nothing.
func TestNewConceptWithoutDragAndDrop(t *testing.T) {
	f := &fakeBackend{vocab: testVocab}
	dir := t.TempDir()
	a, b := writePNG(t, dir, "a.png"), writePNG(t, dir, "b.png")
	saver := &fakeSaver{open: []string{a, b}}
	m, _, _ := newTestScreen(t, f, saver)
	test.Tap(m.training.newBtn)
	s := m.sheet
	if s == nil || !reflect.DeepEqual(s.Images(), []string{a}) {
		t.Fatalf("New… opened %v", s)
	}
	if !s.addBtn.Visible() {
		t.Fatal("no Add image… button")
	}
	test.Tap(s.addBtn)
	eventually(t, "the checks", func() bool { return !s.Checking() })
	if got := s.Images(); !reflect.DeepEqual(got, []string{a, b}) {
		t.Fatalf("images %v after Add image…", got)
	}
	test.Tap(s.addBtn) // the dialog is cancelled: nothing more
	if got := s.Images(); len(got) != 2 {
		t.Fatalf("a cancelled dialog added %v", got)
	}
}

// TestAddedImageIsCheckedWithTheOthers: an image added with "Add
// image…" is checked with those already in the sheet (with the app's
// real checks): the same photo added again under another name is marked
// as a duplicate of the first, as it would be had both been dropped
// together.
func TestAddedImageIsCheckedWithTheOthers(t *testing.T) {
	f := &fakeBackend{vocab: testVocab, checker: app.CheckImages}
	dir := t.TempDir()
	first, _ := filepath.Abs(filepath.Join("..", "examples", "teddy", "1.png"))
	twin := filepath.Join(dir, "copy-of-1.png")
	data, _ := os.ReadFile(first)
	os.WriteFile(twin, data, 0o644)
	saver := &fakeSaver{open: []string{first, twin}}
	m, _, _ := newTestScreen(t, f, saver)
	test.Tap(m.training.newBtn)
	s := m.sheet
	if s == nil {
		t.Fatal("no sheet")
	}
	eventually(t, "the first check", func() bool { return !s.Checking() })
	test.Tap(s.addBtn)
	eventually(t, "the checks", func() bool { return !s.Checking() })
	if w := s.checks[twin].Warning; !strings.Contains(w, "nearly the same as 1.png") {
		t.Errorf("the added twin: %q", w)
	}
	if c := s.checks[first]; c.Problem != "" || c.Warning != "" {
		t.Errorf("the first image: %q / %q", c.Problem, c.Warning)
	}
}

// TestSheetWarnsOfTwoObjects: two teddy bears and two teapots dropped
// together are marked as another object on the teapots' thumbnails (a
// warning: Train stays on, the user decides).
func TestSheetWarnsOfTwoObjects(t *testing.T) {
	f := &fakeBackend{vocab: testVocab, checker: app.CheckImages}
	m, _, drop := newTestScreen(t, f, nil)
	var paths []string
	for _, p := range []string{"teddy/1.png", "teddy/2.png", "teapot/1.png", "teapot/2.png"} {
		abs, _ := filepath.Abs(filepath.Join("..", "examples", p))
		paths = append(paths, abs)
	}
	drop(fyne.NewPos(5, 5), uris(paths...))
	s := m.sheet
	eventually(t, "the image checks", func() bool { return !s.Checking() })
	s.name.SetText("bear")
	s.class.SetText("teddy bear")
	for i, p := range paths {
		warned := strings.Contains(s.checks[p].Warning, "another object")
		if warned != (i >= 2) {
			t.Errorf("%s: warning %q", p, s.checks[p].Warning)
		}
	}
	if s.train.Disabled() {
		t.Error("a warning turned Train off")
	}
}

// TestOnePictureDefaultsToTheInstantMethod: where a method is offered
// for one picture (e4t, when the model carries its encoder), the sheet
// opened on one picture chooses it; on several, the first of the others
// (Perfusion), though the instant method comes first in the list.
func TestOnePictureDefaultsToTheInstantMethod(t *testing.T) {
	saved := methodChoices
	defer func() { methodChoices = saved }()
	// The instant method first, as the registry orders it.
	methodChoices = []methodChoice{{id: "e4t", label: "Instant (encoder) — seconds", oneImage: true}}
	var several string
	for _, m := range saved {
		if !m.oneImage {
			methodChoices = append(methodChoices, m)
			several = cmp.Or(several, m.id)
		}
	}
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	dir := t.TempDir()
	a, b := writePNG(t, dir, "a.png"), writePNG(t, dir, "b.png")
	one := ShowNewConcept(w, []string{a}, testVocab, nil, nil, func(TrainSpec) {})
	if got := one.Method(); got != "e4t" {
		t.Errorf("one picture: method %q, want e4t", got)
	}
	one.dialog.Hide()
	two := ShowNewConcept(w, []string{a, b}, testVocab, nil, nil, func(TrainSpec) {})
	if got := two.Method(); got != several || several != "perfusion" {
		t.Errorf("two pictures: method %q, want %q (perfusion)", got, several)
	}
}
