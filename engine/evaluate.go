package engine

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

// BaseReport is the base model's quality on prompts whose (object,
// background) combinations never appear in training (HeldOut).
type BaseReport struct {
	Prompts          int     `json:"prompts"`
	BackgroundRight  float64 `json:"background_right"`
	PositionRight    float64 `json:"position_right"`
	SizeRight        float64 `json:"size_right"`
	IdentityTop1     float64 `json:"identity_top1"`
	BothObjects      float64 `json:"both_objects_present"`
	AttributesRight  float64 `json:"attributes_right"`
	SingleObjectRuns int     `json:"single_object_prompts"`
	TwoObjectRuns    int     `json:"two_object_prompts"`
}

// ratio is a running share.
type ratio struct{ ok, n int }

func (r *ratio) add(ok bool) {
	r.n++
	if ok {
		r.ok++
	}
}

func (r ratio) value() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.ok) / float64(r.n)
}

// EvalBasePrompts is the fixed evaluation set: n captions of scenes that
// show a held-out pair, drawn from a fixed seed, with their stated truth.
func EvalBasePrompts(a *dataset.Atlas, n int) ([]string, []eval.Prompt) {
	rng := rand.New(rand.NewPCG(2026, 11))
	var texts []string
	var prompts []eval.Prompt
	for len(texts) < n {
		sc := a.RandomScene(rng, dataset.DefaultSceneOptions())
		if !sceneHeldOut(a, sc) {
			continue
		}
		text, st := dataset.Describe(a, sc, rng)
		if !st.Background {
			continue // the held-out pair is only unseen if its colour is stated
		}
		texts = append(texts, text)
		prompts = append(prompts, eval.PromptFor(a, sc, st))
	}
	return texts, prompts
}

// EvalBase generates one image per evaluation prompt (seed = its index) and
// scores it with the attribute checks and the oracle.
func (b *Base) EvalBase(ctx context.Context, n int, progress func(done, total int)) (BaseReport, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return BaseReport{}, err
	}
	oracle, err := eval.LoadOracle()
	if err != nil {
		return BaseReport{}, err
	}
	defer oracle.Close()
	texts, prompts := EvalBasePrompts(atlas, n)
	var bg, pos, size, id, both, attrs ratio
	rep := BaseReport{Prompts: len(texts)}
	for i, text := range texts {
		if progress != nil {
			progress(i, len(texts))
		}
		imgs, err := b.Generate(ctx, GenerateOptions{Prompt: text, N: 1, Seed: uint64(i), Steps: 25, Guidance: 4}, nil)
		if err != nil {
			return rep, fmt.Errorf("prompt %q: %w", text, err)
		}
		p := prompts[i]
		sc := eval.ScoreImage(imgs[0], p, oracle)
		for _, c := range sc.Checks {
			attrs.add(c.OK)
			switch c.Attribute {
			case "background":
				bg.add(c.OK)
			case "position":
				pos.add(c.OK)
			case "size":
				size.add(c.OK)
			case "object 2":
				both.add(c.OK)
			}
		}
		if len(p.Objects) == 1 {
			rep.SingleObjectRuns++
			labels, _, err := oracle.Classify([]image.Image{imgs[0]})
			if err != nil {
				return rep, err
			}
			id.add(labels[0] == p.Objects[0])
		} else {
			rep.TwoObjectRuns++
		}
	}
	rep.BackgroundRight, rep.PositionRight, rep.SizeRight = bg.value(), pos.value(), size.value()
	rep.IdentityTop1, rep.BothObjects, rep.AttributesRight = id.value(), both.value(), attrs.value()
	return rep, nil
}

// ConceptReport is a concept's quality: identity (oracle-feature cosine
// similarity to the reference images) and prompt fidelity on the fixed
// concept prompt set.
type ConceptReport struct {
	Concept        string  `json:"concept"`
	Method         Method  `json:"method"`
	Identity       float64 `json:"identity"`
	RealIdentity   float64 `json:"real_images_identity"`
	PromptFidelity float64 `json:"prompt_fidelity"`
	Prompts        int     `json:"prompts"`
	Bytes          int     `json:"bytes"`
	TrainSeconds   float64 `json:"train_seconds"`
	Beta           float64 `json:"beta,omitempty"`
}

// EvalConcept generates the concept's evaluation prompts (seeds 0..n) and
// measures identity against renders of the reference images and the
// share of stated attributes satisfied. beta overrides a Perfusion gate
// (0: the concept's own).
func (b *Base) EvalConcept(ctx context.Context, c *Concept, refs []image.Image, beta float64, progress func(done, total int)) (ConceptReport, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return ConceptReport{}, err
	}
	oracle, err := eval.LoadOracle()
	if err != nil {
		return ConceptReport{}, err
	}
	defer oracle.Close()
	cs, err := dataset.NewConceptSet(atlas, c.Name, c.Class, refs)
	if err != nil {
		return ConceptReport{}, err
	}
	// The reference images as the model would draw them: big, centred, on
	// white.
	rng := rand.New(rand.NewPCG(7, 7))
	var refImgs []image.Image
	for i := range cs.Cutouts {
		sc, err := cs.SingleScene(rng, i, "centre", "big", false, dataset.Background{Colour: "white"})
		if err != nil {
			return ConceptReport{}, err
		}
		refImgs = append(refImgs, cs.RenderImage(sc, b.Cfg.ImageSize))
	}
	refFeat, err := oracle.Features(refImgs)
	if err != nil {
		return ConceptReport{}, err
	}
	rep := ConceptReport{Concept: c.Name, Method: c.Method, Bytes: c.Size(), TrainSeconds: c.Settings.TrainSeconds, Beta: beta}
	// Real-images row: each reference against the others.
	if len(refFeat) > 1 {
		var sum float64
		for i := range refFeat {
			others := append(append([][]float32{}, refFeat[:i]...), refFeat[i+1:]...)
			sum += eval.Identity([][]float32{refFeat[i]}, others)
		}
		rep.RealIdentity = sum / float64(len(refFeat))
	}
	prompts := dataset.ConceptPrompts(c.Name, c.Class)
	use := ConceptUse{Concept: c, Beta: beta}
	var attrs ratio
	var gens []image.Image
	for i, p := range prompts {
		if progress != nil {
			progress(i, len(prompts))
		}
		imgs, err := b.GenerateWith(ctx, GenerateOptions{Prompt: p.Text, N: 1, Seed: uint64(i), Steps: 25, Guidance: 4}, []ConceptUse{use}, nil)
		if err != nil {
			return rep, fmt.Errorf("prompt %q: %w", p.Text, err)
		}
		ep := eval.Prompt{Objects: []string{c.Class}, Background: p.Colour, Pattern: p.Pattern, Position: p.Position, Sizes: [2]string{p.Size}, Relation: p.Relation}
		if p.Other != "" {
			ep.Objects = append(ep.Objects, p.Other)
		}
		sc := eval.ScoreImage(imgs[0], ep, oracle)
		for _, ch := range sc.Checks {
			attrs.add(ch.OK)
		}
		if p.Other == "" {
			gens = append(gens, imgs[0])
		}
	}
	genFeat, err := oracle.Features(gens)
	if err != nil {
		return rep, err
	}
	rep.Identity = eval.Identity(genFeat, refFeat)
	rep.PromptFidelity = attrs.value()
	rep.Prompts = len(prompts)
	return rep, nil
}
