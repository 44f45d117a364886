package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestUnbuiltUseCasesSayNotImplemented(t *testing.T) {
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Generate(context.Background(), GenerateRequest{Prompt: "a dog", N: 1, Steps: 1, OutDir: t.TempDir()}, nil)
	if !errors.Is(err, ErrNotImplemented) || !strings.HasPrefix(Explain(err), "not implemented yet") {
		t.Errorf("generate: want a not-implemented error, got %v", err)
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
