package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultLibraryDir(t *testing.T) {
	t.Setenv(EnvLibrary, "")
	t.Setenv("XDG_DATA_HOME", "/data/x")
	if d, err := DefaultLibraryDir(); err != nil || d != "/data/x/conceptstudio" {
		t.Errorf("XDG_DATA_HOME: got %q, %v", d, err)
	}
	t.Setenv("XDG_DATA_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/u")
	if d, _ := DefaultLibraryDir(); d != "/home/u/.local/share/conceptstudio" {
		t.Errorf("relative XDG_DATA_HOME must be ignored, got %q", d)
	}
	t.Setenv(EnvLibrary, "/lib")
	if d, _ := DefaultLibraryDir(); d != "/lib" {
		t.Errorf("%s must win, got %q", EnvLibrary, d)
	}
}

func TestListMissingFolderIsEmpty(t *testing.T) {
	l := NewLibrary(filepath.Join(t.TempDir(), "not-yet"))
	got, err := l.List()
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestListSkipsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.concept.safetensors"), []byte("xx"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.concept.safetensors"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.safetensors"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "c.concept.safetensors"), 0o755)
	got, err := NewLibrary(dir).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" || got[1].Size != 2 {
		t.Fatalf("got %+v", got)
	}
}
