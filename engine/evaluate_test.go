package engine

import (
	"context"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"

	"conceptstudio/engine/dataset"
)

func TestEvalBasePromptsAreHeldOut(t *testing.T) {
	a, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	texts, prompts := EvalBasePrompts(a, 200)
	if len(texts) != 200 || len(prompts) != 200 {
		t.Fatalf("%d prompts", len(texts))
	}
	two := 0
	for i, p := range prompts {
		held := false
		for _, o := range p.Objects {
			held = held || HeldOut(o, p.Background)
		}
		if !held {
			t.Fatalf("prompt %q shows no held-out pair", texts[i])
		}
		if len(p.Objects) == 2 {
			two++
		}
	}
	if two < 20 {
		t.Errorf("only %d two-object prompts", two)
	}
	again, _ := EvalBasePrompts(a, 200)
	for i := range again {
		if again[i] != texts[i] {
			t.Fatal("the prompt set is not fixed")
		}
	}
}

// TestEvalRunsOnATinyModel checks the reports are well formed and
// repeatable (the tiny model draws noise, so the numbers mean nothing).
func TestEvalRunsOnATinyModel(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 30 images")
	}
	b := tinyBase(t)
	r1, err := b.EvalBase(context.Background(), 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := b.EvalBase(context.Background(), 6, nil)
	if r1 != r2 || r1.Prompts != 6 || r1.BackgroundRight < 0 || r1.BackgroundRight > 1 {
		t.Fatalf("reports %+v and %+v", r1, r2)
	}
	var refs []image.Image
	for i := 1; i <= 3; i++ {
		img, err := loadTestPNG(filepath.Join("..", "examples", "teddy", string(rune('0'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, img)
	}
	c := &Concept{Name: "teddy", Class: "teddy bear", Method: TI, BaseID: b.ID(), Tensors: map[string]Tensor{"emb": {Shape: []int{1, b.Cfg.TextDim}, Data: make([]float32, b.Cfg.TextDim)}}}
	rep, err := b.EvalConcept(context.Background(), c, refs, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Prompts != len(dataset.ConceptPrompts("teddy", "teddy bear")) || rep.RealIdentity < 0.5 || rep.Identity > rep.RealIdentity {
		t.Fatalf("concept report %+v: the references must resemble each other more than noise resembles them", rep)
	}
}

func loadTestPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	return img, err
}
