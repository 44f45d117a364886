package ui

import (
	"path/filepath"
	"reflect"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
)

// TestNewConceptSheetByKeyboard: the sheet opens with the name focused;
// Enter moves to the class and Enter there trains.
func TestNewConceptSheetByKeyboard(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts(), vocab: testVocab}
	trained := func() []TrainSpec {
		f.mu.Lock()
		defer f.mu.Unlock()
		return append([]TrainSpec(nil), f.trainSpecs...)
	}
	m, w, drop := newTestScreen(t, f, nil)
	ended := make(chan struct{}, 1)
	finished := m.training.OnFinished
	m.training.OnFinished = func(spec TrainSpec, err error) { finished(spec, err); ended <- struct{}{} }
	dir := t.TempDir()
	a, b := writePNG(t, dir, "1.png"), writePNG(t, dir, "2.png")
	drop(fyne.NewPos(5, 5), uris(a, b))
	s := m.sheet
	eventually(t, "the image checks", func() bool { return s != nil && !s.Checking() })
	if s == nil || w.Canvas().Focused() != s.name {
		t.Fatalf("the sheet's name field should have the focus, not %T", w.Canvas().Focused())
	}
	test.Type(s.name, "bear")
	s.name.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if w.Canvas().Focused() != s.class {
		t.Fatalf("Enter in the name moved the focus to %T, not the class", w.Canvas().Focused())
	}
	test.Type(s.class, "teddy bear")
	s.class.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("the sheet is still open")
	}
	wait(t, ended, "the training job")
	want := TrainSpec{Name: "bear", Class: "teddy bear", Method: "perfusion", Images: []string{a, b}}
	if got := trained(); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("trained %+v, want %+v", got, want)
	}
}

// TestCtrlEExports: Ctrl+E in the prompt exports the selected results, or
// all of them when none is selected.
func TestCtrlEExports(t *testing.T) {
	dir := t.TempDir()
	saver := &fakeSaver{file: dir, dir: dir}
	m, w, _ := newTestScreen(t, &fakeBackend{concepts: testConcepts()}, saver)
	ctrlE := &desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierControl}
	m.editor.Focus(w.Canvas())
	m.editor.entry.TypedShortcut(ctrlE)
	if len(saver.asked) != 0 || m.status.Text != "Nothing to export yet: generate some images first." {
		t.Fatalf("empty gallery: asked %v, status %q", saver.asked, m.status.Text)
	}
	m.editor.SetText("a teddy* on a blue background")
	m.editor.entry.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	wait(t, m.generated, "the generation")
	m.editor.entry.TypedShortcut(ctrlE)
	if !reflect.DeepEqual(saver.asked, []string{"folder"}) {
		t.Fatalf("Ctrl+E with nothing selected asked %v, want a folder for all", saver.asked)
	}
	waitStatus(t, m.mainScreen, "Exported 4 images to "+dir)
	saver.asked = nil
	m.gallery.Select(2, true)
	m.exportNow() // the window's own Ctrl+E, when the prompt does not have the focus
	if want := []string{shotFileName(m.gallery.Shots()[2])}; !reflect.DeepEqual(saver.asked, want) {
		t.Fatalf("Ctrl+E with one selected asked %v, want %v", saver.asked, want)
	}
}

// TestDirSaverAnswersWithoutAsking: ui.Options.ExportDir's saver.
func TestDirSaverAnswersWithoutAsking(t *testing.T) {
	var got []string
	d := dirSaver("/out")
	d.SaveFile("Export image", "/home/me/Pictures/a.png", func(p string, err error) { got = append(got, p) })
	d.ChooseFolder("Export 4 images to", func(p string, err error) { got = append(got, p) })
	if want := []string{filepath.Join("/out", "a.png"), "/out"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
