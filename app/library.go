package app

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"time"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
	"conceptstudio/store"
)

// Vocabulary lists the words the base model knows (the window flags the
// others and suggests class words from them).
func (a *App) Vocabulary() ([]string, error) {
	var vocab []string
	if b, err := a.base(""); err == nil {
		vocab = b.Tok.Vocab()
	} else {
		atlas, err := dataset.LoadAtlas()
		if err != nil {
			return nil, err
		}
		vocab = dataset.NewTokenizer(atlas, 0).Vocab()
	}
	out := make([]string, 0, len(vocab))
	for _, w := range vocab {
		if !strings.HasPrefix(w, "<") {
			out = append(out, w)
		}
	}
	return out, nil
}

// ImageSettings reads the generation settings stored in an exported PNG.
func (a *App) ImageSettings(path string) (GenerateRequest, error) {
	return a.fromPNG(GenerateRequest{From: path})
}

// withLibrary runs f with the library open for writing (locked).
func (a *App) withLibrary(f func(l *store.Library) error) error {
	l, err := store.OpenLibrary(a.Library.Dir)
	if err != nil {
		return err
	}
	defer l.Close()
	return f(l)
}

// ImportConcept imports a concept file or embedding into the library.
func (a *App) ImportConcept(path string) (name string, err error) {
	err = a.withLibrary(func(l *store.Library) error {
		opt := store.ImportOptions{}
		if b, err := a.base(""); err == nil {
			opt.BaseID, opt.TextWidth = b.ID(), b.Cfg.TextDim
		}
		e, err := l.Import(path, opt)
		name = e.Name
		return err
	})
	return name, err
}

// RenameConcept renames a concept (its pseudo-word changes).
func (a *App) RenameConcept(oldName, newName string) error {
	return a.withLibrary(func(l *store.Library) error { return l.Rename(oldName, newName) })
}

// DeleteConcept moves a concept to the trash and returns what restores it.
func (a *App) DeleteConcept(name string) (restoreID string, err error) {
	err = a.withLibrary(func(l *store.Library) error {
		if err := l.Delete(name); err != nil {
			return err
		}
		trash, err := l.Trash()
		if err != nil {
			return err
		}
		for _, t := range trash { // newest first
			if t.Name == name {
				restoreID = t.ID
				return nil
			}
		}
		return fmt.Errorf("%s* was deleted but is not in the trash", name)
	})
	return restoreID, err
}

// RestoreConcept brings a deleted concept back.
func (a *App) RestoreConcept(restoreID string) (name string, err error) {
	err = a.withLibrary(func(l *store.Library) error {
		name, err = l.Restore(restoreID)
		return err
	})
	return name, err
}

// ExportConcept copies a concept file to path.
func (a *App) ExportConcept(name, path string) error {
	return store.NewLibrary(a.Library.Dir).Export(name, path, store.FormatConcept)
}

// TrainingImages returns the images the concept called name was trained
// on, as the library keeps them (longest side at most 256 pixels). A
// concept trained elsewhere or imported from a file has none (an empty
// list, no error); a name not in the library is an error that says so.
func (a *App) TrainingImages(name string) ([]image.Image, error) {
	name = strings.TrimSuffix(strings.TrimSpace(name), "*")
	return store.NewLibrary(a.Library.Dir).TrainingImages(name)
}

// libraryWait is how long writing a trained concept waits for another
// writer (another Concept Studio, or a second job of this one) to release
// the library.
var libraryWait = 5 * time.Second

// writeTrained writes a trained concept to path. When path is the
// concept's own file in the library, it goes through the library with its
// training images. Should the library stay locked, the concept file is
// still written (a finished training is never lost) without the images,
// and a warning says so.
func (a *App) writeTrained(path string, c *engine.Concept, imgs []image.Image) error {
	if !a.isLibraryFile(path, c.Name) {
		return engine.WriteConceptFile(path, c)
	}
	deadline := time.Now().Add(libraryWait)
	for {
		err := a.withLibrary(func(l *store.Library) error { return l.SaveWithImages(c, imgs) })
		if !errors.Is(err, store.ErrLibraryInUse) {
			return err
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(a.Err, "warning: %v; %s* is saved without its training images\n", err, c.Name)
			return engine.WriteConceptFile(path, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isLibraryFile reports whether path is the library's file for the
// concept called name.
func (a *App) isLibraryFile(path, name string) bool {
	if filepath.Base(path) != name+store.ConceptExt {
		return false
	}
	dir := filepath.Dir(path)
	got, err1 := os.Stat(dir)
	lib, err2 := os.Stat(a.Library.Dir)
	if err1 == nil && err2 == nil {
		return os.SameFile(got, lib)
	}
	// A library not made yet: OpenLibrary creates it.
	d1, err1 := filepath.Abs(dir)
	d2, err2 := filepath.Abs(a.Library.Dir)
	return err1 == nil && err2 == nil && d1 == d2
}

// OutdatedConcept is a library concept made for another base model than
// the one in use: it cannot draw, and is retrained from the training
// images the library keeps (Images; none for an imported concept).
type OutdatedConcept struct {
	Name, Class, Method string
	Images              []string
}

// OutdatedConcepts lists the library's concepts made for another base
// model (after the embedded base changed, every concept of the old one).
// It loads the base model, so the window asks for it in the background.
func (a *App) OutdatedConcepts() ([]OutdatedConcept, error) {
	b, err := a.base("")
	if err != nil {
		return nil, err
	}
	entries, err := a.Library.List()
	if err != nil {
		return nil, err
	}
	var out []OutdatedConcept
	for _, e := range entries {
		if e.Err != nil || e.BaseID == "" || e.BaseID == b.ID() {
			continue
		}
		imgs, err := a.Library.TrainingImagePaths(e.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, OutdatedConcept{Name: e.Name, Class: e.Class, Method: string(e.Method), Images: imgs})
	}
	return out, nil
}
