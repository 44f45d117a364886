package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/conceptfile"
	"conceptstudio/engine/safetensors"
	"conceptstudio/internal/testenv"
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

// TestOutdatedConceptsAfterTheBaseChanges: a concept trained in the
// library on one base model is listed as outdated, with its kept training
// images, when another base model is in use, and not on its own.
func TestOutdatedConceptsAfterTheBaseChanges(t *testing.T) {
	dir := t.TempDir()
	first := testenv.TinyModelFile(t, dir)
	// Another base: one weight changed, and no recorded identity, so it
	// gets its own.
	f, err := safetensors.ReadFile(first, safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	delete(f.Metadata, "conceptstudio.base_id")
	for i, tn := range f.Tensors {
		if tn.DType == safetensors.F32 && tn.Name != "perfusion.cov_inverse" {
			v, _ := tn.Float32()
			v[0] += 0.5
			f.Tensors[i] = safetensors.F32Tensor(tn.Name, tn.Shape, v)
			break
		}
	}
	second := filepath.Join(t.TempDir(), "second.safetensors")
	out, _ := os.Create(second)
	if err := safetensors.Encode(out, f); err != nil {
		t.Fatal(err)
	}
	out.Close()
	lib := filepath.Join(t.TempDir(), "lib")
	a, _ := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	t.Setenv(EnvModel, first)
	if err := a.Train(context.Background(), TrainRequest{Method: "ti", Name: "bear", Class: "teddy bear", Steps: 2, OutPath: a.LibraryPath("bear"), Images: imgs}, nil); err != nil {
		t.Fatal(err)
	}
	if out, err := a.OutdatedConcepts(); err != nil || len(out) != 0 {
		t.Fatalf("on its own base: %+v, %v", out, err)
	}
	t.Setenv(EnvModel, second)
	a2, _ := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	old, err := a2.OutdatedConcepts()
	if err != nil || len(old) != 1 || old[0].Name != "bear" || old[0].Class != "teddy bear" || old[0].Method != "ti" || len(old[0].Images) != 3 {
		t.Fatalf("on another base: %+v, %v", old, err)
	}
	// Retraining from the kept images makes it fit the new base.
	if err := a2.Train(context.Background(), TrainRequest{Method: old[0].Method, Name: "bear", Class: old[0].Class, Steps: 2, OutPath: a2.LibraryPath("bear"), Images: old[0].Images}, nil); err != nil {
		t.Fatal(err)
	}
	if again, err := a2.OutdatedConcepts(); err != nil || len(again) != 0 {
		t.Fatalf("after retraining: %+v, %v", again, err)
	}
	if kept, _ := a2.Library.TrainingImagePaths("bear"); len(kept) != 3 {
		t.Errorf("retraining left %d training images, want 3", len(kept))
	}
}
