package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TrashEntry is a deleted concept waiting in the trash.
type TrashEntry struct {
	Entry // Name is the concept's name; Path is the file in the trash
	// ID identifies the item for Restore: the name, or "name~N" when the
	// trash holds several concepts once called name.
	ID        string
	DeletedAt time.Time
}

// Delete moves a concept (and its training images) to the trash folder,
// from where Restore brings it back. The concept's move is one rename, so
// the concept is always in exactly one of the two places; its images
// follow in a second rename.
func (l *Library) Delete(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritable(); err != nil {
		return err
	}
	if err := checkStem(name); err != nil {
		return err
	}
	src := l.ConceptPath(name)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return errorf(ErrNotFound, "there is no concept called %q in the library", name)
	}
	trash := l.TrashDir()
	if err := os.MkdirAll(trash, 0o755); err != nil {
		return fmt.Errorf("cannot create the trash folder: %w", err)
	}
	id := name
	for n := 2; ; n++ {
		_, errC := os.Lstat(filepath.Join(trash, id+ConceptExt))
		_, errI := os.Lstat(filepath.Join(trash, id+ImagesExt))
		if errors.Is(errC, fs.ErrNotExist) && errors.Is(errI, fs.ErrNotExist) {
			break
		}
		id = name + "~" + strconv.Itoa(n)
	}
	dst := filepath.Join(trash, id+ConceptExt)
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("cannot move %q to the trash: %w", name, err)
	}
	now := time.Now()
	os.Chtimes(dst, now, now) // the modification time records the deletion
	syncDir(trash)
	syncDir(l.Dir)
	// A crash before this leaves the images under the concept's name in
	// the library, where Restore finds them again.
	if err := moveImages(l.ImagesDir(name), filepath.Join(trash, id+ImagesExt), false); err != nil {
		return fmt.Errorf("moved %q to the trash but not its training images: %w", name, err)
	}
	return nil
}

// Trash lists the deleted concepts, most recently deleted first. No lock
// is needed.
func (l *Library) Trash() ([]TrashEntry, error) {
	es, err := l.listDir(l.TrashDir(), "trash folder")
	if err != nil {
		return nil, err
	}
	out := make([]TrashEntry, 0, len(es))
	for _, e := range es {
		id := e.Name
		e.Name = trashName(id)
		if errors.Is(e.Err, ErrNameMismatch) {
			e.Err = nil // "teddy~2" holds "teddy": expected in the trash
		}
		out = append(out, TrashEntry{Entry: e, ID: id, DeletedAt: e.ModTime})
	}
	sortTrash(out)
	return out, nil
}

func sortTrash(t []TrashEntry) {
	sort.SliceStable(t, func(i, j int) bool { return t[i].DeletedAt.After(t[j].DeletedAt) })
}

// trashName is the concept name of a trash ID ("teddy~2" → "teddy").
func trashName(id string) string {
	name, _, _ := strings.Cut(id, "~")
	return name
}

// Restore moves a deleted concept (by its TrashEntry.ID) back into the
// library, with its training images, and returns its name. It refuses (ErrExists) when a concept of
// that name has been made since; rename that one first.
func (l *Library) Restore(id string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritable(); err != nil {
		return "", err
	}
	name := trashName(id)
	if err := checkName(name); err != nil || strings.ContainsAny(id, `/\`) || strings.ContainsRune(id, 0) {
		return "", errorf(ErrNotFound, "there is no concept %q in the trash", id)
	}
	src := filepath.Join(l.TrashDir(), id+ConceptExt)
	if _, err := os.Lstat(src); err != nil {
		return "", errorf(ErrNotFound, "there is no concept %q in the trash", id)
	}
	if l.Has(name) {
		return "", errorf(ErrExists, "cannot restore %q: a concept called %q is already in the library; rename that one first", id, name)
	}
	if err := os.Rename(src, l.ConceptPath(name)); err != nil {
		return "", fmt.Errorf("cannot restore %q: %w", id, err)
	}
	syncDir(l.Dir)
	syncDir(l.TrashDir())
	// Without images in the trash, images already under the name (left by
	// a crash during Delete) are the concept's own and stay.
	if err := moveImages(filepath.Join(l.TrashDir(), id+ImagesExt), l.ImagesDir(name), false); err != nil {
		return name, fmt.Errorf("restored %q but not its training images: %w", name, err)
	}
	return name, nil
}

// EmptyTrash deletes every concept in the trash for good, with its
// training images.
func (l *Library) EmptyTrash() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritable(); err != nil {
		return err
	}
	des, err := os.ReadDir(l.TrashDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read the trash folder: %w", err)
	}
	for _, de := range des {
		p := filepath.Join(l.TrashDir(), de.Name())
		switch {
		case strings.HasSuffix(de.Name(), ConceptExt) && !de.IsDir():
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("cannot empty the trash: %w", err)
			}
		case strings.HasSuffix(de.Name(), ImagesExt) && de.IsDir():
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("cannot empty the trash: %w", err)
			}
		}
	}
	syncDir(l.TrashDir())
	return nil
}
