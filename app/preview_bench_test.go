package app

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkScenePreview is what the window renders after a box moved on
// the scene canvas (one image, the preview's 10 guided steps, the scene's
// regions, the embedded base already loaded), through the same App.Render
// the window's backend calls: two plain words (Words) and the two example
// concepts read from their files (Concepts), in the same run. The issue
// asks for the preview within 1 s; the window adds no debounce for a box.
func BenchmarkScenePreview(b *testing.B) {
	a, err := New(Options{LibraryDir: b.TempDir(), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	if err != nil {
		b.Fatal(err)
	}
	left, right := Region{X: 0, Y: 0.25, W: 0.5, H: 0.5}, Region{X: 0.5, Y: 0.25, W: 0.5, H: 0.5}
	for _, c := range []struct {
		name string
		req  GenerateRequest
	}{
		{"Words", GenerateRequest{Prompt: "a cat on the left of a car, on a white background"}},
		{"Concepts", GenerateRequest{Prompt: "a teddy* on the left of a teapot*, on a white background",
			Concepts: []string{"examples/teddy.concept.safetensors", "examples/teapot.concept.safetensors"}}},
	} {
		req := c.req
		req.Seed, req.N, req.Steps, req.Guidance, req.Layout = 3, 1, 10, 4, 4
		l, r := left, right
		if c.name == "Words" {
			l.Name, r.Name = "cat", "car"
		} else {
			l.Name, r.Name = "teddy", "teapot"
		}
		req.Regions = []Region{l, r}
		if _, err := a.Render(context.Background(), req, nil); err != nil { // loads the base
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Render(context.Background(), req, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
