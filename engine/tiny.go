package engine

import (
	"math/rand/v2"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/model"
)

// NewTinyBase makes a tiny untrained base model over the real tokenizer
// (16×16 images, pixel-unshuffled, 8 and 16 channels) for tests: its
// weights are random, perturbed so that every layer gets a gradient (an
// untrained UNet ends in zero-initialised layers). It draws noise, but
// every step of training, generation and evaluation runs for real, fast.
func NewTinyBase() (*Base, error) {
	b, err := newTinyBase(16)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, name := range b.W.Names() {
		w, _ := b.W.Lookup(name)
		data := w.Data().([]float32)
		for i := range data {
			data[i] += float32(r.NormFloat64() * 0.2)
		}
	}
	return b, nil
}

// newTinyBase is the tiny network at size pixels, as NewBase makes it
// (its last layers at zero, so it predicts nothing yet).
func newTinyBase(size int) (*Base, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return nil, err
	}
	tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
	c := model.Tiny()
	c.ImageSize, c.Unshuffle, c.Channels = size, true, []int{8, 16}
	c.Vocab, c.MaxLen = len(tok.Vocab()), dataset.MaxCaptionTokens
	return NewBase(c, tok, diffusion.VPrediction, 3)
}
