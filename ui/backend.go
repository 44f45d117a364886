package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"conceptstudio/app"
)

// The screens talk to the rest of the program through the small interfaces
// in this file, in plain Go types, so that every screen can be tested with
// fakes. adapter.go implements them over *app.App.

// Progress is one report from a long job, as the window shows it.
type Progress = app.Progress

// GenerateSpec is one generation as the window asks for it.
type GenerateSpec struct {
	Prompt        string
	Concepts      []string // names of the library concepts used in the prompt (no '*')
	Gates         []string // "name=value" for each concept with a gate
	GlobalLocking bool     // Perfusion: keys take the whole prompt with the concept word replaced by its class
	Seed          int64
	N             int
	Steps         int
	Guidance      float64
	Layout        float64 // layout guidance for prompts relating two things (0: none)
	// Regions are the scene canvas's boxes: each thing of the prompt
	// steered into its box (with Layout's strength).
	Regions []app.Region
	Preview bool // a quick single low-step image for the gate sliders
}

// Shot is one generated image with the settings that made it.
type Shot struct {
	Image image.Image
	Spec  GenerateSpec
	Index int // which image of the batch (seed and index make it again)
	// Meta are the settings the app rendered it with (the PNG text
	// fields an export writes); nil for images made elsewhere.
	Meta map[string]string
	// Notes are what the app said of the request (words left out).
	Notes []string
	// Attention holds, per prompt word, where the image attended to it
	// (greyscale, brightest = most), when the generation made them.
	Attention []WordMap
}

// WordMap is one word's attention map.
type WordMap struct {
	Word string
	Map  *image.Gray
}

// Generator renders images.
type Generator interface {
	GenerateImages(ctx context.Context, spec GenerateSpec, progress func(Progress)) ([]Shot, error)
}

// TrainSpec asks for a new concept.
type TrainSpec struct {
	Name   string
	Class  string
	Method string // "perfusion", "ti", "lora", "dreambooth"
	Steps  int    // 0: the method's default
	Images []string
}

// Trainer teaches the model a concept; it returns when the concept is in
// the library, or with ctx's error when cancelled.
type Trainer interface {
	TrainConcept(ctx context.Context, spec TrainSpec, progress func(Progress)) error
}

// ConceptInfo is one concept of the library as the window lists it.
type ConceptInfo struct {
	Name      string
	Class     string
	Method    string
	Size      int64       // bytes on disk
	Identity  float64     // identity score in [0, 1]; NaN when not measured
	Thumbnail image.Image // nil when the file has none
	Gate      float64     // the default gate: Perfusion β or LoRA multiplier; 0 for the method's default
	Problem   string      // why the file cannot be used; "" when it can
}

// ConceptLibrary is the concept library panel's view of the library.
type ConceptLibrary interface {
	Concepts() ([]ConceptInfo, error)
	RenameConcept(oldName, newName string) error
	// DeleteConcept moves a concept to the trash; restoreID undoes it.
	DeleteConcept(name string) (restoreID string, err error)
	RestoreConcept(restoreID string) error
	ExportConcept(name, path string) error
	TrainingImages(name string) ([]image.Image, error)
	// OutdatedConcepts lists the concepts made for another base model
	// (slow: it loads the base model; the window asks in the background).
	OutdatedConcepts() ([]OutdatedConcept, error)
}

// OutdatedConcept is a concept made for another base model, with the
// training images it can be retrained from (app.OutdatedConcept).
type OutdatedConcept = app.OutdatedConcept

// Importer brings dropped files in.
type Importer interface {
	// ImportConcept adds a concept file to the library and returns its name.
	ImportConcept(path string) (name string, err error)
	// ImageSettings reads the generation settings stored in a PNG that
	// Concept Studio exported (ErrNoSettings when it has none).
	ImageSettings(path string) (GenerateSpec, error)
}

// Vocabulary lists the words the base model knows.
type Vocabulary interface {
	VocabularyWords() ([]string, error)
}

// Backend is everything the main screen uses.
type Backend interface {
	Generator
	Trainer
	ConceptLibrary
	Importer
	Vocabulary
	ImageChecker
	CutOuts
}

// ImageCheck is what checking one dropped file found (app.ImageCheck).
type ImageCheck = app.ImageCheck

// ImageChecker checks dropped files for training before anything starts:
// readable, big enough, an object to cut out, not a duplicate.
type ImageChecker interface {
	CheckImages(paths []string) []ImageCheck
}

// ErrNotAvailable marks a feature whose app function does not exist yet.
var ErrNotAvailable = errors.New("not available yet")

// ErrNoSettings: a PNG without Concept Studio settings.
var ErrNoSettings = errors.New("no generation settings in the image")

func notAvailable(what string) error { return fmt.Errorf("%w: %s", ErrNotAvailable, what) }

// noIdentity is the Identity of a concept that was not measured.
var noIdentity = math.NaN()
