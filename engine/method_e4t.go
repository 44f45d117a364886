package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"

	"conceptstudio/engine/dataset"
)

// E4T-style instant concepts (Gal et al. 2023): the base model's encoder
// (encoder.go) predicts the pseudo-word's embedding from the user's
// picture(s), averaged over them, and a few tuning steps refine it as
// textual inversion would. The concept file holds "emb" alone, like a
// textual inversion's, and composes like one — unless the encoder has a
// value head (EncoderConfig.Values): then its value offsets start
// Perfusion's value targets o*_V = W_V·i_super + offset, the tuning
// steps refine them too, and the concept is Perfusion-shaped (i_star,
// i_super, o_v per layer, with Perfusion's gate β).
type e4tMethod struct{}

func init() { registerMethod(e4tMethod{}) }

func (e4tMethod) info() MethodInfo {
	return MethodInfo{Name: E4T, Rank: 5, Title: "Instant (encoder)", About: "seconds, <4 KB, one image is enough", Steps: e4tMethod{}.defaults().Steps, NeedsEncoder: true, ForOneImage: true,
		Gate: &Gate{Name: "an instant concept's strength", Label: "×", Help: "strength: lower is closer to the plain class word, 1 as trained", Min: 0, Max: 2, Step: 0.05,
			Sweep: []float64{0.25, 0.5, 1, 1.5, 2}}}
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

// perfusionShaped says whether an e4t concept carries value targets (an
// encoder with a value head made it).
func perfusionShaped(c *Concept) bool {
	_, ok := c.Tensors["i_star"]
	return ok
}

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
	var unet [][]float32
	if enc.Record.Config.UNet > 0 {
		if unet, err = encoderUNetFeatures(t, enc.Record.Config.FeatureT, sampler, len(pics)); err != nil {
			return err
		}
	}
	offs, err := enc.Predict(pics, unet)
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
	if enc.Record.Config.Values == 0 || (t.pc == nil && t.opt.Method != E4T) {
		return nil
	}
	// The value head: Perfusion's targets start at W_V·i_super plus the
	// mean predicted offset (e4t installs Perfusion's edits first).
	if t.pc == nil {
		if err := (perfusionMethod{}).prepare(context.Background(), t); err != nil {
			return err
		}
	}
	at := D
	for _, l := range t.pc.layers {
		ov, _ := t.s.w.Lookup(l + "." + perfPrefix + "." + t.opt.Name + ".o_v")
		v := ov.Data().([]float32)
		for c := range v {
			var m float32
			for _, o := range offs {
				m += o[at+c]
			}
			v[c] += m / float32(len(offs))
		}
		at += len(v)
	}
	if at != len(offs[0]) {
		return fmt.Errorf("the encoder's value head predicts %d values, the model's layers take %d", len(offs[0])-D, at-D)
	}
	return nil
}

// encoderUNetFeatures reads the frozen UNet's features of each of the
// user's pictures, shown as encoderPictures shows them (seeded noise: the
// same pictures give the same concept).
func encoderUNetFeatures(t *training, ft int, sampler *dataset.ConceptSampler, n int) ([][]float32, error) {
	views, err := encoderViews(sampler.Set)
	if err != nil {
		return nil, err
	}
	r, err := t.b.newUNetReader(t.s, n, ft)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for i, sc := range views[:n] {
		if err := r.set(i, sampler.Renderer(), sc.Scene, t.opt.Class); err != nil {
			return nil, err
		}
	}
	f, err := r.read(rand.New(rand.NewPCG(1, 0xFEA7)))
	if err != nil {
		return nil, err
	}
	W := len(f) / n
	out := make([][]float32, n)
	for i := range out {
		out[i] = f[i*W : (i+1)*W]
	}
	return out, nil
}

// encoderPictures shows the encoder each cut-out as it saw the world's
// sprites in training (encoderView): alone, big, in the middle of a
// plain picture.
func encoderPictures(cs *dataset.ConceptSet, size int) ([][]float32, error) {
	views, err := encoderViews(cs)
	if err != nil {
		return nil, err
	}
	var out [][]float32
	for _, sc := range views {
		pic := make([]float32, size*size*3)
		cs.Render(sc, size, pic)
		out = append(out, pic)
	}
	return out, nil
}

// encoderViews are the user's cut-outs as the encoder sees them
// (encoderView): each alone, big, in the middle of a plain picture.
func encoderViews(cs *dataset.ConceptSet) ([]dataset.ConceptScene, error) {
	bg := dataset.Background{Colour: encoderBackground(cs.BackgroundAllowed)}
	var out []dataset.ConceptScene
	for i := range cs.Images() {
		sc, err := cs.SingleScene(nil, i, "centre", "big", false, bg)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// An e4t concept's gate is its strength: how far from its class word it
// is drawn (the word's embedding, and the value targets of one with a
// value head, at class + strength·(trained − class)); 1 as trained.
func (e4tMethod) gate(c *Concept, _ int) float64 {
	if c.Settings.Multiplier > 0 {
		return c.Settings.Multiplier
	}
	return 1
}

// An e4t concept with value targets is a Perfusion concept in all but its
// start: its check and attachment are Perfusion's (at Perfusion's β).

func (e4tMethod) check(b *Base, c *Concept) error {
	if perfusionShaped(c) {
		return perfusionMethod{}.check(b, c)
	}
	return nil
}

func (e4tMethod) copies(*Base, *Concept) []string { return nil }

func (e4tMethod) finish(t *training, c *Concept) {
	if t.pc != nil {
		perfusionMethod{}.finish(t, c)
	}
}

func (e4tMethod) attach(s *session, c *Concept, strength, tau float64, a *attachment) error {
	if strength <= 0 {
		strength = 1
	}
	if strength != 1 {
		// The word's row (set from "emb" by the caller) moves towards or
		// away from its class word's.
		id, cid, err := s.wordAndClass(c)
		if err != nil {
			return err
		}
		D := s.b.Cfg.TextDim
		table, _ := s.w.Lookup(tokTable)
		row := table.Data().([]float32)[id*D : (id+1)*D]
		cls := s.b.classEmbedding(cid)
		for j := range row {
			row[j] = cls[j] + float32(strength)*(row[j]-cls[j])
		}
	}
	if !perfusionShaped(c) {
		return nil
	}
	if strength != 1 {
		// The value targets likewise, from the class word's W_V·i_super.
		scaled := *c
		scaled.Tensors = maps.Clone(c.Tensors)
		iSuper := toF64(c.Tensors["i_super"].Data)
		for _, l := range s.b.crossLayers() {
			t := c.Tensors["o_v/"+l]
			wv, _ := s.w.Lookup(l + ".v.w")
			base := make([]float32, len(t.Data))
			project(iSuper, wv.Data().([]float32), len(base), base)
			v := make([]float32, len(t.Data))
			for j := range v {
				v[j] = base[j] + float32(strength)*(t.Data[j]-base[j])
			}
			scaled.Tensors["o_v/"+l] = Tensor{Shape: t.Shape, Data: v}
		}
		c = &scaled
	}
	return perfusionMethod{}.attach(s, c, perfusionMethod{}.gate(c, 1), tau, a)
}
