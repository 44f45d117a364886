package engine

import (
	"context"
	"image"
	"os"
	"strconv"
	"strings"
	"testing"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

func TestZZIdentity(t *testing.T) {
	b, err := LoadBaseFile(os.Getenv("ZZ_MODEL"))
	if err != nil {
		t.Fatal(err)
	}
	atlas, _ := dataset.LoadAtlas()
	oracle, err := eval.LoadOracle()
	if err != nil {
		t.Fatal(err)
	}
	texts, prompts := EvalBasePrompts(atlas, 200)
	for _, f := range strings.Split(os.Getenv("ZZ_G"), ",") {
		parts := strings.Split(f, ":")
		g, _ := strconv.ParseFloat(parts[0], 64)
		steps, _ := strconv.Atoi(parts[1])
		var n, ok, attrs, attrOK int
		for i, text := range texts {
			if len(prompts[i].Objects) != 1 {
				continue
			}
			imgs, err := b.Generate(context.Background(), GenerateOptions{Prompt: text, N: 1, Seed: uint64(i), Steps: steps, Guidance: g}, nil)
			if err != nil {
				t.Fatal(err)
			}
			labels, _, _ := oracle.Classify([]image.Image{imgs[0]})
			n++
			if labels[0] == prompts[i].Objects[0] {
				ok++
			}
			sc := eval.ScoreImage(imgs[0], prompts[i], oracle)
			for _, c := range sc.Checks {
				attrs++
				if c.OK {
					attrOK++
				}
			}
		}
		t.Logf("guidance %g steps %d: identity top-1 %.3f (%d), attributes %.3f", g, steps, float64(ok)/float64(n), n, float64(attrOK)/float64(attrs))
	}
}
