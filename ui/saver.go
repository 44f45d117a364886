package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	sqdialog "github.com/sqweek/dialog"
)

// nativeSaver asks with the desktop's own file dialog (GTK on Linux, via
// github.com/sqweek/dialog) and falls back to Fyne's dialog when the native
// one cannot open (no GTK display, or it failed).
type nativeSaver struct {
	win     fyne.Window
	lastDir string // the folder chosen last, where the next dialog starts
	// save and folder run the native dialogs; they block, so they run off
	// the main goroutine. Tests replace them.
	save   func(title, suggested string) (string, error)
	folder func(title, start string) (string, error)
	open   func(title, start string) (string, error)
	// shown, if set, is called (on Fyne's goroutine) after a fallback
	// dialog was put up; tests wait on it instead of polling the overlays.
	shown func()
}

// newNativeSaver returns the real Saver for a window.
func newNativeSaver(win fyne.Window) *nativeSaver {
	return &nativeSaver{win: win, save: nativeSaveFile, folder: nativeFolder, open: nativeOpenImage}
}

// nativeMu keeps to one native dialog at a time: GTK is not thread-safe.
var nativeMu sync.Mutex

// errNoNative: the native dialog panicked (sqweek/dialog panics when GTK
// could not start).
var errNoNative = errors.New("the native file dialog is not available")

func runNative(f func() (string, error)) (path string, err error) {
	nativeMu.Lock()
	defer nativeMu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		if r := recover(); r != nil {
			path, err = "", fmt.Errorf("%w: %v", errNoNative, r)
		}
	}()
	return f()
}

func nativeSaveFile(title, suggested string) (string, error) {
	return runNative(func() (string, error) {
		b := sqdialog.File().Title(title).SetStartDir(filepath.Dir(suggested)).SetStartFile(filepath.Base(suggested))
		switch {
		case strings.HasSuffix(suggested, ".concept.safetensors"):
			b = b.Filter("Concept file", "safetensors")
		case strings.HasSuffix(suggested, ".png"):
			b = b.Filter("PNG image", "png")
		}
		return b.Save()
	})
}

// imageExts are the image files the open dialog offers.
var imageExts = []string{"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"}

func nativeOpenImage(title, start string) (string, error) {
	return runNative(func() (string, error) {
		return sqdialog.File().Title(title).SetStartDir(start).Filter("Images", imageExts...).Load()
	})
}

func nativeFolder(title, start string) (string, error) {
	return runNative(func() (string, error) { return sqdialog.Directory().Title(title).SetStartDir(start).Browse() })
}

// startDir is where a dialog opens: the last folder used, else the
// pictures or home folder.
func (s *nativeSaver) startDir() string {
	if s.lastDir != "" {
		return s.lastDir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	if st, err := os.Stat(filepath.Join(home, "Pictures")); err == nil && st.IsDir() {
		return filepath.Join(home, "Pictures")
	}
	return home
}

// ask runs a native dialog off the window's goroutine (it blocks) and
// answers on the window's: the path, remembering its folder (folderOf);
// "" when the user cancelled; else Fyne's own dialog (fallback).
func (s *nativeSaver) ask(native func() (string, error), folderOf func(string) string, fallback func(func(string, error)), done func(string, error)) {
	go func() {
		path, err := native()
		onMain(func() {
			switch {
			case err == nil:
				s.lastDir = folderOf(path)
				done(path, nil)
			case errors.Is(err, sqdialog.ErrCancelled):
				done("", nil)
			default:
				fallback(done)
			}
		})
	}()
}

// SaveFile implements Saver.
func (s *nativeSaver) SaveFile(title, suggested string, done func(string, error)) {
	start := s.startDir()
	s.ask(func() (string, error) { return s.save(title, filepath.Join(start, suggested)) }, filepath.Dir,
		func(d func(string, error)) { s.fyneSave(filepath.Base(suggested), d) }, done)
}

// ChooseFolder implements Saver.
func (s *nativeSaver) ChooseFolder(title string, done func(string, error)) {
	start := s.startDir()
	s.ask(func() (string, error) { return s.folder(title, start) }, func(dir string) string { return dir }, s.fyneFolder, done)
}

// OpenImage implements Saver: the desktop's open dialog for one image
// (Fyne's when it cannot open); "" when the user cancels.
func (s *nativeSaver) OpenImage(title string, done func(string, error)) {
	start := s.startDir()
	s.ask(func() (string, error) { return s.open(title, start) }, filepath.Dir, s.fyneOpen, done)
}

// fyneOpen is the fallback: Fyne's own open dialog, images only.
func (s *nativeSaver) fyneOpen(done func(string, error)) {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			done("", err)
			return
		}
		rc.Close()
		done(rc.URI().Path(), nil)
	}, s.win)
	exts := make([]string, len(imageExts))
	for i, e := range imageExts {
		exts[i] = "." + e
	}
	d.SetFilter(storage.NewExtensionFileFilter(exts))
	d.Show()
	if s.shown != nil {
		s.shown()
	}
}

// fyneSave is the fallback: Fyne's own save dialog.
func (s *nativeSaver) fyneSave(suggested string, done func(string, error)) {
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			done("", err)
			return
		}
		wc.Close()
		done(wc.URI().Path(), nil)
	}, s.win)
	d.SetFileName(suggested)
	if ext := filepath.Ext(suggested); ext != "" {
		d.SetFilter(storage.NewExtensionFileFilter([]string{ext}))
	}
	d.Show()
	if s.shown != nil {
		s.shown()
	}
}

// fyneFolder is the fallback: Fyne's own folder dialog.
func (s *nativeSaver) fyneFolder(done func(string, error)) {
	dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil || l == nil {
			done("", err)
			return
		}
		done(l.Path(), nil)
	}, s.win).Show()
	if s.shown != nil {
		s.shown()
	}
}

// dirSaver answers every save without asking: a file goes into the folder
// under its suggested name, and a folder request gets the folder itself
// (ui.Options.ExportDir, for automated runs).
type dirSaver string

// SaveFile implements Saver.
func (d dirSaver) SaveFile(_, suggested string, done func(string, error)) {
	done(filepath.Join(string(d), filepath.Base(suggested)), nil)
}

// ChooseFolder implements Saver.
func (d dirSaver) ChooseFolder(_ string, done func(string, error)) { done(string(d), nil) }

// OpenImage implements Saver: an automated run opens nothing.
func (d dirSaver) OpenImage(_ string, done func(string, error)) { done("", nil) }
