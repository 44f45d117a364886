package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteReplacesWholly: a successful write replaces the file with an
// ordinary (0644) one; a failing one keeps the old bytes and leaves no
// temporary file behind.
func TestWriteReplacesWholly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.bin")
	if err := WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("encoder failed")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want the writer's error, got %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("a failed write changed the file to %q", got)
	}
	if err := WriteBytes(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("file holds %q after writing \"new\"", got)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", fi.Mode().Perm(), err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Errorf("folder holds %d entries, want only a.bin", len(des))
	}
	if err := WriteBytes(filepath.Join(dir, "missing", "b"), nil); err == nil {
		t.Error("a write into a missing folder succeeded")
	}
}

// TestIsTempMatchesWrite: the names Write uses for its temporary files are
// recognised, and ordinary names are not.
func TestIsTempMatchesWrite(t *testing.T) {
	dir := t.TempDir()
	var seen string
	Write(filepath.Join(dir, "teddy.concept.safetensors"), func(io.Writer) error {
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			seen = de.Name()
		}
		return nil
	})
	if !IsTemp(seen) {
		t.Errorf("Write's temporary %q is not recognised", seen)
	}
	for name, want := range map[string]bool{
		".a.png.tmp9": true, "a.png": false, ".a.tmp": false, "a.tmp1": false, ".x.tmp12a": false, ".tmp1": false,
	} {
		if IsTemp(name) != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, !want, want)
		}
	}
}
