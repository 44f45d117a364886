package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/model"
	"conceptstudio/store"
)

func TestParseGate(t *testing.T) {
	name, beta, err := ParseGate("teddy*=0.6")
	if err != nil || name != "teddy" || beta != 0.6 {
		t.Fatalf("got %q %v %v", name, beta, err)
	}
	if _, beta, err := ParseGate("lora1=1.5"); err != nil || beta != 1.5 {
		t.Fatalf("a LoRA multiplier of 1.5 must parse: %v %v", beta, err)
	}
	for _, bad := range []string{"teddy", "=0.5", "teddy=x", "teddy=2.5", "teddy=-0.1"} {
		if _, _, err := ParseGate(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseGate(%q): want ErrUsage, got %v", bad, err)
		}
	}
}

func TestValidateRequests(t *testing.T) {
	ok := GenerateRequest{Prompt: "a dog", N: 4, Steps: 25, Guidance: 4, OutDir: "o"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	bad := ok
	bad.Steps = 0
	if err := bad.Validate(); !errors.Is(err, ErrUsage) {
		t.Errorf("steps 0: want ErrUsage, got %v", err)
	}
	tr := TrainRequest{Method: "ti", Name: "t", Class: "teddy bear", OutPath: "t.s", Images: []string{"a.png"}}
	if err := tr.Validate(); err != nil {
		t.Fatalf("valid train request refused: %v", err)
	}
	tr.Method = "unknown"
	if err := tr.Validate(); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "perfusion") {
		t.Errorf("unknown method: want ErrUsage listing the methods, got %v", err)
	}
}

// TestBenchModels: bench -config base trains the architecture of the
// embedded base model (which may predate position embeddings, the text
// layout map and the place bias, zero-starting additions); unknown names
// are usage errors.
func TestBenchModels(t *testing.T) {
	b, err := engine.DefaultBase()
	if err != nil {
		t.Skipf("no embedded model in this build: %v", err)
	}
	c, err := benchModel("base")
	if err != nil {
		t.Fatal(err)
	}
	want := b.Cfg
	want.PosEmb, want.TextLayout, want.TextPlaces = c.PosEmb, c.TextLayout, c.TextPlaces
	if !reflect.DeepEqual(c, want) {
		t.Errorf("bench's base config\n%+v\nis not the embedded model's\n%+v", c, b.Cfg)
	}
	if r, err := benchModel(""); err != nil || !reflect.DeepEqual(r, model.Reference()) {
		t.Errorf("the default is not the reference config: %v", err)
	}
	if _, err := benchModel("huge"); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown config: want ErrUsage, got %v", err)
	}
}

// TestGenerateWithTheEmbeddedModel: without -model, generate uses the
// embedded base model and records its id in the PNG; a build without one
// says so clearly instead.
func TestGenerateWithTheEmbeddedModel(t *testing.T) {
	t.Setenv(EnvModel, "")
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	err = a.Generate(context.Background(), GenerateRequest{Prompt: "a dog", N: 1, Steps: 2, Guidance: 3, OutDir: out}, nil)
	b, berr := engine.DefaultBase()
	if errors.Is(berr, engine.ErrNoEmbeddedModel) {
		if !errors.Is(err, ErrNotImplemented) || !strings.HasPrefix(Explain(err), "not implemented yet") {
			t.Errorf("generate without an embedded model: want a not-implemented error, got %v", err)
		}
		return
	}
	if err != nil || berr != nil {
		t.Fatalf("generate with the embedded model: %v, %v", err, berr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(files) != 1 {
		t.Fatalf("%d images written", len(files))
	}
	data, _ := os.ReadFile(files[0])
	st, err := store.ReadSettings(data)
	if err != nil || st.BaseID != b.ID() || st.Prompt != "a dog" {
		t.Fatalf("settings %+v, %v; want base %s", st, err, b.ID())
	}
}

func TestConceptsListReadsTheFolder(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	a, err := New(Options{LibraryDir: dir, Out: &out, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"teddy.concept.safetensors", "notes.txt", "cup.concept.safetensors"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("12345"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Concepts(context.Background(), []string{"list"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "cup\t5 bytes") || !strings.HasPrefix(lines[1], "teddy\t") {
		t.Errorf("unexpected listing:\n%s", out.String())
	}
}
