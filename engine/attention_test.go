package engine

import (
	"context"
	"slices"
	"testing"
)

// TestGenerateAttentionMaps: a generation asked for attention maps gets
// one map per image and prompt word, of the image's size, scaled to a
// maximum of 1, the same for the same seed, and the images themselves are
// the same as without maps.
func TestGenerateAttentionMaps(t *testing.T) {
	b := tinyBase(t)
	prompt := "a cat on a red background"
	run := func(maps *AttentionMaps) [][]uint8 {
		imgs, err := b.Generate(context.Background(), GenerateOptions{Prompt: prompt, N: 2, Steps: 3, Guidance: 3, Seed: 7, Attention: maps}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var pix [][]uint8
		for _, im := range imgs {
			pix = append(pix, im.Pix)
		}
		return pix
	}
	var m1, m2 AttentionMaps
	a, c := run(&m1), run(nil)
	run(&m2)
	for i := range a {
		if !slices.Equal(a[i], c[i]) {
			t.Fatalf("image %d differs when attention maps are asked for", i)
		}
	}
	if want := []string{"a", "cat", "on", "a", "red", "background"}; !slices.Equal(m1.Words, want) {
		t.Fatalf("words %q, want %q", m1.Words, want)
	}
	if len(m1.Maps) != 2 || m1.Size != b.Cfg.ImageSize {
		t.Fatalf("%d images of maps, size %d", len(m1.Maps), m1.Size)
	}
	for i, per := range m1.Maps {
		if len(per) != len(m1.Words) {
			t.Fatalf("image %d: %d maps for %d words", i, len(per), len(m1.Words))
		}
		for w, m := range per {
			if len(m) != m1.Size*m1.Size {
				t.Fatalf("map %d/%d has %d values", i, w, len(m))
			}
			top := slices.Max(m)
			if top != 1 || slices.Min(m) < 0 {
				t.Fatalf("map %d/%d ranges %v..%v, want 0..1 with max 1", i, w, slices.Min(m), top)
			}
			if !slices.Equal(m, m2.Maps[i][w]) {
				t.Fatalf("map %d/%d differs between runs with the same seed", i, w)
			}
		}
	}
}
