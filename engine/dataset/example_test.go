package dataset_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"conceptstudio/engine/dataset"
)

// A training example: a random scene, its caption, its pixels and ids.
func Example() {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		panic(err)
	}
	r := dataset.NewRenderer(atlas)
	tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
	rng := rand.New(rand.NewPCG(1, 2))

	scene := atlas.RandomScene(rng, dataset.DefaultSceneOptions())
	caption := dataset.Caption(atlas, scene, rng)
	pixels := make([]float32, 32*32*3)
	r.Render(scene, 32, pixels)
	ids, _, err := tok.Encode(caption, dataset.MaxCaptionTokens)
	fmt.Println(len(pixels), len(ids), err, tok.Decode(ids) != "")
	// Output: 3072 24 <nil> true
}

// Hand-built scenes know their truth exactly (a nil rng: no jitter).
func ExampleAtlas_PlacePair() {
	atlas, _ := dataset.LoadAtlas()
	cat, _ := atlas.Sprite("cat", dataset.StyleTwemoji)
	teapot, _ := atlas.Sprite("teapot", dataset.StyleNoto)
	objs, _ := atlas.PlacePair(nil, cat, teapot, dataset.RelLeftOf, [2]string{"big", "small"}, [2]bool{})
	fmt.Println(objs[0].Position, objs[1].Position, objs[0].CX < objs[1].CX)
	// Output: left right true
}

func ExampleTokenizer_BindPseudoWord() {
	atlas, _ := dataset.LoadAtlas()
	tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
	_, unknown, err := tok.Encode("a teddy* on a blue background", 0)
	fmt.Println(unknown, err)
	tok.BindPseudoWord("teddy")
	ids, _, _ := tok.Encode("a teddy* on a blue background", 0)
	fmt.Println(tok.Decode(ids))
	// Output:
	// [teddy*] unknown words: teddy*
	// a teddy* on a blue background
}

func BenchmarkRender32(b *testing.B) { benchmarkRender(b, 32) }
func BenchmarkRender48(b *testing.B) { benchmarkRender(b, 48) }

func benchmarkRender(b *testing.B, size int) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		b.Fatal(err)
	}
	r := dataset.NewRenderer(atlas)
	rng := rand.New(rand.NewPCG(1, 1))
	scenes := make([]dataset.Scene, 256)
	for i := range scenes {
		scenes[i] = atlas.RandomScene(rng, dataset.DefaultSceneOptions())
	}
	dst := make([]float32, size*size*3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Render(scenes[i%len(scenes)], size, dst)
	}
}

func FuzzEncode(f *testing.F) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		f.Fatal(err)
	}
	tok := dataset.NewTokenizer(atlas, 4)
	tok.BindPseudoWord("teddy")
	f.Add("a teddy* on the left of a big dog, on a striped teal background", 24)
	f.Add("", 0)
	f.Add("***,, é A", 3)
	f.Fuzz(func(t *testing.T, text string, maxLen int) {
		if maxLen > 1<<12 {
			maxLen = 1 << 12
		}
		ids, unknown, err := tok.Encode(text, maxLen)
		if err != nil {
			if ids != nil {
				t.Fatal("ids with an error")
			}
			return
		}
		if len(unknown) > 0 {
			t.Fatal("unknown words without an error")
		}
		if maxLen > 0 && len(ids) != maxLen {
			t.Fatalf("%d ids for maxLen %d", len(ids), maxLen)
		}
		for _, id := range ids {
			if id < 0 || id >= tok.Size() {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}
