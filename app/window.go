package app

import (
	"image"
	"io"
	"math"
	"path/filepath"
	"strings"

	"conceptstudio/engine/safefile"
	"conceptstudio/store"
)

// ConceptExt is the extension of concept files.
const ConceptExt = store.ConceptExt

// ConceptEntry is one library concept as the window lists it.
type ConceptEntry struct {
	Name, Class, Method string
	Path                string
	Size                int64
	// Identity is the concept's stored identity score; NaN when none.
	Identity float64
	// Gate is the gate the concept brings (StoredGate); 0 for a method
	// without one.
	Gate      float64
	Thumbnail []byte // PNG; empty when the file has none
	// Problem is why the file cannot be used, in a sentence; "" when it
	// can.
	Problem string
}

// LibraryConcepts lists the concept library for the window (a library
// not made yet is empty).
func (a *App) LibraryConcepts() ([]ConceptEntry, error) {
	entries, err := a.Library.List()
	if err != nil {
		return nil, err
	}
	out := make([]ConceptEntry, 0, len(entries))
	for _, e := range entries {
		c := ConceptEntry{Name: e.Name, Class: e.Class, Method: string(e.Method), Path: e.Path, Size: e.Size,
			Identity: math.NaN(), Thumbnail: e.Thumbnail, Gate: StoredGate(string(e.Method), e.Settings)}
		if v, ok := e.Scores["identity"]; ok {
			c.Identity = v
		}
		if e.Err != nil {
			c.Problem = Explain(e.Err)
		}
		out = append(out, c)
	}
	return out, nil
}

// LibraryPath is where the library keeps the concept called name.
func (a *App) LibraryPath(name string) string {
	return filepath.Join(a.Library.Dir, name+ConceptExt)
}

// ConceptNameOf is the concept name of a concept file's path.
func ConceptNameOf(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ConceptExt)
}

// WritePNG writes an image as a PNG with text fields (a shot's settings),
// atomically.
func WritePNG(path string, img image.Image, meta map[string]string) error {
	return safefile.Write(path, func(w io.Writer) error { return store.EncodePNG(w, img, meta) })
}
