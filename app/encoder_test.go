package app

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/internal/testenv"
)

// TestEncoderThenInstantConcept: the encoder command end to end on a tiny
// model (a folder that does not exist yet, two sittings), then
// `train -method e4t -encoder FILE` with one picture makes a concept that
// generates; the window's list leaves e4t out for a model without an
// encoder and offers it for one with (the embedded model's), and bad requests are refused in plain words.
func TestEncoderThenInstantConcept(t *testing.T) {
	var out bytes.Buffer
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &out, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.TinyModelFile(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "enc", "run")
	req := EncoderRequest{Dir: dir, ModelPath: m, Config: "tiny", Steps: 4, StopAfter: 2, Batch: 2}
	for range 2 {
		if err := a.Encoder(context.Background(), req, nil); err != nil {
			t.Fatal(err)
		}
	}
	enc := filepath.Join(dir, engine.EncoderFile)
	if !strings.Contains(out.String(), enc) {
		t.Fatalf("the command did not name the encoder file: %q", out.String())
	}
	concept := filepath.Join(t.TempDir(), "teddy.concept.safetensors")
	tr := TrainRequest{Method: "e4t", Name: "teddy", Class: "teddy bear", OutPath: concept, Images: []string{"../examples/teddy/1.png"}, ModelPath: m, EncoderPath: enc}
	if err := a.Train(context.Background(), tr, nil); err != nil {
		t.Fatal(err)
	}
	c, err := engine.ReadConceptFile(concept)
	if err != nil || c.Method != engine.E4T || c.Settings.Images != 1 {
		t.Fatalf("concept %+v, %v", c, err)
	}
	img := generateOne(t, a, m, GenerateRequest{Prompt: "a teddy* on a blue background", Seed: 1, N: 1, Steps: 2, Guidance: 3, Concepts: []string{concept}})
	if len(img) == 0 {
		t.Fatal("no picture")
	}
	// Perfusion started from the encoder's word trains from another start.
	perf := func(init string) *engine.Concept {
		p := filepath.Join(t.TempDir(), "p.concept.safetensors")
		if err := a.Train(context.Background(), TrainRequest{Method: "perfusion", Name: "teddy", Class: "teddy bear", Steps: 2, OutPath: p,
			Images: []string{"../examples/teddy/1.png"}, ModelPath: m, EncoderPath: enc, Init: init}, nil); err != nil {
			t.Fatal(err)
		}
		c, err := engine.ReadConceptFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if slices.Equal(perf("").Tensors["emb"].Data, perf("e4t").Tensors["emb"].Data) {
		t.Error("-init e4t did not change where Perfusion's word starts")
	}
	bad := tr
	bad.Init = "clip"
	if err := a.Train(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), "-init") {
		t.Errorf("-init clip: %v", err)
	}
	tr.EncoderPath, tr.OutPath = "", filepath.Join(t.TempDir(), "x.concept.safetensors")
	if err := a.Train(context.Background(), tr, nil); err == nil || !strings.Contains(err.Error(), "needs an encoder") {
		t.Errorf("e4t without an encoder: %v", err)
	}
	t.Setenv(EnvModel, m) // a model without an encoder (the embedded one carries one)
	for _, info := range Methods() {
		if info.Name == engine.E4T {
			t.Error("the window offers e4t without an encoder to start from")
		}
	}
	// The encoder attached to the model: e4t needs no -encoder, and the
	// window offers it when that model is in use.
	shipped := filepath.Join(t.TempDir(), "with-encoder.safetensors")
	if err := a.Encoder(context.Background(), EncoderRequest{Dir: dir, ModelPath: m, Attach: shipped}, nil); err != nil {
		t.Fatal(err)
	}
	instant := filepath.Join(t.TempDir(), "cup.concept.safetensors")
	if err := a.Train(context.Background(), TrainRequest{Method: "e4t", Name: "cup", Class: "teapot", OutPath: instant,
		Images: []string{"../examples/teapot/1.png"}, ModelPath: shipped}, nil); err != nil {
		t.Fatalf("e4t on a model that carries its encoder: %v", err)
	}
	t.Setenv(EnvModel, shipped)
	if !slices.ContainsFunc(Methods(), func(m MethodInfo) bool { return m.Name == engine.E4T }) {
		t.Error("the window does not offer e4t on a model that carries an encoder")
	}
	t.Setenv(EnvModel, "") // the embedded model ships with its encoder
	if !slices.ContainsFunc(Methods(), func(m MethodInfo) bool { return m.Name == engine.E4T }) {
		t.Error("the window does not offer e4t on the embedded model")
	}
	for _, bad := range []struct {
		req  EncoderRequest
		says string
	}{
		{EncoderRequest{}, "missing -dir"},
		{EncoderRequest{Dir: dir, Steps: -1}, "must not be negative"},
		{EncoderRequest{Dir: dir, ModelPath: m, Config: "huge"}, "choose default or tiny"},
	} {
		if err := a.Encoder(context.Background(), bad.req, nil); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%+v: %v, want %q", bad.req, err, bad.says)
		}
	}
}
