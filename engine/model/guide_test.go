package model

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/nn"
)

// TestPlaceGuideSteersAttention: a PlaceGuide net with no guide set
// computes what the plain net computes; guiding one token of row 0 to the
// left half of the grid moves that token's attention from the right half
// to the left, and leaves row 1 (not guided) exactly as it was. With and
// without the learned place maps (TextPlaces), which the guide adds to.
func TestPlaceGuideSteersAttention(t *testing.T) {
	places := Tiny()
	places.TextLayout, places.TextPlaces = true, true
	for name, c := range map[string]Config{"plain": Tiny(), "text places": places} {
		t.Run(name, func(t *testing.T) {
			w := nn.NewWeights(tensor.Float32, 1)
			plain, err := Build(w, c, NetOptions{Batch: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			guided, err := Build(w, c, NetOptions{Batch: 2, PlaceGuide: true})
			if err != nil {
				t.Fatal(err)
			}
			defer guided.Close()
			randomize32(w, 11)
			run := func(n *Net) ([]float32, [][]float32) {
				tinyInputsNoTarget(t, n)
				if err := n.Run(); err != nil {
					t.Fatal(err)
				}
				maps := make([][]float32, c.MaxLen)
				for j := range maps {
					maps[j] = make([]float32, c.ImageSize*c.ImageSize)
				}
				n.AddCrossAttention(0, c.ImageSize, maps)
				return append([]float32(nil), n.Output()...), maps
			}
			want, before := run(plain)
			got, _ := run(guided)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-6 {
					t.Fatalf("an unset guide changed output %d: %v, want %v", i, got[i], want[i])
				}
			}
			G := c.GuideGrid()
			guide := make([]float32, 2*c.MaxLen*G*G)
			const token = 1
			for y := 0; y < G; y++ {
				for x := 0; x < G; x++ {
					v := float32(4)
					if x >= G/2 {
						v = -4
					}
					guide[token*G*G+y*G+x] = v // row 0 only
				}
			}
			if err := guided.SetPlaceGuide(guide); err != nil {
				t.Fatal(err)
			}
			got, after := run(guided)
			per := len(got) / 2
			for i := per; i < len(got); i++ {
				if got[i] != want[i] {
					t.Fatalf("guiding row 0 changed row 1's output %d", i-per)
				}
			}
			side := func(m []float32) (left, right float64) {
				S := c.ImageSize
				for y := 0; y < S; y++ {
					for x := 0; x < S; x++ {
						if x < S/2 {
							left += float64(m[y*S+x])
						} else {
							right += float64(m[y*S+x])
						}
					}
				}
				return left, right
			}
			l0, r0 := side(before[token])
			l1, r1 := side(after[token])
			t.Logf("token %d attention left/right: %.3f/%.3f unguided, %.3f/%.3f guided", token, l0, r0, l1, r1)
			if !(l1 > 1.5*l0 && r1 < r0/2) {
				t.Errorf("guide to the left: attention left %.3f → %.3f, right %.3f → %.3f", l0, l1, r0, r1)
			}
		})
	}
}

// TestSetPlaceGuideChecks: a net without the guide input, and a guide of
// the wrong size, are errors; nil clears the guide.
func TestSetPlaceGuideChecks(t *testing.T) {
	c := Tiny()
	w := nn.NewWeights(tensor.Float32, 1)
	plain, err := Build(w, c, NetOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.SetPlaceGuide(nil); err == nil {
		t.Error("a net without a place guide accepted one")
	}
	guided, err := Build(w, c, NetOptions{Batch: 1, PlaceGuide: true})
	if err != nil {
		t.Fatal(err)
	}
	defer guided.Close()
	G := c.GuideGrid()
	if err := guided.SetPlaceGuide(make([]float32, c.MaxLen*G*G-1)); err == nil {
		t.Error("a guide one value short was accepted")
	}
	full := make([]float32, c.MaxLen*G*G)
	for i := range full {
		full[i] = 1
	}
	if err := guided.SetPlaceGuide(full); err != nil {
		t.Fatal(err)
	}
	if err := guided.SetPlaceGuide(nil); err != nil {
		t.Fatal(err)
	}
	for i, v := range guided.g.B.InputValue(inGuide).Data().([]float32) {
		if v != 0 {
			t.Fatalf("guide value %d is %v after clearing", i, v)
		}
	}
}
