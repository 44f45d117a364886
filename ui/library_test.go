package ui

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
)

func TestLibraryRowsShowMethodSizeAndScore(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts()}
	m, _, _ := newTestScreen(t, f, nil)
	p := m.libPanel
	if p.list.Length() != 3 {
		t.Fatalf("%d rows", p.list.Length())
	}
	row := p.newRow()
	p.updateRow(0, row)
	r := row.(*libraryRow)
	if r.name.Text != "teddy*" || r.class.Text != "teddy bear" || r.detail.Text != "Perfusion · 10 KB" || r.score.Text != "identity 0.82" ||
		r.thumb.Image == nil || r.thumb.ScaleMode != canvas.ImageScalePixels {
		t.Fatalf("row %q %q %q %q thumb %v", r.name.Text, r.class.Text, r.detail.Text, r.score.Text, r.thumb.Image != nil)
	}
	p.updateRow(1, row)
	if r.class.Text != "cup" || r.detail.Text != "LoRA · 100 KB" || r.score.Text != "" {
		t.Fatalf("row without a score: %q %q %q", r.class.Text, r.detail.Text, r.score.Text)
	}
	// A click puts the concept in the prompt.
	test.Type(m.prompt, "a")
	p.list.Select(1)
	if m.editor.Text() != "a mug*" {
		t.Fatalf("prompt %q", m.editor.Text())
	}
	// The menu has the actions.
	var labels []string
	for _, it := range p.menuFor("teddy").Items {
		labels = append(labels, it.Label)
	}
	if !reflect.DeepEqual(labels, []string{"Use in prompt", "Place in scene", "Rename…", "Export…", "Show training images", "", "Delete"}) {
		t.Fatalf("menu %q", labels)
	}
}

func TestLibraryDeleteUndoRenameExport(t *testing.T) {
	dir := t.TempDir()
	saver := &fakeSaver{file: dir}
	f := &fakeBackend{concepts: testConcepts()}
	m, w, _ := newTestScreen(t, f, saver)
	p := m.libPanel
	test.Type(m.prompt, "a teddy* on the left")

	p.Delete("teddy")
	if !reflect.DeepEqual(f.deleted, []string{"teddy"}) || p.list.Length() != 2 || !p.undoBar.Visible() {
		t.Fatalf("delete: %v, %d rows, undo shown %v", f.deleted, p.list.Length(), p.undoBar.Visible())
	}
	if h := m.editor.Hints(); len(h) != 1 || !strings.HasPrefix(h[0], "unknown concept: teddy*") {
		t.Fatalf("after delete the prompt hints %q", h)
	}
	if m.gates.Slider("teddy") != nil {
		t.Fatal("a deleted concept keeps its gate")
	}
	test.Tap(p.undoBtn)
	if !reflect.DeepEqual(f.restored, []string{"trash:teddy"}) || p.list.Length() != 3 || p.undoBar.Visible() {
		t.Fatalf("undo: %v, %d rows", f.restored, p.list.Length())
	}
	if len(m.editor.Hints()) != 0 || m.gates.Slider("teddy") == nil {
		t.Fatal("the restored concept is not known to the prompt again")
	}

	p.Rename("mug", "cup2")
	if !reflect.DeepEqual(f.renamed, [][2]string{{"mug", "cup2"}}) || !strings.Contains(m.status.Text, "Renamed mug* to cup2*") {
		t.Fatalf("rename %v, status %q", f.renamed, m.status.Text)
	}

	p.Export("cat")
	want := [2]string{"cat", filepath.Join(dir, "cat.concept.safetensors")}
	if len(f.exported) != 1 || f.exported[0] != want {
		t.Fatalf("export %v, want %v", f.exported, want)
	}

	p.ShowTrainingImages("cat")
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("training images not shown")
	}
}

func TestLibraryActionsExplainMissingAppFunctions(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	b := &studioBackend{s: &fakeStudio{}}
	p := NewLibraryPanel(w, b, &fakeSaver{file: t.TempDir()})
	var status string
	p.OnStatus = func(s string) { status = s }
	w.SetContent(p)
	w.Resize(fyne.NewSize(300, 400))
	p.Delete("teddy")
	if !strings.Contains(status, "not available yet: deleting concepts") || p.undoBar.Visible() {
		t.Fatalf("status %q", status)
	}
	p.Export("teddy")
	if !strings.Contains(status, "not available yet: exporting concepts") {
		t.Fatalf("status %q", status)
	}
}

// TestOutdatedConceptsAreOfferedForRetraining: concepts made for another
// base model show a bar in the library; "Retrain all" puts each one with
// training images in the training queue (name, class, method and its kept
// images) and says which cannot be retrained; the bar goes.
func TestOutdatedConceptsAreOfferedForRetraining(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts(), outdated: []OutdatedConcept{
		{Name: "teddy", Class: "teddy bear", Method: "perfusion", Images: []string{"/lib/teddy.images/001.png", "/lib/teddy.images/002.png"}},
		{Name: "mug", Class: "cup", Method: "lora"},
	}}
	f.train = func(ctx context.Context, spec TrainSpec, progress func(Progress)) error {
		<-ctx.Done()
		return ctx.Err()
	}
	m, _, _ := newTestScreen(t, f, nil)
	eventually(t, "the outdated check", func() bool { return len(m.libPanel.Outdated()) == 2 })
	if !m.libPanel.outdatedBar.Visible() || !strings.Contains(m.libPanel.outdatedMsg.Text, "teddy*, mug*") {
		t.Fatalf("bar visible %v, text %q", m.libPanel.outdatedBar.Visible(), m.libPanel.outdatedMsg.Text)
	}
	test.Tap(m.libPanel.retrain)
	eventually(t, "the retraining to start", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.trainSpecs) == 1
	})
	f.mu.Lock()
	spec := f.trainSpecs[0]
	f.mu.Unlock()
	if spec.Name != "teddy" || spec.Class != "teddy bear" || spec.Method != "perfusion" || len(spec.Images) != 2 {
		t.Fatalf("queued %+v", spec)
	}
	if m.libPanel.outdatedBar.Visible() {
		t.Error("the bar stayed after Retrain all")
	}
	if !strings.Contains(m.status.Text, "Retraining teddy*") || !strings.Contains(m.status.Text, "mug* kept no training images") {
		t.Errorf("status %q", m.status.Text)
	}
	m.training.CancelAll()
}
