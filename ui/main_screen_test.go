package ui

import (
	"context"
	"errors"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"conceptstudio/app"
)

// fakeStudio records what the screen asks of the app.
type fakeStudio struct {
	mu       sync.Mutex
	requests []app.GenerateRequest
	err      error
	concepts []app.ConceptEntry
	rendered app.Rendered
}

func (f *fakeStudio) Render(_ context.Context, req app.GenerateRequest, _ app.ProgressFunc) (app.Rendered, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	return f.rendered, f.err
}

func (f *fakeStudio) LibraryConcepts() ([]app.ConceptEntry, error) { return f.concepts, nil }

func waitStatus(t *testing.T, m *mainScreen, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for drainMain(); !strings.Contains(m.status.Text, want); drainMain() {
		if time.Now().After(deadline) {
			t.Fatalf("status %q never contained %q", m.status.Text, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGenerateSendsThePromptAndSeed(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewWindow(nil)
	defer w.Close()
	f := &fakeStudio{err: errors.New("boom")}
	m := buildMainScreen(w, f)
	w.SetContent(m.root)

	test.Tap(m.generate)
	waitStatus(t, m, "Write a prompt first")
	if len(f.requests) != 0 {
		t.Fatal("an empty prompt must not reach the app")
	}

	test.Type(m.prompt, "a teddy* on a blue background")
	test.Tap(m.generate)
	waitStatus(t, m, "Generation failed: boom")
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 || f.requests[0].Prompt != "a teddy* on a blue background" || f.requests[0].Seed != 1 {
		t.Fatalf("request %+v", f.requests)
	}
}

func TestLibraryPanelShowsConcepts(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewWindow(nil)
	defer w.Close()
	m := buildMainScreen(w, &fakeStudio{concepts: []app.ConceptEntry{{Name: "teddy"}, {Name: "cup"}}})
	w.SetContent(m.root)
	if n := m.library.Length(); n != 2 {
		t.Fatalf("library shows %d rows, want 2", n)
	}
}

func TestDropReportsTheFiles(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewWindow(nil)
	defer w.Close()
	var dropped func(fyne.Position, []fyne.URI)
	m := buildMainScreenWithDrop(w, &fakeStudio{}, func(f func(fyne.Position, []fyne.URI)) { dropped = f })
	w.SetContent(m.root)
	dropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI("/tmp/a.png"), storage.NewFileURI("/tmp/b.jpg")})
	if !strings.Contains(m.status.Text, "a.png, b.jpg") {
		t.Fatalf("status %q", m.status.Text)
	}
}

// TestGenerationNotesReachTheWindow: what the app says of a request (a
// word the model does not know, left out) shows in the status line, not
// only on a terminal nobody reads.
func TestGenerationNotesReachTheWindow(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewWindow(nil)
	defer w.Close()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	f := &fakeStudio{rendered: app.Rendered{Shots: []app.Shot{{Image: img}}, Notes: []string{`the model does not know "sailing"; left out of the prompt`}}}
	m := buildMainScreen(w, f)
	w.SetContent(m.root)
	test.Type(m.prompt, "a dog sailing")
	test.Tap(m.generate)
	waitStatus(t, m, `Note: the model does not know "sailing"`)
}

// TestMainScreenFitsSmallScreens: the window's content needs no more than
// the window's first size (1000×660), which fits a 1024×700 screen with
// its title bar; it was 1101 wide, and the screen cut both side panels.
func TestMainScreenFitsSmallScreens(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts()}
	m, _, _ := newTestScreen(t, f, nil)
	if min := m.root.MinSize(); min.Width > 1000 || min.Height > 660 {
		t.Fatalf("the main screen needs %v, more than 1000×660", min)
	}
}

// TestMainScreenFitsWithAFullGallery: an empty library (no concepts: the
// left panel shows its hint) and a gallery of four pictures still fit
// 1000×660; after the first generation the content once grew wider than
// a 1024×700 screen and cut the training panel.
func TestMainScreenFitsWithAFullGallery(t *testing.T) {
	f := &fakeBackend{}
	m, w, _ := newTestScreen(t, f, nil)
	w.Resize(fyne.NewSize(1000, 660))
	test.Type(m.prompt, "a big cat on a white background")
	test.Tap(m.generate)
	wait(t, m.generated, "the generation")
	if min := m.root.MinSize(); min.Width > 1000 || min.Height > 660 {
		t.Fatalf("with four pictures in the gallery the main screen needs %v, more than 1000×660", min)
	}
}
