package ui

import (
	"errors"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	sqdialog "github.com/sqweek/dialog"
)

func TestNativeSaverFallsBackToFyne(t *testing.T) {
	newTestApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(800, 600))
	type result struct {
		path string
		err  error
	}
	got := make(chan result, 1)
	done := func(p string, err error) { got <- result{p, err} }

	s := newNativeSaver(w)
	// The answers reach the window through onMain, which the tests' queue
	// runs on this goroutine while recv waits.
	shown := make(chan struct{}, 1)
	s.shown = func() { shown <- struct{}{} }
	var asked string
	s.save = func(title, suggested string) (string, error) { asked = suggested; return "/tmp/x/a.png", nil }
	s.SaveFile("Export", "a.png", done)
	if r := recv(t, got, "the answer"); r.path != "/tmp/x/a.png" || r.err != nil || filepath.Base(asked) != "a.png" {
		t.Fatalf("native answer %+v (asked %q)", r, asked)
	}
	// The next dialog starts in the folder chosen last.
	s.SaveFile("Export", "b.png", done)
	if r := recv(t, got, "the answer"); asked != "/tmp/x/b.png" {
		t.Fatalf("second dialog asked %q (%+v)", asked, r)
	}
	s.save = func(string, string) (string, error) { return "", sqdialog.ErrCancelled }
	s.SaveFile("Export", "a.png", done)
	if r := recv(t, got, "the answer"); r.path != "" || r.err != nil {
		t.Fatalf("cancel %+v", r)
	}
	// A native dialog that cannot open gives Fyne's.
	s.save = func(string, string) (string, error) { return "", errNoNative }
	s.SaveFile("Export", "a.png", done)
	recv(t, shown, "the dialog")
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("no Fyne save dialog")
	}
	if len(got) != 0 {
		t.Fatal("the fallback answered before the user did")
	}
	w.Canvas().Overlays().Top().Hide()
	w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())

	s.folder = func(string, string) (string, error) { return "", errors.New("no gtk") }
	s.ChooseFolder("Export", done)
	recv(t, shown, "the dialog")
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("no Fyne folder dialog")
	}

	// The real native call never panics: without GTK it returns an error.
	if _, err := runNative(func() (string, error) { panic("gtk initialisation failed") }); !errors.Is(err, errNoNative) {
		t.Fatalf("panic became %v", err)
	}
}
