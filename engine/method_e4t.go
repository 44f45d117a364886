package engine

import (
	"context"
	"errors"

	"conceptstudio/engine/dataset"
)

// E4T-style instant concepts (Gal et al. 2023): the base model's encoder
// (encoder.go) predicts the pseudo-word's embedding from the user's
// picture(s), averaged over them, and a few tuning steps refine it as
// textual inversion would. The concept file holds "emb" alone, like a
// textual inversion's, and composes like one.
type e4tMethod struct{}

func init() { registerMethod(e4tMethod{}) }

func (e4tMethod) info() MethodInfo {
	return MethodInfo{Name: E4T, Rank: 5, Title: "Instant (encoder)", About: "seconds, <4 KB, one image is enough", Steps: e4tMethod{}.defaults().Steps, NeedsEncoder: true, ForOneImage: true}
}

// defaults: E4T tunes for 5-15 steps; the embedding's rate is twice
// textual inversion's, since it starts near its answer and has few steps.
func (e4tMethod) defaults() MethodDefaults {
	d := baseDefaults()
	d.Steps = 15
	d.EmbedLR = 2 * d.EmbedLR
	return d
}

// ErrNoEncoder: the e4t method was asked for without an encoder.
var ErrNoEncoder = errors.New("the instant method needs an encoder trained for this base model (conceptstudio encoder -dir DIR trains one; then train -method e4t -encoder DIR/encoder.safetensors)")

func (e4tMethod) prepare(_ context.Context, t *training) error { return startFromEncoder(t) }

// startFromEncoder moves the pseudo-word's row (TrainConcept starts it at
// the class word's) by the encoder's mean predicted offset over the
// user's pictures: the e4t method's start, and any method's with
// TrainOptions.InitFromEncoder.
func startFromEncoder(t *training) error {
	enc := t.opt.Encoder
	if enc == nil {
		enc = t.b.Encoder
	}
	if enc == nil {
		return ErrNoEncoder
	}
	if err := enc.fits(t.b); err != nil {
		return err
	}
	sampler, ok := t.opt.Data.(*dataset.ConceptSampler)
	if !ok {
		return errors.New("the encoder learns from the user's pictures (a concept set)")
	}
	pics, err := encoderPictures(sampler.Set, enc.Record.Config.ImageSize)
	if err != nil {
		return err
	}
	offs, err := enc.Predict(pics)
	if err != nil {
		return err
	}
	D := t.b.Cfg.TextDim
	table, _ := t.s.w.Lookup(tokTable)
	row := table.Data().([]float32)[t.word*D : (t.word+1)*D]
	for j := range row {
		var m float32
		for _, o := range offs {
			m += o[j]
		}
		row[j] += m / float32(len(offs))
	}
	return nil
}

// encoderPictures shows the encoder each cut-out as it saw the world's
// sprites in training (encoderView): alone, big, in the middle of a
// plain picture.
func encoderPictures(cs *dataset.ConceptSet, size int) ([][]float32, error) {
	bg := dataset.Background{Colour: encoderBackground(cs.BackgroundAllowed)}
	var out [][]float32
	for i := range cs.Images() {
		sc, err := cs.SingleScene(nil, i, "centre", "big", false, bg)
		if err != nil {
			return nil, err
		}
		pic := make([]float32, size*size*3)
		cs.Render(sc, size, pic)
		out = append(out, pic)
	}
	return out, nil
}

func (e4tMethod) gate(*Concept, int) float64                                     { return 0 }
func (e4tMethod) check(*Base, *Concept) error                                    { return nil }
func (e4tMethod) copies(*Base, *Concept) []string                                { return nil }
func (e4tMethod) finish(*training, *Concept)                                     {}
func (e4tMethod) attach(*session, *Concept, float64, float64, *attachment) error { return nil }
