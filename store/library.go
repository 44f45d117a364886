// Package store keeps the concept library on disk: concept files, the
// gallery of generated images, and the images users bring in. It uses the
// engine's safetensors codec for concept files and never imports Fyne.
//
// A library is a folder:
//
//	NAME.concept.safetensors   one file per concept (weights, metadata, thumbnail)
//	NAME.images/               the images the concept was trained on (see trainimages.go)
//	gallery/                   generated images (PNG with the settings in tEXt chunks)
//	trash/                     deleted concepts, restorable
//	library.lock               held (flock) by the one Concept Studio that may write
//
// The files are the truth: the index is rebuilt from them by List. Every
// write is atomic (temporary file in the same folder, fsync, rename, fsync
// of the folder), so killing the app at any moment leaves either the old or
// the new file. Writes need the lock (OpenLibrary); reading does not
// (NewLibrary).
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"conceptstudio/engine/conceptfile"
	"conceptstudio/engine/safefile"
)

// ConceptExt is the file extension of a concept file.
const ConceptExt = ".concept.safetensors"

// EnvLibrary overrides the library folder.
const EnvLibrary = "CONCEPTSTUDIO_LIBRARY"

// Names inside the library folder.
const (
	LockName    = "library.lock"
	GalleryName = "gallery"
	TrashName   = "trash"
)

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
// is read from them each time (a decoded file is cached until it is
// replaced or its size or modification time changes). A Library is safe for concurrent use.
type Library struct {
	Dir string

	mu     sync.Mutex
	lock   *os.File // held library.lock; nil when read-only or closed
	cache  map[string]cachedEntry
	closed bool
}

type cachedEntry struct {
	info fs.FileInfo
	e    Entry
}

// NewLibrary returns the library in dir for reading only: List, Get,
// Export and Trash work, writes fail with ErrReadOnly. Nothing is created.
func NewLibrary(dir string) *Library { return &Library{Dir: dir} }

// OpenLibrary opens the library in dir for reading and writing, creating
// the folder if needed. It takes the library's lock (library.lock), so a
// second Concept Studio gets ErrLibraryInUse ("the library is in use by
// another Concept Studio (pid N)") until this one calls Close or exits. It
// also removes temporary files that a crash during a write left behind.
func OpenLibrary(dir string) (*Library, error) {
	if dir == "" {
		return nil, errors.New("no folder given for the concept library")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the concept library folder: %w", err)
	}
	f, err := acquireLock(filepath.Join(dir, LockName))
	if err != nil {
		return nil, err
	}
	l := &Library{Dir: dir, lock: f}
	for _, d := range []string{dir, l.GalleryDir(), l.TrashDir()} {
		removeStaleTemps(d)
	}
	return l, nil
}

// Close releases the library's lock; later writes fail with ErrReadOnly.
// Reading still works. Closing twice, or a read-only library, is a no-op.
func (l *Library) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.lock == nil {
		return nil
	}
	err := releaseLock(l.lock)
	l.lock = nil
	return err
}

// Writable reports whether the library holds its lock.
func (l *Library) Writable() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lock != nil
}

// checkWritableName checks that the library may be written and that name
// is a valid concept name; l.mu must be held.
func (l *Library) checkWritableName(name string) error {
	if err := l.checkWritable(); err != nil {
		return err
	}
	return checkName(name)
}

// checkWritable must be called with l.mu held.
func (l *Library) checkWritable() error {
	if l.lock == nil {
		return errorf(ErrReadOnly, "the concept library %s is open for reading only", l.Dir)
	}
	return nil
}

// ConceptPath is the file of the concept called name.
func (l *Library) ConceptPath(name string) string { return filepath.Join(l.Dir, name+ConceptExt) }

// GalleryDir is the folder of generated images.
func (l *Library) GalleryDir() string { return filepath.Join(l.Dir, GalleryName) }

// TrashDir is the folder of deleted concepts.
func (l *Library) TrashDir() string { return filepath.Join(l.Dir, TrashName) }

// Entry is one concept file in the library, as decoded by List. When the
// file cannot be read, Err says why and only Name, Path, Size and ModTime
// are set. Thumbnail and Scores are shared with the list's cache: do not
// modify them.
type Entry struct {
	Name     string // the concept name (file name without the extension)
	Path     string
	Size     int64
	ModTime  time.Time
	Method   conceptfile.Method
	Class    string
	BaseID   string
	Settings conceptfile.ConceptSettings
	Scores   map[string]float64
	Created  time.Time
	// Thumbnail is the PNG stored in the file (may be empty).
	Thumbnail []byte
	// Err is why the file cannot be used; nil for a good concept.
	Err error
}

// List returns the library's concept files sorted by name, each decoded
// (method, class, base id, scores, thumbnail). A file that cannot be read is
// listed with its Err set, never dropped; List itself fails only when the
// folder cannot be read. A library that does not exist yet is empty.
// Temporary and hidden files are never listed. No lock is needed.
func (l *Library) List() ([]Entry, error) {
	return l.listDir(l.Dir, "concept library")
}

func (l *Library) listDir(dir, what string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the %s %s: %w", what, dir, err)
	}
	var out []Entry
	seen := map[string]bool{}
	for _, de := range des {
		n := de.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ConceptExt) || de.IsDir() {
			continue
		}
		path := filepath.Join(dir, n)
		info, err := os.Stat(path)
		if err != nil {
			continue // removed while listing
		}
		if info.IsDir() {
			continue
		}
		seen[path] = true
		out = append(out, l.entry(path, strings.TrimSuffix(n, ConceptExt), info))
	}
	l.mu.Lock()
	for p := range l.cache {
		if filepath.Dir(p) == dir && !seen[p] {
			delete(l.cache, p)
		}
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// entry decodes one file, using the cache when size and time are unchanged.
func (l *Library) entry(path, name string, info fs.FileInfo) Entry {
	l.mu.Lock()
	c, ok := l.cache[path]
	l.mu.Unlock()
	// An atomic write replaces the file (a new inode), so SameFile catches
	// a rewrite even where modification times are coarse.
	if ok && os.SameFile(c.info, info) && c.info.Size() == info.Size() && c.info.ModTime().Equal(info.ModTime()) {
		e := c.e
		e.Name = name
		return e
	}
	e := Entry{Name: name, Path: path, Size: info.Size(), ModTime: info.ModTime()}
	switch {
	case !info.Mode().IsRegular():
		e.Err = errorf(conceptfile.ErrCorruptConcept, "%s is not a regular file", filepath.Base(path))
	default:
		c, err := readConcept(path)
		switch {
		case err != nil:
			e.Err = err
		case c.Name != name:
			e.Err = errorf(ErrNameMismatch, "%s holds the concept %q; rename it in Concept Studio to use it", filepath.Base(path), c.Name)
		}
		if c != nil {
			e.Method, e.Class, e.BaseID = c.Method, c.Class, c.BaseID
			e.Settings, e.Scores, e.Created, e.Thumbnail = c.Settings, c.Scores, c.Created, c.Thumbnail
		}
	}
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[string]cachedEntry{}
	}
	l.cache[path] = cachedEntry{info: info, e: e}
	l.mu.Unlock()
	return e
}

// readConcept decodes a concept file, turning a panic in the decoder into
// an error so that one bad file never brings the listing down.
func readConcept(path string) (c *conceptfile.Concept, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, errorf(conceptfile.ErrCorruptConcept, "%s: not a valid concept file (the decoder failed: %v)", filepath.Base(path), r)
		}
	}()
	c, err = conceptfile.ReadConceptFile(path)
	if err != nil && !errors.Is(err, conceptfile.ErrCorruptConcept) {
		err = errorf(conceptfile.ErrCorruptConcept, "%s cannot be read: %w", filepath.Base(path), err)
	}
	return c, err
}

// Get reads the concept called name.
func (l *Library) Get(name string) (*conceptfile.Concept, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	path := l.ConceptPath(name)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(ErrNotFound, "there is no concept called %q in the library", name)
	}
	c, err := readConcept(path)
	if err != nil {
		return nil, err
	}
	if c.Name != name {
		return nil, errorf(ErrNameMismatch, "%s holds the concept %q; rename it in Concept Studio to use it", filepath.Base(path), c.Name)
	}
	return c, nil
}

// Has reports whether a concept file called name is in the library.
func (l *Library) Has(name string) bool {
	_, err := os.Lstat(l.ConceptPath(name))
	return err == nil
}

// Hash is the SHA-256 (hex) of the concept's file, as recorded in the
// settings of images generated with it.
func (l *Library) Hash(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return FileSHA256(l.ConceptPath(name))
}

// checkName validates a concept name with conceptfile.ValidName.
func checkName(name string) error {
	if err := conceptfile.ValidName(name); err != nil {
		return errorf(ErrBadName, "%w", err)
	}
	return nil
}

// checkStem accepts the name of any file List can show (a concept name, or
// the stem of a badly named file that the user wants to delete or rename):
// no path separators, no NUL, no leading dot.
func checkStem(name string) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\x00") {
		return errorf(ErrNotFound, "there is no concept called %q in the library", name)
	}
	return nil
}

// Add writes a new concept into the library; a concept of that name must
// not exist (ErrExists).
func (l *Library) Add(c *conceptfile.Concept) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableName(c.Name); err != nil {
		return err
	}
	if l.Has(c.Name) {
		return errExists(c.Name)
	}
	// A new concept has no training images: drop any left by an earlier
	// concept of that name.
	if err := l.dropImages(c.Name); err != nil {
		return err
	}
	return conceptfile.WriteConceptFile(l.ConceptPath(c.Name), c)
}

// Save writes the concept into the library, replacing the file of the same
// name atomically if there is one (as training does when it improves a
// concept). Its training images stay as they are; SaveWithImages replaces
// them.
func (l *Library) Save(c *conceptfile.Concept) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableName(c.Name); err != nil {
		return err
	}
	return conceptfile.WriteConceptFile(l.ConceptPath(c.Name), c)
}

func errExists(name string) error {
	return errorf(ErrExists, "a concept called %q is already in the library; choose another name", name)
}

// Rename gives a concept a new name: the pseudo-word stored in the file
// changes too, and its training images follow it. The renamed file is
// written atomically before the old one is removed, so a crash in between
// leaves both (two valid concepts), never neither.
func (l *Library) Rename(oldName, newName string) error {
	return l.copyAs(oldName, newName, true)
}

// Duplicate copies a concept under a new name (with its pseudo-word
// changed), training images included.
func (l *Library) Duplicate(name, newName string) error {
	return l.copyAs(name, newName, false)
}

func (l *Library) copyAs(oldName, newName string, removeOld bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritableName(newName); err != nil {
		return err
	}
	if err := checkStem(oldName); err != nil {
		return err
	}
	if !l.Has(oldName) {
		return errorf(ErrNotFound, "there is no concept called %q in the library", oldName)
	}
	if oldName == newName {
		if removeOld {
			return nil
		}
		return errExists(newName)
	}
	// Read the file directly: a file whose name and pseudo-word differ (or
	// whose name is no pseudo-word) is repaired by renaming it.
	c, err := readConcept(l.ConceptPath(oldName))
	if err != nil {
		return err
	}
	if l.Has(newName) {
		return errExists(newName)
	}
	c.Name = newName
	if !removeOld {
		// The copy's images are in place before the copy appears.
		if err := l.copyImages(oldName, newName); err != nil {
			return err
		}
		if err := conceptfile.WriteConceptFile(l.ConceptPath(newName), c); err != nil {
			l.dropImages(newName)
			return err
		}
		return nil
	}
	if err := conceptfile.WriteConceptFile(l.ConceptPath(newName), c); err != nil {
		return err
	}
	if err := moveImages(l.ImagesDir(oldName), l.ImagesDir(newName), true); err != nil {
		return fmt.Errorf("renamed %q to %q but could not move its training images (both files are kept): %w", oldName, newName, err)
	}
	if err := os.Remove(l.ConceptPath(oldName)); err != nil {
		return fmt.Errorf("renamed %q to %q but could not remove the old file: %w", oldName, newName, err)
	}
	syncDir(l.Dir)
	return nil
}

// syncDir flushes a folder's entries (after a rename or remove).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// removeStaleTemps deletes the temporary files (".NAME.tmpDIGITS", as
// safefile.Write names them) and the temporary training-image
// folders (named alike) that a killed write left in dir. It must only run
// with the lock held.
func removeStaleTemps(dir string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		switch {
		case !safefile.IsTemp(de.Name()):
		case de.Type().IsRegular():
			os.Remove(filepath.Join(dir, de.Name()))
		case de.IsDir():
			os.RemoveAll(filepath.Join(dir, de.Name()))
		}
	}
}
