package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"conceptstudio/internal/testenv"
	"conceptstudio/store"
)

// TestGenerateIsRepeatableAndRestorable: the same request gives the same
// PNG bytes, and -from an exported PNG reproduces it exactly.
func TestGenerateIsRepeatableAndRestorable(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(req GenerateRequest) []byte { return generateOne(t, a, m, req) }
	req := GenerateRequest{Prompt: "a dog on the left of a cat, on a blue background", Seed: 5, N: 1, Steps: 4, Guidance: 3, Layout: 4}
	first, second := run(req), run(req)
	if !bytes.Equal(first, second) {
		t.Fatal("same prompt and seed gave different PNG bytes")
	}
	st, err := store.ReadSettings(first)
	if err != nil || st.Prompt != req.Prompt || st.Seed != 5 || st.Steps != 4 || st.Guidance != 3 || st.Layout != 4 {
		t.Fatalf("settings %+v, %v", st, err)
	}
	src := filepath.Join(t.TempDir(), "in.png")
	os.WriteFile(src, first, 0o644)
	if again := run(GenerateRequest{From: src, N: 1}); !bytes.Equal(again, first) {
		t.Fatal("-from did not reproduce the image")
	}
	other := run(GenerateRequest{Prompt: req.Prompt, Seed: 6, N: 1, Steps: 4, Guidance: 3, Layout: 4})
	if bytes.Equal(other, first) {
		t.Fatal("another seed gave the same image")
	}
	// -layout 0 given with -from wins over the PNG's layout.
	unguided := run(GenerateRequest{Prompt: req.Prompt, Seed: 5, N: 1, Steps: 4, Guidance: 3})
	if bytes.Equal(unguided, first) {
		t.Fatal("layout guidance changed nothing")
	}
	if again := run(GenerateRequest{From: src, N: 1, LayoutSet: true}); !imagesEqual(t, again, unguided) {
		t.Fatal("-from with -layout 0 did not draw the unguided image")
	}
}

// TestGenerateWritesAttentionMaps: -attention writes, per image, one
// greyscale map per distinct prompt word, named by the word and carrying
// it, of the model's image size, with its brightest pixel at full white.
func TestGenerateWritesAttentionMaps(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	req := GenerateRequest{Prompt: "a dog on a blue background", Seed: 5, N: 2, Steps: 3, Guidance: 3, OutDir: out, ModelPath: m, Attention: true}
	if err := a.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	imgs, _ := filepath.Glob(filepath.Join(out, "*.png"))
	if len(imgs) != 2 {
		t.Fatalf("%d images", len(imgs))
	}
	for _, img := range imgs {
		dir := filepath.Join(out, "attention", strings.TrimSuffix(filepath.Base(img), ".png"))
		maps, _ := filepath.Glob(filepath.Join(dir, "*.png"))
		if len(maps) != 5 { // a, dog, on, blue, background
			t.Fatalf("%s: %d maps, want 5", dir, len(maps))
		}
		data, err := os.ReadFile(filepath.Join(dir, "dog.png"))
		if err != nil {
			t.Fatal(err)
		}
		meta, err := store.ReadPNGMeta(data)
		if err != nil || meta[AttentionWordKey] != "dog" {
			t.Fatalf("dog.png metadata %v, %v", meta, err)
		}
		g, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		gray, ok := g.(*image.Gray)
		if !ok || gray.Bounds().Dx() != 16 {
			t.Fatalf("map is %T of %v", g, g.Bounds())
		}
		if slices.Max(gray.Pix) != 255 {
			t.Fatalf("brightest pixel %d, want 255", slices.Max(gray.Pix))
		}
	}
}

// imagesEqual compares two PNGs' pixels (their settings may differ).
func imagesEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	ia, err1 := png.Decode(bytes.NewReader(a))
	ib, err2 := png.Decode(bytes.NewReader(b))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return sameImage(ia, ib)
}

// TestEveryGateRoundTripsThroughFrom: for every method with a gate, an
// image made with its concept at a gate that is not the default stores
// the gate in the PNG settings, `generate -from` draws the same bytes,
// and the same prompt at the default gate draws another image (so the
// stored gate is what made the difference). A LoRA's multiplier was once
// lost this way.
func TestEveryGateRoundTripsThroughFrom(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	lib := t.TempDir()
	a, err := New(Options{LibraryDir: lib, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	// The tiny model with a tiny encoder in it, so that the instant
	// method (whose gate is its strength) trains too.
	encDir := filepath.Join(t.TempDir(), "enc")
	if err := a.Encoder(context.Background(), EncoderRequest{Dir: encDir, ModelPath: m, Config: "tiny", Steps: 2, Batch: 2}, nil); err != nil {
		t.Fatal(err)
	}
	withEnc := filepath.Join(t.TempDir(), "tiny-with-encoder.safetensors")
	if err := a.Encoder(context.Background(), EncoderRequest{Dir: encDir, ModelPath: m, Attach: withEnc}, nil); err != nil {
		t.Fatal(err)
	}
	m = withEnc
	imgs, _ := filepath.Glob("../examples/teddy/[1-3].png")
	run := func(req GenerateRequest) []byte { return generateOne(t, a, m, req) }
	gated := 0
	for _, info := range Methods() {
		if info.Gate == nil {
			continue
		}
		gated++
		name := "x" + string(info.Name)
		path := filepath.Join(lib, name+store.ConceptExt)
		if err := a.Train(context.Background(), TrainRequest{Method: string(info.Name), Name: name, Class: "teddy bear", Steps: 3,
			OutPath: path, Images: imgs, ModelPath: m}, nil); err != nil {
			t.Fatal(err)
		}
		g := info.Gate.Min + 0.3*(info.Gate.Max-info.Gate.Min)
		req := GenerateRequest{Prompt: "a " + name + "* on a blue background", Seed: 2, N: 1, Steps: 3, Guidance: 3,
			Concepts: []string{path}, Gates: []string{fmt.Sprintf("%s=%g", name, g)}}
		first := run(req)
		st, err := store.ReadSettings(first)
		if err != nil || len(st.Concepts) != 1 || math.Abs(st.Concepts[0].Gate-g) > 1e-9 {
			t.Fatalf("%s: settings %+v (%v), want the gate %g", info.Name, st.Concepts, err, g)
		}
		src := filepath.Join(t.TempDir(), "in.png")
		os.WriteFile(src, first, 0o644)
		if again := run(GenerateRequest{From: src, N: 1}); !bytes.Equal(again, first) {
			t.Errorf("%s: -from did not reproduce the image made at gate %g", info.Name, g)
		}
		// The concept given as a file, not found in the library: its
		// gate still comes from the picture (it fell back to the
		// concept's own once) unless -gate sets another.
		if again := run(GenerateRequest{From: src, N: 1, Concepts: []string{path}}); !bytes.Equal(again, first) {
			t.Errorf("%s: -from with -concept did not reproduce the image made at gate %g", info.Name, g)
		}
		if other := run(GenerateRequest{From: src, N: 1, Concepts: []string{path}, Gates: []string{fmt.Sprintf("%s=%g", name, info.Gate.Max)}}); imagesEqual(t, other, first) {
			t.Errorf("%s: -from with -gate %g drew the picture's gate %g", info.Name, info.Gate.Max, g)
		}
		req.Gates = nil
		if plain := run(req); imagesEqual(t, plain, first) {
			t.Errorf("%s: the gate %g changed nothing against the default", info.Name, g)
		}
	}
	if gated < 3 {
		t.Fatalf("%d methods with a gate, want Perfusion's, LoRA's and the instant method's at least", gated)
	}
}

// generateOne generates req's one image with the model file m into a
// fresh folder and returns the PNG's bytes.
func generateOne(t *testing.T, a *App, m string, req GenerateRequest) []byte {
	t.Helper()
	req.OutDir, req.ModelPath = t.TempDir(), m
	if err := a.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(req.OutDir, "*.png"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	data, _ := os.ReadFile(files[0])
	return data
}

// TestRegionsRoundTripThroughFrom: regions change the picture, are stored
// in the PNG's settings and restored by -from, same bytes; regions given
// with -from win over the PNG's.
func TestRegionsRoundTripThroughFrom(t *testing.T) {
	m := testenv.TinyModelFile(t, t.TempDir())
	a, err := New(Options{LibraryDir: t.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(req GenerateRequest) []byte { return generateOne(t, a, m, req) }
	regions := []Region{{Name: "cat", X: 0, Y: 0, W: 0.5, H: 0.5}, {Name: "dog", X: 0.5, Y: 0.5, W: 0.5, H: 0.5}}
	req := GenerateRequest{Prompt: "a dog next to a cat", Seed: 3, N: 1, Steps: 3, Guidance: 3, Layout: 4, Regions: regions}
	first := run(req)
	st, err := store.ReadSettings(first)
	if err != nil || !slices.Equal(st.Regions, regions) {
		t.Fatalf("stored regions %v (%v), want %v", st.Regions, err, regions)
	}
	src := filepath.Join(t.TempDir(), "in.png")
	os.WriteFile(src, first, 0o644)
	if again := run(GenerateRequest{From: src, N: 1}); !bytes.Equal(again, first) {
		t.Fatal("-from did not reproduce the image made with regions")
	}
	req.Regions = nil
	if plain := run(req); imagesEqual(t, plain, first) {
		t.Fatal("the regions changed nothing")
	}
	swapped := []Region{{Name: "cat", X: 0.5, Y: 0.5, W: 0.5, H: 0.5}, {Name: "dog", X: 0, Y: 0, W: 0.5, H: 0.5}}
	other := run(GenerateRequest{From: src, N: 1, Regions: swapped})
	st2, _ := store.ReadSettings(other)
	if imagesEqual(t, other, first) || !slices.Equal(st2.Regions, swapped) {
		t.Fatalf("regions given with -from did not win: %v", st2.Regions)
	}
}
