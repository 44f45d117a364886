package app

import (
	"fmt"
	"strings"

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
