package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // thumbnails and dropped images
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"conceptstudio/app"
	"conceptstudio/store"
)

// Studio is the smallest app surface the main screen can run on: generate
// to files and list the library. studioBackend builds the rest of Backend
// over it, answering ErrNotAvailable where a Studio cannot help.
type Studio interface {
	Generate(ctx context.Context, req app.GenerateRequest, progress app.ProgressFunc) error
	ListConcepts() ([]store.Entry, error)
}

// appStudio adapts *app.App to Studio.
type appStudio struct{ *app.App }

func (s appStudio) ListConcepts() ([]store.Entry, error) { return s.Library.List() }

// asBackend returns s itself when it is a whole Backend, else a
// studioBackend over it.
func asBackend(s Studio) Backend {
	if b, ok := s.(Backend); ok {
		return b
	}
	return &studioBackend{s: s}
}

// studioBackend implements Backend over a Studio. Generation writes PNGs
// (with their settings) into a private temporary folder and reads them
// back; Close removes the folder.
type studioBackend struct {
	s Studio

	mu   sync.Mutex
	root string // temporary folder for generated PNGs; "" until needed
}

// Close removes the generated files that were not exported.
func (b *studioBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.root == "" {
		return nil
	}
	err := os.RemoveAll(b.root)
	b.root = ""
	return err
}

func (b *studioBackend) outDir() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.root == "" {
		d, err := os.MkdirTemp("", "conceptstudio-gallery-")
		if err != nil {
			return "", fmt.Errorf("cannot make a folder for the generated images: %w", err)
		}
		b.root = d
	}
	return os.MkdirTemp(b.root, "gen-")
}

func fromAppProgress(p app.Progress) Progress {
	return Progress{Stage: p.Stage, Step: p.Step, Total: p.Total, Loss: p.Loss, Elapsed: p.Elapsed, Message: p.Message, Preview: p.Preview}
}

// GenerateImages implements Generator through app's Generate, which writes
// the PNGs (settings in their text chunks) that the gallery exports as is.
func (b *studioBackend) GenerateImages(ctx context.Context, spec GenerateSpec, progress func(Progress)) ([]Shot, error) {
	dir, err := b.outDir()
	if err != nil {
		return nil, err
	}
	req := app.GenerateRequest{Prompt: spec.Prompt, Gates: spec.Gates, Seed: spec.Seed, N: spec.N,
		Steps: spec.Steps, Guidance: spec.Guidance, Layout: spec.Layout, OutDir: dir, GlobalLocking: spec.GlobalLocking, Attention: !spec.Preview}
	if len(spec.Concepts) > 0 {
		entries, err := b.s.ListConcepts()
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
	var pf app.ProgressFunc
	if progress != nil {
		pf = func(p app.Progress) { progress(fromAppProgress(p)) }
	}
	if err := b.s.Generate(ctx, req, pf); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	shots, err := readShots(dir, spec)
	if spec.Preview || err != nil {
		os.RemoveAll(dir) // previews are never exported
		for i := range shots {
			shots[i].Path = ""
		}
	}
	return shots, err
}

// readShots decodes the PNGs of one generation, in batch order (app names
// them PROMPT-seedS-INDEX.png).
func readShots(dir string, spec GenerateSpec) ([]Shot, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil {
		return nil, err
	}
	var shots []Shot
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("cannot read the generated image %s: %w", filepath.Base(p), err)
		}
		idx := 0
		base := strings.TrimSuffix(filepath.Base(p), ".png")
		if i := strings.LastIndexByte(base, '-'); i >= 0 {
			idx, _ = strconv.Atoi(base[i+1:])
		}
		maps, err := app.ReadAttention(p, spec.Prompt)
		if err != nil {
			return nil, err
		}
		var att []WordMap
		for _, m := range maps {
			att = append(att, WordMap{Word: m.Word, Map: m.Map})
		}
		shots = append(shots, Shot{Image: img, Spec: spec, Index: idx, Path: p, Attention: att})
	}
	if len(shots) == 0 {
		return nil, errors.New("the generation finished but wrote no images")
	}
	sort.Slice(shots, func(i, j int) bool { return shots[i].Index < shots[j].Index })
	return shots, nil
}

// Concepts implements ConceptLibrary from the library listing.
func (b *studioBackend) Concepts() ([]ConceptInfo, error) {
	entries, err := b.s.ListConcepts()
	if err != nil {
		return nil, err
	}
	out := make([]ConceptInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, conceptInfoOf(e))
	}
	return out, nil
}

func conceptInfoOf(e store.Entry) ConceptInfo {
	c := ConceptInfo{Name: e.Name, Class: e.Class, Method: string(e.Method), Size: e.Size, Identity: math.NaN()}
	if v, ok := e.Scores["identity"]; ok {
		c.Identity = v
	}
	if len(e.Thumbnail) > 0 {
		if img, _, err := image.Decode(bytes.NewReader(e.Thumbnail)); err == nil {
			c.Thumbnail = img
		}
	}
	c.Gate = app.StoredGate(c.Method, e.Settings)
	if e.Err != nil {
		c.Problem = app.Explain(e.Err)
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
	spec := GenerateSpec{Prompt: req.Prompt, Gates: req.Gates, Seed: req.Seed, Steps: req.Steps, Guidance: req.Guidance, Layout: req.Layout, N: 1}
	for _, c := range req.Concepts {
		spec.Concepts = append(spec.Concepts, strings.TrimSuffix(filepath.Base(c), store.ConceptExt))
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
	return &appBackend{studioBackend: &studioBackend{s: appStudio{a}}, a: a}
}

// TrainConcept implements Trainer with app's Train, writing the concept
// into the library.
func (b *appBackend) TrainConcept(ctx context.Context, spec TrainSpec, progress func(Progress)) error {
	if spec.Steps == 0 && b.trainSteps > 0 {
		spec.Steps = b.trainSteps
	}
	req := app.TrainRequest{Method: spec.Method, Name: spec.Name, Class: spec.Class, Steps: spec.Steps,
		OutPath: filepath.Join(b.a.Library.Dir, spec.Name+store.ConceptExt), Images: spec.Images}
	var pf app.ProgressFunc
	if progress != nil {
		pf = func(p app.Progress) { progress(fromAppProgress(p)) }
	}
	return b.a.Train(ctx, req, pf)
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

func (b *studioBackend) ImportConcept(path string) (string, error) {
	return "", notAvailable("importing concept files")
}

func (b *studioBackend) VocabularyWords() ([]string, error) {
	return nil, notAvailable("the base model's vocabulary")
}
