// Package safefile writes files so that a crash, a full disk or a failed
// encoder at any moment leaves either the old file or the complete new one,
// never a half-written one. Every file Concept Studio writes goes through
// it: concept files, images, checkpoints, reports, the dataset's atlas.
package safefile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempPattern is the temporary file's name beside path: "."+base+".tmp"
// and random digits. The concept library recognises and sweeps these
// (IsTemp).
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp*" }

// IsTemp reports whether a file name is one of Write's temporary files
// (".NAME.tmpDIGITS"), left behind only when the process died mid-write.
func IsTemp(name string) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	i := strings.LastIndex(name, ".tmp")
	if i <= 0 || i+4 == len(name) {
		return false
	}
	for _, c := range name[i+4:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Write writes path through write: into a temporary file in the same
// folder, synced, made an ordinary file (0644: CreateTemp makes it
// private), renamed over path, and the folder synced. On any error the
// temporary file is removed and path is untouched; the error names path.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("cannot write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes is Write for data already in memory.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
