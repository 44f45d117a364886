package app

import (
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
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

// ExportScales are the sizes an export offers: the model's own pixels,
// or each pixel drawn as a k×k square.
var ExportScales = []int{1, 2, 4, 8}

// ExportPNG writes a generated image scaled up k times by nearest
// neighbour (k 1: as generated), with its settings and the scale
// ("export_scale"), atomically.
func ExportPNG(path string, img image.Image, meta map[string]string, k int) error {
	if k <= 1 {
		return WritePNG(path, img, meta)
	}
	m := make(map[string]string, len(meta)+1)
	for key, v := range meta {
		m[key] = v
	}
	m["export_scale"] = fmt.Sprint(k)
	return WritePNG(path, ScaleNearest(img, k), m)
}

// ScaleNearest draws each pixel of img as a k×k square.
func ScaleNearest(img image.Image, k int) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := 0; y < b.Dy()*k; y++ {
		for x := 0; x < b.Dx()*k; x++ {
			out.Set(x, y, img.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}

// NearestClasses are the n classes of the base model's world whose names
// are closest to what was typed (edit distance over letters, a shared
// word counting as near): the suggestions for a class word the model
// does not know.
func NearestClasses(typed string, n int) []string {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return nil
	}
	typed = strings.ToLower(strings.TrimSpace(typed))
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, name := range atlas.Names() {
		d := EditDistance(typed, name)
		for _, w := range strings.Fields(name) {
			for _, t := range strings.Fields(typed) {
				if w == t {
					d = min(d, 1)
				}
			}
		}
		cs = append(cs, cand{name, d})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.d - b.d })
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

// EditDistance is the Levenshtein distance between two strings' runes.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// checkClass refuses, at once and in plain words, a class whose last word
// (the word a concept starts from) the model does not know, naming the
// nearest classes it knows.
func checkClass(b *engine.Base, class string) error {
	words := dataset.Words(class)
	if len(words) == 0 {
		return usageError("missing -class (the kind of thing it is, e.g. \"teddy bear\")")
	}
	last := words[len(words)-1]
	if _, ok := b.Tok.ID(last); ok {
		return nil
	}
	return usageError("the model does not know the class word %q; the nearest classes it knows: %s", excerpt(last), strings.Join(NearestClasses(class, 3), ", "))
}

// DiscardTraining throws away what a cancelled training of the library
// concept name kept to continue from (its checkpoint beside the concept
// file). Nothing kept is not an error.
func (a *App) DiscardTraining(name string) error {
	err := os.Remove(a.LibraryPath(name) + ".partial")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove what the training of %s* kept: %w", name, err)
	}
	return nil
}
