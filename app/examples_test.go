package app

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/conceptfile"
	"conceptstudio/store"
)

// TestFirstStartInstallsTheExamples: on a library folder that does not
// exist, the examples are put in it (the folder made) and listed; the
// second start, or a start after the user deleted one, adds nothing; a
// concept of the same name is left alone; with another base model in use
// nothing is installed.
func TestFirstStartInstallsTheExamples(t *testing.T) {
	t.Setenv(EnvModel, "")
	lib := filepath.Join(t.TempDir(), "data", "conceptstudio")
	a, err := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	names := ExampleConceptNames()
	if !slices.Equal(names, []string{"teapot", "teddy"}) {
		t.Fatalf("examples %v, want teapot and teddy (the placeholder prompt's)", names)
	}
	got, err := a.InstallExamples()
	if err != nil || !slices.Equal(got, names) {
		t.Fatalf("installed %v (%v)", got, err)
	}
	entries, err := a.Library.List()
	if err != nil || len(entries) != 2 {
		t.Fatalf("library lists %d entries (%v), want the 2 examples", len(entries), err)
	}
	if again, _ := a.InstallExamples(); len(again) != 0 {
		t.Errorf("a second start installed %v", again)
	}
	os.Remove(store.NewLibrary(lib).ConceptPath("teddy"))
	if again, _ := a.InstallExamples(); len(again) != 0 {
		t.Errorf("a deleted example came back: %v", again)
	}

	other := t.TempDir()
	mine := store.NewLibrary(other).ConceptPath("teddy")
	os.WriteFile(mine, []byte("the user's own"), 0o644)
	b, _ := New(Options{LibraryDir: other, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if got, _ := b.InstallExamples(); !slices.Equal(got, []string{"teapot"}) {
		t.Errorf("installed %v beside the user's teddy, want teapot only", got)
	}
	if data, _ := os.ReadFile(mine); string(data) != "the user's own" {
		t.Error("the user's teddy was overwritten")
	}

	t.Setenv(EnvModel, "/some/other/model.safetensors")
	c, _ := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if got, _ := c.InstallExamples(); len(got) != 0 {
		t.Errorf("installed %v for another base model", got)
	}
}

// TestExampleConceptsFitTheEmbeddedBase: the shipped examples were trained
// on the embedded base model, so they load and draw. When the embedded
// base changes this fails until `make example-concepts` retrains them.
func TestExampleConceptsFitTheEmbeddedBase(t *testing.T) {
	base, err := engine.DefaultBase()
	if err != nil {
		t.Skip("no embedded base:", err)
	}
	for _, name := range ExampleConceptNames() {
		data, err := exampleConcepts.ReadFile("examples/" + name + store.ConceptExt)
		if err != nil {
			t.Fatal(err)
		}
		c, err := conceptfile.DecodeConcept(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Name != name || c.BaseID != base.ID() {
			t.Errorf("%s: concept %q on base %s, the embedded base is %s: run make example-concepts", name, c.Name, c.BaseID, base.ID())
		}
	}
}
