package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/safefile"
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
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Fatal("listing must not create the folder")
	}
}

func TestListSkipsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.concept.safetensors"), []byte("xx"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.concept.safetensors"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.safetensors"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".b.concept.safetensors.tmp123"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden.concept.safetensors"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "c.concept.safetensors"), 0o755)
	got, err := NewLibrary(dir).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" || got[1].Size != 2 {
		t.Fatalf("got %+v", got)
	}
	for _, e := range got {
		if !errors.Is(e.Err, engine.ErrCorruptConcept) {
			t.Errorf("%s: a junk file must be listed with ErrCorruptConcept, got %v", e.Name, e.Err)
		}
	}
}

func TestListDecodesMetadata(t *testing.T) {
	l := openTestLibrary(t)
	c := testConcept("teddy")
	if err := l.Add(c); err != nil {
		t.Fatal(err)
	}
	got, err := NewLibrary(l.Dir).List() // read-only: no lock needed
	if err != nil || len(got) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	e := got[0]
	if e.Err != nil || e.Name != "teddy" || e.Method != engine.Perfusion || e.Class != "teddy bear" || e.BaseID != testBase ||
		e.Scores["identity"] != 0.8 || string(e.Thumbnail) != string(c.Thumbnail) || !e.Created.Equal(c.Created) ||
		e.Settings.Beta != 0.7 || e.Size != int64(len(encodeConcept(t, c))) || e.Path != l.ConceptPath("teddy") {
		t.Fatalf("entry %+v", e)
	}
}

func TestListKeepsCorruptAndMismatchedFiles(t *testing.T) {
	l := openTestLibrary(t)
	l.Add(testConcept("good"))
	good := encodeConcept(t, testConcept("good"))
	writeFile(t, l.Dir, "broken.concept.safetensors", good[:len(good)/2])
	writeFile(t, l.Dir, "other.concept.safetensors", good) // holds "good"
	got, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{"broken": engine.ErrCorruptConcept, "good": nil, "other": ErrNameMismatch}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for _, e := range got {
		w := want[e.Name]
		if (w == nil) != (e.Err == nil) || (w != nil && !errors.Is(e.Err, w)) {
			t.Errorf("%s: err %v, want %v", e.Name, e.Err, w)
		}
		if e.Err != nil && strings.Contains(e.Err.Error(), "\n") {
			t.Errorf("%s: error must be one line: %q", e.Name, e.Err)
		}
	}
	if _, err := l.Get("other"); !errors.Is(err, ErrNameMismatch) {
		t.Errorf("Get of a mismatched file: %v", err)
	}
	// Renaming the mismatched file repairs it.
	if err := l.Rename("other", "third"); err != nil {
		t.Fatal(err)
	}
	if c, err := l.Get("third"); err != nil || c.Name != "third" {
		t.Fatalf("after repair: %v, %v", c, err)
	}
}

func TestListSeesReplacedFile(t *testing.T) {
	l := openTestLibrary(t)
	c := testConcept("teddy")
	l.Save(c)
	first, _ := l.List()
	c.Class = "brown bear"
	c.Tensors["extra"] = engine.Tensor{Shape: []int{1}, Data: []float32{1}}
	if err := l.Save(c); err != nil {
		t.Fatal(err)
	}
	second, _ := l.List()
	if first[0].Class != "teddy bear" || second[0].Class != "brown bear" || second[0].Size == first[0].Size {
		t.Fatalf("the listing must follow the file: %q then %q", first[0].Class, second[0].Class)
	}
}

func TestReadOnlyLibraryRefusesWrites(t *testing.T) {
	l := openTestLibrary(t)
	l.Add(testConcept("teddy"))
	before := snapshot(t, l.Dir)
	ro := NewLibrary(l.Dir)
	checks := map[string]error{
		"add":       ro.Add(testConcept("cup")),
		"save":      ro.Save(testConcept("teddy")),
		"rename":    ro.Rename("teddy", "bear"),
		"duplicate": ro.Duplicate("teddy", "bear"),
		"delete":    ro.Delete("teddy"),
	}
	_, checks["import"] = ro.Import(filepath.Join(l.Dir, "teddy.concept.safetensors"), ImportOptions{Name: "x"})
	_, checks["restore"] = ro.Restore("teddy")
	for op, err := range checks {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only library: want ErrReadOnly, got %v", op, err)
		}
	}
	if got := snapshot(t, l.Dir); got != before {
		t.Fatalf("a read-only library changed:\n%s\n---\n%s", before, got)
	}
	if c, err := ro.Get("teddy"); err != nil || c.Name != "teddy" {
		t.Fatalf("reading must work read-only: %v", err)
	}
	l.Close()
	if err := l.Save(testConcept("cup")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write after Close: %v", err)
	}
}

func TestAddSaveAndGet(t *testing.T) {
	l := openTestLibrary(t)
	c := testConcept("teddy")
	if err := l.Add(c); err != nil {
		t.Fatal(err)
	}
	if err := l.Add(testConcept("teddy")); !errors.Is(err, ErrExists) {
		t.Errorf("second Add: want ErrExists, got %v", err)
	}
	back, err := l.Get("teddy")
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("Get: %v\n%+v\n%+v", err, back, c)
	}
	c.Class = "bear"
	if err := l.Save(c); err != nil {
		t.Fatal(err)
	}
	if back, _ := l.Get("teddy"); back.Class != "bear" {
		t.Errorf("Save must replace: class %q", back.Class)
	}
	if _, err := l.Get("nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	bad := testConcept("ok")
	bad.Name = "../escape"
	if err := l.Add(bad); !errors.Is(err, ErrBadName) {
		t.Errorf("Add with a path name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(l.Dir), "escape"+ConceptExt)); err == nil {
		t.Fatal("a file was written outside the library")
	}
}

func TestRenameRewritesPseudoWord(t *testing.T) {
	l := openTestLibrary(t)
	orig := testConcept("teddy")
	l.Add(orig)
	l.Add(testConcept("cup"))
	if err := l.Rename("teddy", "bear"); err != nil {
		t.Fatal(err)
	}
	if l.Has("teddy") {
		t.Error("the old file is still there")
	}
	c, err := l.Get("bear")
	if err != nil || c.Name != "bear" {
		t.Fatalf("renamed concept: %+v, %v", c, err)
	}
	if !reflect.DeepEqual(c.Tensors, orig.Tensors) || c.Class != orig.Class {
		t.Error("renaming must keep the weights and class")
	}
	before := snapshot(t, l.Dir)
	for _, bad := range []string{"", "Bear", "a/b", `a\b`, "../x", "a\x00b", "tab\t", "spaced name", strings.Repeat("a", 33)} {
		if err := l.Rename("bear", bad); !errors.Is(err, ErrBadName) {
			t.Errorf("rename to %q: want ErrBadName, got %v", bad, err)
		}
	}
	if err := l.Rename("bear", "cup"); !errors.Is(err, ErrExists) {
		t.Errorf("rename onto an existing name: %v", err)
	}
	if err := l.Rename("ghost", "spirit"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rename of a missing concept: %v", err)
	}
	if got := snapshot(t, l.Dir); got != before {
		t.Fatal("refused renames changed the library")
	}
}

func TestDuplicate(t *testing.T) {
	l := openTestLibrary(t)
	l.Add(testConcept("teddy"))
	if err := l.Duplicate("teddy", "teddy2"); err != nil {
		t.Fatal(err)
	}
	a, _ := l.Get("teddy")
	b, err := l.Get("teddy2")
	if err != nil || b.Name != "teddy2" || !reflect.DeepEqual(a.Tensors, b.Tensors) {
		t.Fatalf("duplicate: %+v, %v", b, err)
	}
	if err := l.Duplicate("teddy", "teddy2"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate onto an existing name: %v", err)
	}
	if err := l.Duplicate("teddy", "teddy"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate onto itself: %v", err)
	}
}

func TestDeleteTrashRestore(t *testing.T) {
	l := openTestLibrary(t)
	first := testConcept("teddy")
	l.Add(first)
	if err := l.Delete("teddy"); err != nil {
		t.Fatal(err)
	}
	if l.Has("teddy") {
		t.Fatal("deleted concept still in the library")
	}
	second := testConcept("teddy")
	second.Class = "second teddy"
	l.Add(second)
	if err := l.Delete("teddy"); err != nil {
		t.Fatal(err)
	}
	trash, err := l.Trash()
	if err != nil || len(trash) != 2 {
		t.Fatalf("trash: %+v, %v", trash, err)
	}
	ids := map[string]string{}
	for _, e := range trash {
		if e.Name != "teddy" || e.Err != nil || e.DeletedAt.IsZero() {
			t.Errorf("trash entry %+v", e)
		}
		ids[e.ID] = e.Class
	}
	if ids["teddy"] != "teddy bear" || ids["teddy~2"] != "second teddy" {
		t.Fatalf("trash ids: %v", ids)
	}
	if list, _ := l.List(); len(list) != 0 {
		t.Fatalf("trash must not show in the list: %+v", list)
	}
	name, err := l.Restore("teddy~2")
	if err != nil || name != "teddy" {
		t.Fatalf("restore: %q, %v", name, err)
	}
	if c, err := l.Get("teddy"); err != nil || c.Class != "second teddy" {
		t.Fatalf("restored concept: %+v, %v", c, err)
	}
	if _, err := l.Restore("teddy"); !errors.Is(err, ErrExists) {
		t.Errorf("restore over a live concept: %v", err)
	}
	for _, id := range []string{"nope", "../teddy", "teddy~9", ""} {
		if _, err := l.Restore(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("restore %q: want ErrNotFound, got %v", id, err)
		}
	}
	if err := l.Delete("ghost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	if err := l.EmptyTrash(); err != nil {
		t.Fatal(err)
	}
	if trash, _ := l.Trash(); len(trash) != 0 {
		t.Fatalf("trash not empty: %+v", trash)
	}
	if !l.Has("teddy") {
		t.Fatal("emptying the trash removed a live concept")
	}
}

func TestOpenLibraryRemovesStaleTemps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lib")
	os.MkdirAll(filepath.Join(dir, TrashName), 0o755)
	stale := []string{
		filepath.Join(dir, ".teddy.concept.safetensors.tmp12345"),
		filepath.Join(dir, TrashName, ".x.concept.safetensors.tmp1"),
	}
	for _, p := range stale {
		os.WriteFile(p, []byte("half"), 0o644)
	}
	keep := writeFile(t, dir, ".config.tmpfile", []byte("not ours"))
	l, err := OpenLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived", p)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Error("a file that is not a temp file was removed")
	}
}

func TestSecondOpenFailsUntilClose(t *testing.T) {
	l := openTestLibrary(t)
	_, err := OpenLibrary(l.Dir)
	want := "the library is in use by another Concept Studio (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !errors.Is(err, ErrLibraryInUse) || err.Error() != want {
		t.Fatalf("second open: got %v, want %q", err, want)
	}
	l.Close()
	l2, err := OpenLibrary(l.Dir)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	l2.Close()
}

func TestIsTempName(t *testing.T) {
	for n, want := range map[string]bool{
		".teddy.concept.safetensors.tmp123": true, ".a.png.tmp9": true,
		"teddy.concept.safetensors": false, ".teddy.tmp": false, ".x.tmp12a": false, "a.tmp1": false,
	} {
		if safefile.IsTemp(n) != want {
			t.Errorf("safefile.IsTemp(%q) != %v", n, want)
		}
	}
}

func TestBadlyNamedFilesCanBeRepairedOrDeleted(t *testing.T) {
	l := openTestLibrary(t)
	writeFile(t, l.Dir, "Teddy Bear.concept.safetensors", encodeConcept(t, testConcept("teddy")))
	writeFile(t, l.Dir, "Junk.concept.safetensors", []byte("junk"))
	list, _ := l.List()
	if len(list) != 2 || list[0].Err == nil || list[1].Err == nil {
		t.Fatalf("both must be listed with errors: %+v", list)
	}
	if err := l.Rename("Teddy Bear", "teddy"); err != nil {
		t.Fatalf("repairing rename: %v", err)
	}
	if err := l.Delete("Junk"); err != nil {
		t.Fatalf("deleting a junk file: %v", err)
	}
	list, _ = l.List()
	if len(list) != 1 || list[0].Name != "teddy" || list[0].Err != nil {
		t.Fatalf("after repair: %+v", list)
	}
	for _, bad := range []string{"../lib", "a/b", ".hidden", ""} {
		if err := l.Delete(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q): %v", bad, err)
		}
	}
}

func TestListSeesSameSizeRewriteWithSameTime(t *testing.T) {
	l := openTestLibrary(t)
	c := testConcept("teddy")
	l.Save(c)
	first, _ := l.List()
	c.Class = "polar bear" // same length as "teddy bear": same file size
	l.Save(c)
	p := l.ConceptPath("teddy")
	os.Chtimes(p, first[0].ModTime, first[0].ModTime) // as on a filesystem with coarse times
	second, _ := l.List()
	if second[0].Size != first[0].Size || !second[0].ModTime.Equal(first[0].ModTime) {
		t.Fatalf("test setup: size %d/%d time %v/%v", first[0].Size, second[0].Size, first[0].ModTime, second[0].ModTime)
	}
	if second[0].Class != "polar bear" {
		t.Fatalf("stale listing after an atomic rewrite: %q", second[0].Class)
	}
}
