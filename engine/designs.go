package engine

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
)

// A pretrainDesign is one base-model architecture pretrain can train
// (-design): pilots of each are compared at equal CPU time by the shape
// judge before a long run.
type pretrainDesign struct {
	about  string
	config func(tok *dataset.Tokenizer) model.Config
	// latent designs train the UNet on an autoencoder's latents
	// (PretrainOptions.Autoencoder); config then gets their shape.
	latent bool
}

// latentConfig is a design's UNet resized to an autoencoder's latents:
// their side and channels, no unshuffle.
func latentConfig(c model.Config, ae autoenc.Config) model.Config {
	c.Unshuffle, c.ImageSize, c.InChannels = false, ae.LatentSize(), ae.Latent
	return c
}

// baseWith is the base design changed by change.
func baseWith(change func(c *model.Config)) func(tok *dataset.Tokenizer) model.Config {
	return func(tok *dataset.Tokenizer) model.Config {
		c := BaseConfig(tok)
		change(&c)
		return c
	}
}

var pretrainDesigns = map[string]pretrainDesign{
	"base":     {about: "the embedded model's: the reference UNet on pixel-unshuffled 16×16×12", config: BaseConfig},
	"pixel32":  {about: "the same UNet on 32×32×3 pixels, without the unshuffle (about 4× the work per image)", config: baseWith(func(c *model.Config) { c.Unshuffle = false })},
	"deep":     {about: "the base design with two residual blocks per level (about 1.6× the work)", config: baseWith(func(c *model.Config) { c.ResBlocks = 2 })},
	"attn16":   {about: "the base design with self-attention at the 16×16 level too, so the finest level sees the whole object (about 1.05× the work; grows from the base design unchanged)", config: baseWith(func(c *model.Config) { c.SelfAttn = []bool{true, true, true} })},
	"pooled":   {about: "the base design with the pooled prompt added to the time embedding, so every residual block sees what is asked for (grows from the base design unchanged)", config: baseWith(func(c *model.Config) { c.TextPooled = true })},
	"frames":   {about: "the base design told where each object goes (a square frame per object, drawn per pixel; model.Config.Frames): shape is then one mapping from a place in the object to its colour, at every position and size (grows from the base design unchanged)", config: baseWith(func(c *model.Config) { c.Frames = true })},
	"parts":    {about: "the frames design with a template per frame (model.Config.FrameParts: 64 parts, each a value made from the thing's words, that every place inside the frame mixes by where it is): the thing's words reach the finest level, where its shape is drawn (grows from the base or the frames design unchanged)", config: baseWith(func(c *model.Config) { c.Frames, c.FrameParts = true, 64 })},
	"selfcond": {about: "the parts design that also sees its own previous estimate of the clean picture (self-conditioning, model.Config.SelfCond): half the training batches get a first pass's estimate, and the sampler gives each step the step before's, so a shape seen once is kept rather than redrawn from the noise (grows from the base, frames or parts design unchanged)", config: baseWith(func(c *model.Config) { c.Frames, c.FrameParts, c.SelfCond = true, 64, true })},
	"refs":     {about: "the frames design given a reference picture of each thing in its frame (model.Config.Refs; retrieval-conditioned, as RDM and Re-Imagen): training shows the thing's own sprite, a little moved and scaled; drawing shows the sprite of the class the prompt names, or a concept's picture, so the shape comes from a picture instead of from memory; the embedded model's (grows from the base or frames design unchanged)", config: EmbeddedConfig},
	"latent":   {about: "the base UNet on an autoencoder's 16×16×4 latents of 64×64 pictures (-autoencoder FILE, trained by the autoencoder command): 64-pixel output at about today's cost", config: BaseConfig, latent: true},
	"latent-tiny": {about: "the tiny network on a tiny autoencoder's latents (tests)", config: func(tok *dataset.Tokenizer) model.Config {
		c := model.Tiny()
		c.Channels = []int{8, 16}
		c.Vocab, c.MaxLen = len(tok.Vocab()), dataset.MaxCaptionTokens
		return c
	}, latent: true},
	"tiny": {about: "a tiny 16×16 network for tests and smoke runs (draws nothing)", config: func(tok *dataset.Tokenizer) model.Config {
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
