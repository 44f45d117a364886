// Package store keeps the concept library on disk: concept files, the
// gallery of generated images, and the images users bring in. It uses the
// engine's safetensors codec for concept files and never imports Fyne.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ConceptExt is the file extension of a concept file.
const ConceptExt = ".concept.safetensors"

// EnvLibrary overrides the library folder.
const EnvLibrary = "CONCEPTSTUDIO_LIBRARY"

// DefaultLibraryDir is $CONCEPTSTUDIO_LIBRARY when set, else the user data
// folder: $XDG_DATA_HOME/conceptstudio (~/.local/share/conceptstudio).
func DefaultLibraryDir() (string, error) {
	if d := os.Getenv(EnvLibrary); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "conceptstudio"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a folder for the concept library (set %s): %w", EnvLibrary, err)
	}
	return filepath.Join(home, ".local", "share", "conceptstudio"), nil
}

// Library is a folder of concept files. The files are the truth: the list
// is read from them each time.
type Library struct {
	Dir string
}

// NewLibrary returns the library in dir; nothing is created until a write.
func NewLibrary(dir string) *Library { return &Library{Dir: dir} }

// Entry is one concept file in the library.
type Entry struct {
	Name string // the concept name (file name without the extension)
	Path string
	Size int64
}

// List returns the library's concept files sorted by name. A library that
// does not exist yet is empty.
func (l *Library) List() ([]Entry, error) {
	des, err := os.ReadDir(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the concept library %s: %w", l.Dir, err)
	}
	var out []Entry
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), ConceptExt) {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue // removed while listing
		}
		out = append(out, Entry{
			Name: strings.TrimSuffix(de.Name(), ConceptExt),
			Path: filepath.Join(l.Dir, de.Name()),
			Size: info.Size(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
