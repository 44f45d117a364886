package app

import (
	"embed"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"conceptstudio/engine/safefile"
	"conceptstudio/store"
)

// The example concepts a first start puts in the library, so that the
// window's placeholder prompt ("a teddy* on the left of a teapot*") works
// at once and shows what a concept is. They are Perfusion concepts of the
// example images (examples/NAME/1-4.png) trained on the embedded base
// model; `make example-concepts` trains them again, and
// TestExampleConceptsFitTheEmbeddedBase fails until it is run after the
// embedded base changes.
//
//go:embed examples/*.concept.safetensors
var exampleConcepts embed.FS

// examplesMarker records in the library that the examples were offered
// once, so a user who deletes them does not get them back.
const examplesMarker = ".examples-installed"

// ExampleConceptNames are the example concepts shipped with the program.
func ExampleConceptNames() []string {
	entries, _ := fs.Glob(exampleConcepts, "examples/*"+store.ConceptExt)
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(path.Base(e), store.ConceptExt))
	}
	sort.Strings(names)
	return names
}

// InstallExamples puts the example concepts into the library the first
// time it runs for that library (the folder is made if it does not
// exist), leaving any concept of the same name alone, and returns the
// names it installed. It does nothing when a base model other than the
// embedded one is in use (the examples are trained on that one), and
// nothing the second time.
func (a *App) InstallExamples() ([]string, error) {
	if os.Getenv(EnvModel) != "" {
		return nil, nil
	}
	dir := a.Library.Dir
	marker := filepath.Join(dir, examplesMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var installed []string
	for _, name := range ExampleConceptNames() {
		dst := a.Library.ConceptPath(name)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		data, err := exampleConcepts.ReadFile("examples/" + name + store.ConceptExt)
		if err != nil {
			return installed, err
		}
		if err := safefile.Write(dst, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return installed, err
		}
		installed = append(installed, name)
	}
	err := safefile.Write(marker, func(w io.Writer) error {
		_, err := io.WriteString(w, "The example concepts were put in this library once: "+strings.Join(ExampleConceptNames(), ", ")+".\n")
		return err
	})
	return installed, err
}
