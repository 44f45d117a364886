package engine

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
)

// A pretrainDesign is one base-model architecture pretrain can train
// (-design): pilots of each are compared at equal CPU time by the shape
// judge before a long run.
type pretrainDesign struct {
	about  string
	config func(tok *dataset.Tokenizer) model.Config
}

var pretrainDesigns = map[string]pretrainDesign{
	"base": {"the embedded model's: the reference UNet on pixel-unshuffled 16×16×12", BaseConfig},
	"pixel32": {"the same UNet on 32×32×3 pixels, without the unshuffle (about 4× the work per image)", func(tok *dataset.Tokenizer) model.Config {
		c := BaseConfig(tok)
		c.Unshuffle = false
		return c
	}},
	"deep": {"the base design with two residual blocks per level (about 1.6× the work)", func(tok *dataset.Tokenizer) model.Config {
		c := BaseConfig(tok)
		c.ResBlocks = 2
		return c
	}},
	"tiny": {"a tiny 16×16 network for tests and smoke runs (draws nothing)", func(tok *dataset.Tokenizer) model.Config {
		c := model.Tiny()
		c.ImageSize, c.Unshuffle, c.Channels = 16, true, []int{8, 16}
		c.Vocab, c.MaxLen = len(tok.Vocab()), dataset.MaxCaptionTokens
		return c
	}},
}

// PretrainDesigns lists the designs' names and what each is, sorted.
func PretrainDesigns() [][2]string {
	var out [][2]string
	for name, d := range pretrainDesigns {
		out = append(out, [2]string{name, d.about})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// DesignConfig is a design's architecture for the dataset's tokenizer.
func DesignConfig(name string) (model.Config, error) {
	d, ok := pretrainDesigns[name]
	if !ok {
		var names []string
		for n := range pretrainDesigns {
			names = append(names, n)
		}
		slices.Sort(names)
		return model.Config{}, fmt.Errorf("unknown design %q (known: %v)", name, names)
	}
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return model.Config{}, err
	}
	return d.config(dataset.NewTokenizer(atlas, dataset.DefaultReserved)), nil
}

// ProcessCPU is the CPU time this process has used, all threads (a
// training's CPU budget counts it).
func ProcessCPU() time.Duration { return processCPU() }
