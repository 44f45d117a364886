package store

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"reflect"
	"strings"
	"testing"

	"conceptstudio/engine/region"
)

func sampleSettings() GenerationSettings {
	return GenerationSettings{
		Prompt: "a teddy* sailing in a teapot* — on a blue background 🌊", Seed: -42, Index: 3, Steps: 30,
		Guidance: 7.5, Layout: 5, Sampler: "ddim", BaseID: testBase, AppVersion: "0.3.0",
		Concepts: []ConceptUse{
			{Name: "teddy", SHA256: strings.Repeat("ab", 32), Gate: 0.7, Tau: 0.15},
			{Name: "teapot", Gate: 1.5},
		},
		Regions: []region.Region{{Name: "teddy", X: 0, Y: 0.25, W: 0.5, H: 0.5}, {Name: "teapot", X: 0.5, Y: 0.125, W: 0.375, H: 0.75}},
	}
}

func TestSettingsRoundTripThroughPNG(t *testing.T) {
	s := sampleSettings()
	var buf bytes.Buffer
	if err := EncodePNG(&buf, image.NewNRGBA(image.Rect(0, 0, 4, 4)), s.Meta()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSettings(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip:\n%+v\n%+v", got, s)
	}
	if _, err := png.Decode(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("the iTXt chunk broke the PNG: %v", err)
	}
}

func TestReadSettingsOfAppGeneratedKeys(t *testing.T) {
	// The keys app.Generate wrote before layout guidance, without
	// concepts: no layout key reads as none (0), as those images were made.
	meta := map[string]string{"prompt": "a dog", "seed": "7", "index": "0", "steps": "20", "guidance": "3",
		"sampler": "ddim", "base_model": "b1", "app_version": "dev"}
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), meta)
	s, err := ReadSettings(buf.Bytes())
	want := GenerationSettings{Prompt: "a dog", Seed: 7, Steps: 20, Guidance: 3, Sampler: "ddim", BaseID: "b1", AppVersion: "dev"}
	if err != nil || !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v, %v", s, err)
	}
}

func TestReadSettingsRefusesBadValues(t *testing.T) {
	good := sampleSettings().Meta()
	cases := map[string]func(m map[string]string){
		"no prompt":       func(m map[string]string) { delete(m, "prompt") },
		"seed":            func(m map[string]string) { m["seed"] = "forty-two" },
		"steps negative":  func(m map[string]string) { m["steps"] = "-1" },
		"guidance NaN":    func(m map[string]string) { m["guidance"] = "NaN" },
		"layout":          func(m map[string]string) { m["layout"] = "strong" },
		"concepts json":   func(m map[string]string) { m["concepts"] = "[{" },
		"concept name":    func(m map[string]string) { m["concepts"] = `[{"name":"../x","beta":0.5}]` },
		"concept hash":    func(m map[string]string) { m["concepts"] = `[{"name":"x","sha256":"zz","beta":0.5}]` },
		"index not a num": func(m map[string]string) { m["index"] = "1e3" },
		"regions json":    func(m map[string]string) { m["regions"] = `[{"name":"teddy","x":0` },
		"region outside":  func(m map[string]string) { m["regions"] = `[{"name":"teddy","x":0.9,"y":0,"w":0.5,"h":0.5}]` },
		"region name":     func(m map[string]string) { m["regions"] = `[{"name":"../x","x":0,"y":0,"w":0.5,"h":0.5}]` },
	}
	for name, edit := range cases {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		edit(m)
		var buf bytes.Buffer
		EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), m)
		_, err := ReadSettings(buf.Bytes())
		if !errors.Is(err, ErrNoSettings) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want a one-line ErrNoSettings, got %v", name, err)
		}
	}
	if _, err := ReadSettings([]byte("GIF89a")); !errors.Is(err, ErrNotPNG) {
		t.Errorf("not a PNG: %v", err)
	}
}

func TestGallerySaveAndList(t *testing.T) {
	l := openTestLibrary(t)
	s := sampleSettings()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	p1, err := l.SaveImage(img, s)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := l.SaveImage(img, s) // same second, seed and index: a new name
	if err != nil || p1 == p2 {
		t.Fatalf("second image %q, %v", p2, err)
	}
	writeFile(t, l.GalleryDir(), "foreign.png", pngHeaderOnly(1, 1))
	items, err := NewLibrary(l.Dir).Gallery()
	if err != nil || len(items) != 3 {
		t.Fatalf("gallery %+v, %v", items, err)
	}
	ok := 0
	for _, it := range items {
		if it.Err == nil {
			ok++
			if !reflect.DeepEqual(it.Settings, s) {
				t.Errorf("%s: settings %+v", it.Path, it.Settings)
			}
		} else if !errors.Is(it.Err, ErrNoSettings) {
			t.Errorf("%s: %v", it.Path, it.Err)
		}
	}
	if ok != 2 {
		t.Fatalf("%d images with settings, want 2", ok)
	}
	if _, err := NewLibrary(l.Dir).SaveImage(img, s); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only SaveImage: %v", err)
	}
	data, _ := os.ReadFile(p1)
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// TestReadSettingsOfOlderGates: images made before gates were generic
// stored a Perfusion β as "beta"; it reads as the gate. A negative or
// absurd gate is refused.
func TestReadSettingsOfOlderGates(t *testing.T) {
	meta := sampleSettings().Meta()
	meta["concepts"] = `[{"name":"teddy","beta":0.65,"tau":0.15},{"name":"cup","gate":0.8}]`
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), meta)
	s, err := ReadSettings(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []ConceptUse{{Name: "teddy", Gate: 0.65, Tau: 0.15}, {Name: "cup", Gate: 0.8}}
	if !reflect.DeepEqual(s.Concepts, want) {
		t.Errorf("concepts %+v, want %+v", s.Concepts, want)
	}
	for _, bad := range []string{`[{"name":"teddy","gate":-1}]`, `[{"name":"teddy","beta":1e9}]`} {
		meta["concepts"] = bad
		buf.Reset()
		EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), meta)
		if _, err := ReadSettings(buf.Bytes()); !errors.Is(err, ErrNoSettings) {
			t.Errorf("%s: want ErrNoSettings, got %v", bad, err)
		}
	}
}
