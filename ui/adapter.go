package ui

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg" // thumbnails and dropped images
	"sort"

	"conceptstudio/app"
)

// Studio is the smallest app surface the main screen can run on: generate
// to files and list the library. studioBackend builds the rest of Backend
// over it, answering ErrNotAvailable where a Studio cannot help.
type Studio interface {
	Render(ctx context.Context, req app.GenerateRequest, progress app.ProgressFunc) (app.Rendered, error)
	LibraryConcepts() ([]app.ConceptEntry, error)
}

// asBackend returns s itself when it is a whole Backend, else a
// studioBackend over it.
func asBackend(s Studio) Backend {
	if b, ok := s.(Backend); ok {
		return b
	}
	return &studioBackend{s: s}
}

// studioBackend implements Backend over a Studio: images are rendered in
// memory (app.Render), with their settings, ready to export.
type studioBackend struct {
	s Studio
}

// Close releases nothing: the studio keeps no files for the window.
func (b *studioBackend) Close() error { return nil }

// GenerateImages implements Generator through app's Render: the images,
// their settings (the PNG text chunks an export writes), attention maps
// and notes, in memory.
func (b *studioBackend) GenerateImages(ctx context.Context, spec GenerateSpec, progress func(Progress)) ([]Shot, error) {
	req := app.GenerateRequest{Prompt: spec.Prompt, Gates: spec.Gates, Seed: spec.Seed, N: spec.N,
		Steps: spec.Steps, Guidance: spec.Guidance, Layout: spec.Layout, Regions: spec.Regions, GlobalLocking: spec.GlobalLocking, Attention: !spec.Preview}
	if len(spec.Concepts) > 0 {
		entries, err := b.s.LibraryConcepts()
		if err != nil {
			return nil, err
		}
		for _, name := range spec.Concepts {
			for _, e := range entries {
				if e.Name == name {
					req.Concepts = append(req.Concepts, e.Path)
				}
			}
		}
	}
	res, err := b.s.Render(ctx, req, progress)
	if err != nil {
		return nil, err
	}
	if len(res.Shots) == 0 {
		return nil, errors.New("the generation finished but made no images")
	}
	shots := make([]Shot, 0, len(res.Shots))
	for _, sh := range res.Shots {
		var att []WordMap
		for _, m := range sh.Attention {
			att = append(att, WordMap{Word: m.Word, Map: m.Map})
		}
		shots = append(shots, Shot{Image: sh.Image, Spec: spec, Index: sh.Index, Meta: sh.Meta, Attention: att, Notes: res.Notes})
	}
	sort.Slice(shots, func(i, j int) bool { return shots[i].Index < shots[j].Index })
	return shots, nil
}

// Concepts implements ConceptLibrary from the library listing.
func (b *studioBackend) Concepts() ([]ConceptInfo, error) {
	entries, err := b.s.LibraryConcepts()
	if err != nil {
		return nil, err
	}
	out := make([]ConceptInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, conceptInfoOf(e))
	}
	return out, nil
}

func conceptInfoOf(e app.ConceptEntry) ConceptInfo {
	c := ConceptInfo{Name: e.Name, Class: e.Class, Method: e.Method, Size: e.Size, Identity: e.Identity, Gate: e.Gate, Problem: e.Problem}
	if len(e.Thumbnail) > 0 {
		if img, _, err := image.Decode(bytes.NewReader(e.Thumbnail)); err == nil {
			c.Thumbnail = img
		}
	}
	return c
}

// The rest waits for app functions; each names the one it needs.

func (b *studioBackend) TrainConcept(ctx context.Context, spec TrainSpec, progress func(Progress)) error {
	return notAvailable("training from the window")
}

func (b *appBackend) RenameConcept(oldName, newName string) error {
	return b.a.RenameConcept(oldName, newName)
}

func (b *appBackend) DeleteConcept(name string) (string, error) {
	return b.a.DeleteConcept(name)
}

func (b *appBackend) RestoreConcept(id string) error {
	_, err := b.a.RestoreConcept(id)
	return err
}

func (b *appBackend) ExportConcept(name, path string) error {
	return b.a.ExportConcept(name, path)
}

func (b *studioBackend) TrainingImages(name string) ([]image.Image, error) {
	return nil, notAvailable("showing a concept's training images")
}

// TrainingImages reads the images the library keeps with a concept
// (none for an imported concept).
func (b *appBackend) TrainingImages(name string) ([]image.Image, error) {
	return b.a.TrainingImages(name)
}

func (b *appBackend) ImportConcept(path string) (string, error) {
	return b.a.ImportConcept(path)
}

func (b *studioBackend) ImageSettings(path string) (GenerateSpec, error) {
	return GenerateSpec{}, notAvailable("reading settings from an image")
}

// ImageSettings restores a PNG's generation settings through app.
func (b *appBackend) ImageSettings(path string) (GenerateSpec, error) {
	req, err := b.a.ImageSettings(path)
	if err != nil {
		return GenerateSpec{}, err
	}
	spec := GenerateSpec{Prompt: req.Prompt, Gates: req.Gates, Seed: req.Seed, Steps: req.Steps, Guidance: req.Guidance, Layout: req.Layout, Regions: req.Regions, N: 1}
	for _, c := range req.Concepts {
		spec.Concepts = append(spec.Concepts, app.ConceptNameOf(c))
	}
	return spec, nil
}

func (b *appBackend) VocabularyWords() ([]string, error) {
	return b.a.Vocabulary()
}

// appBackend is the real Backend: studioBackend over *app.App, plus what
// app already offers beyond a Studio.
type appBackend struct {
	*studioBackend
	a          *app.App
	trainSteps int // when above 0, the step count of every training (ui.Options)
}

func newAppBackend(a *app.App) *appBackend {
	return &appBackend{studioBackend: &studioBackend{s: a}, a: a}
}

// TrainConcept implements Trainer with app's Train, writing the concept
// into the library.
func (b *appBackend) TrainConcept(ctx context.Context, spec TrainSpec, progress func(Progress)) error {
	if spec.Steps == 0 && b.trainSteps > 0 {
		spec.Steps = b.trainSteps
	}
	req := app.TrainRequest{Method: spec.Method, Name: spec.Name, Class: spec.Class, Steps: spec.Steps,
		OutPath: b.a.LibraryPath(spec.Name), Images: spec.Images}
	return b.a.Train(ctx, req, progress)
}

// Stubs for a Studio without the library use cases (tests, demos).
func (b *studioBackend) RenameConcept(oldName, newName string) error {
	return notAvailable("renaming concepts")
}

func (b *studioBackend) DeleteConcept(name string) (string, error) {
	return "", notAvailable("deleting concepts")
}

func (b *studioBackend) RestoreConcept(id string) error {
	return notAvailable("restoring deleted concepts")
}

func (b *studioBackend) ExportConcept(name, path string) error {
	return notAvailable("exporting concepts")
}

func (b *studioBackend) OutdatedConcepts() ([]OutdatedConcept, error) { return nil, nil }

// OutdatedConcepts lists the library's concepts of another base model.
func (b *appBackend) OutdatedConcepts() ([]OutdatedConcept, error) { return b.a.OutdatedConcepts() }

func (b *studioBackend) ImportConcept(path string) (string, error) {
	return "", notAvailable("importing concept files")
}

func (b *studioBackend) VocabularyWords() ([]string, error) {
	return nil, notAvailable("the base model's vocabulary")
}

// Picture reads an image to draw cut-out marks on.
func (b *studioBackend) Picture(path string, side int) (image.Image, error) {
	return app.LoadPicture(path, side)
}

// CutOut cuts the object out as marked.
func (b *studioBackend) CutOut(path string, h CutOutHints) (image.Image, image.Image, error) {
	return app.CutOut(path, h)
}

// SaveCutOut keeps a corrected cut-out in the user's cache for training.
func (b *studioBackend) SaveCutOut(cut image.Image, original string) (string, error) {
	return app.SaveCutOut(cut, original, app.CutOutDir())
}

// CheckImages checks dropped files as training will read them.
func (b *studioBackend) CheckImages(paths []string) []ImageCheck { return app.CheckImages(paths) }

// DiscardTraining removes what a cancelled training kept in the library.
func (b *appBackend) DiscardTraining(name string) error { return b.a.DiscardTraining(name) }
