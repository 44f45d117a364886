package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/region"
)

// TestLayoutHalves: the relation's two things get their halves (the
// subject first for "left of", "above" and "next to", second for "right
// of" and "below"), names of several words and pseudo-words included;
// grammar words and background phrases are never guided; prompts without
// a relation between two named things are not guided.
func TestLayoutHalves(t *testing.T) {
	cases := []struct {
		prompt   string
		want     []int // per word; nil: no guidance
		vertical bool
	}{
		{"a cat on the left of a car, on a blue background",
			[]int{-1, 0, -1, -1, -1, -1, -1, 1, -1, -1, -1, -1}, false},
		{"a big teddy* on the right of a small teapot*",
			[]int{-1, -1, 1, -1, -1, -1, -1, -1, -1, 0}, false},
		{"on a striped green background, a teddy bear above a dog",
			[]int{-1, -1, -1, -1, -1, -1, 0, 0, -1, -1, 1}, true},
		{"a rocket below an owl", []int{-1, 1, -1, -1, 0}, true},
		{"a cup next to a cactus", []int{-1, 0, -1, -1, -1, 1}, false},
		{"a cat on the left", nil, false},
		{"a cat on a blue background", nil, false},
		{"on the left of a car", nil, false},
		{"a teddy* sailing in a teapot*", nil, false},
	}
	for _, c := range cases {
		half, vertical, ok := layoutHalves(dataset.Words(c.prompt))
		if ok != (c.want != nil) || !slices.Equal(half, c.want) || (ok && vertical != c.vertical) {
			t.Errorf("%q: halves %v vertical %v ok %v, want %v vertical %v", c.prompt, half, vertical, ok, c.want, c.vertical)
		}
	}
}

// TestPlaceGuideMaps: each guided word's token (word index + 1) gets
// −strength on the other thing's half of the grid and nothing on its own;
// other tokens and prompts without a relation get nothing.
func TestPlaceGuideMaps(t *testing.T) {
	const L, G = 8, 4
	m := placeGuide(dataset.Words("a cat above a car"), L, G, 3)
	if len(m) != L*G*G {
		t.Fatalf("%d values, want %d", len(m), L*G*G)
	}
	for tok := 0; tok < L; tok++ {
		for y := 0; y < G; y++ {
			for x := 0; x < G; x++ {
				var want float32
				switch tok {
				case 2: // cat: the top
					if y >= G/2 {
						want = -3
					}
				case 5: // car: the bottom
					if y < G/2 {
						want = -3
					}
				}
				if got := m[tok*G*G+y*G+x]; got != want {
					t.Fatalf("token %d place (%d,%d): %v, want %v", tok, x, y, got, want)
				}
			}
		}
	}
	if placeGuide(dataset.Words("a cat above a car"), L, G, 0) != nil {
		t.Error("strength 0 guided")
	}
	if placeGuide(dataset.Words("a cat at the top"), L, G, 3) != nil {
		t.Error("a single object was guided")
	}
}

// TestGenerateWithLayout: layout guidance changes the images of a prompt
// relating two things (the same for the same seed), and leaves a prompt
// without a relation bit for bit as it was.
func TestGenerateWithLayout(t *testing.T) {
	b := tinyBase(t)
	run := func(prompt string, layout float64) []uint8 {
		imgs, err := b.Generate(context.Background(), GenerateOptions{Prompt: prompt, N: 2, Steps: 3, Guidance: 3, Seed: 7, Layout: layout}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Concat(imgs[0].Pix, imgs[1].Pix)
	}
	pair := "a cat on the left of a car"
	plain, guided := run(pair, 0), run(pair, 5)
	if slices.Equal(plain, guided) {
		t.Error("layout guidance changed nothing for a pair")
	}
	if !slices.Equal(guided, run(pair, 5)) {
		t.Error("the same seed gave other images with layout guidance")
	}
	single := "a cat on the left"
	if !slices.Equal(run(single, 0), run(single, 5)) {
		t.Error("layout guidance changed a prompt without a relation")
	}
}

// TestUnknownWordsAreLeftOut: generation leaves out the plain words the
// model does not know and draws the rest exactly as if they had never
// been typed (guide maps included); a prompt with nothing named left, or
// a pseudo-word no concept answers to, is still an error.
func TestUnknownWordsAreLeftOut(t *testing.T) {
	b := tinyBase(t)
	known, unknown, err := b.KnownPrompt("A Cat, sailing in the fog!")
	if err != nil || known != "a cat in the" || !slices.Equal(unknown, []string{"sailing", "fog"}) {
		t.Errorf("KnownPrompt: %q %q %v", known, unknown, err)
	}
	run := func(prompt string) []uint8 {
		imgs, err := b.Generate(context.Background(), GenerateOptions{Prompt: prompt, N: 1, Steps: 3, Guidance: 3, Seed: 5, Layout: 5}, nil)
		if err != nil {
			t.Fatalf("%q: %v", prompt, err)
		}
		return imgs[0].Pix
	}
	if !slices.Equal(run("a cat sailing on the left of a shiny car"), run("a cat on the left of a car")) {
		t.Error("the unknown words changed the picture")
	}
	if slices.Equal(run("a cat on the left of a car"), run("a car on the left of a cat")) {
		t.Error("the pair's order made no difference: the comparison above proves nothing")
	}
	for _, bad := range []string{"a zorblax", "a zorblax on a blue background", "a zorblax* on a blue background"} {
		_, err := b.Generate(context.Background(), GenerateOptions{Prompt: bad, N: 1, Steps: 2, Guidance: 3}, nil)
		if !errors.Is(err, ErrPrompt) || !strings.Contains(err.Error(), `"zorblax`) {
			t.Errorf("%q: %v, want a prompt error naming zorblax", bad, err)
		}
	}
}

// TestRegionGuideMaps: a region's thing (its whole run of named words) is
// steered to its box with a soft edge; other words, grammar words and the
// background are not; a region naming nothing in the prompt is refused.
func TestRegionGuideMaps(t *testing.T) {
	const L, G = 16, 4
	words := dataset.Words("a big teddy* next to a teddy bear, on a blue background")
	rs := []region.Region{{Name: "teddy", X: 0, Y: 0, W: 0.5, H: 0.5}, {Name: "bear", X: 0.375, Y: 0.5, W: 0.625, H: 0.5}}
	m, err := regionGuide(words, rs, L, G, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := func(tok, x, y int) float32 { return m[tok*G*G+y*G+x] }
	// teddy* is word 2 (token 3): free in the top-left quarter, −4 elsewhere.
	if at(3, 0, 0) != 0 || at(3, 1, 1) != 0 || at(3, 2, 0) != -4 || at(3, 0, 3) != -4 {
		t.Errorf("teddy*'s map is wrong: %v", m[3*G*G:4*G*G])
	}
	// "teddy bear" (words 6 and 7) share the second box; place x=1 is half inside.
	for _, tok := range []int{7, 8} {
		if at(tok, 3, 3) != 0 || at(tok, 1, 2) != -2 || at(tok, 0, 2) != -4 || at(tok, 3, 0) != -4 {
			t.Errorf("token %d's map is wrong: %v", tok, m[tok*G*G:(tok+1)*G*G])
		}
	}
	for _, tok := range []int{0, 1, 2, 4, 5, 6, 9, 10, 11, 12} {
		for _, v := range m[tok*G*G : (tok+1)*G*G] {
			if v != 0 {
				t.Fatalf("token %d (%q) is steered", tok, words[max(tok-1, 0)])
			}
		}
	}
	if _, err := regionGuide(words, []region.Region{{Name: "cat", W: 1, H: 1}}, L, G, 4, 0); !errors.Is(err, region.ErrBadRegion) || !strings.Contains(err.Error(), "names nothing in the prompt") {
		t.Errorf("a box for a word not in the prompt: %v", err)
	}
	if _, err := regionGuide(words, []region.Region{{Name: "blue", W: 1, H: 1}}, L, G, 4, 0); err == nil {
		t.Error("a box for a background word was accepted")
	}
	if m, err := regionGuide(words, nil, L, G, 4, 0); m != nil || err != nil {
		t.Errorf("no regions: %v %v", m, err)
	}
}

// The region package's copy of the caption grammar's position phrases is
// the grammar's own, and every box position it names is a dataset position.
func TestRegionPhrasesAreTheGrammars(t *testing.T) {
	for _, pos := range dataset.Positions {
		if got, want := region.PositionPhrase(pos), dataset.PositionPhrase(pos); got != want {
			t.Errorf("%s: region says %q, the grammar %q", pos, got, want)
		}
	}
	for _, x := range []float64{0.1, 0.5, 0.9} {
		for _, y := range []float64{0.1, 0.5, 0.9} {
			pos := region.PositionOf(region.Region{X: x - 0.05, Y: y - 0.05, W: 0.1, H: 0.1})
			if !slices.Contains(dataset.Positions, pos) {
				t.Errorf("box at %.1f,%.1f: position %q is not the grammar's", x, y, pos)
			}
		}
	}
}
