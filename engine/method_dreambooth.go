package engine

import (
	"context"
	"fmt"
	"strings"
)

// DreamBooth (Ruiz et al. 2023): every UNet weight is fine-tuned, with a
// prior-preservation loss on class images the frozen model draws first.
// The concept file holds "delta/WEIGHT" (trained − base) for each weight
// that moved.
type dreamboothMethod struct{}

func init() { registerMethod(dreamboothMethod{}) }

func (dreamboothMethod) info() MethodInfo {
	return MethodInfo{Name: DreamBooth, Rank: 40, Title: "DreamBooth", About: "~5 min, MBs, closest likeness, slowest", Steps: dreamboothMethod{}.defaults().Steps}
}

func (dreamboothMethod) defaults() MethodDefaults {
	d := baseDefaults()
	d.LR, d.PriorN, d.Steps = 5e-5, 32, 300
	return d
}

func (dreamboothMethod) gate(*Concept, int) float64 { return 0 }

func (dreamboothMethod) check(b *Base, c *Concept) error {
	for name, t := range c.Tensors {
		if rest, ok := strings.CutPrefix(name, "delta/"); ok {
			w, found := b.W.Lookup(rest)
			if !found || w.Shape().TotalSize() != len(t.Data) {
				return fmt.Errorf("%w: %s*: delta for unknown or differently shaped weight %s", ErrCorruptConcept, c.Name, rest)
			}
		}
	}
	return nil
}

func (dreamboothMethod) copies(b *Base, c *Concept) []string {
	if c == nil {
		return unetCopies(b.W)
	}
	var out []string
	for name := range c.Tensors {
		if rest, ok := strings.CutPrefix(name, "delta/"); ok {
			out = append(out, rest)
		}
	}
	return out
}

func (dreamboothMethod) prepare(ctx context.Context, t *training) error {
	for _, n := range t.copies {
		t.learn[n] = true
	}
	var err error
	t.prior, err = t.b.makePrior(ctx, t.opt.Class, t.d.PriorN, t.opt.Seed)
	return err
}

func (dreamboothMethod) finish(t *training, c *Concept) {
	for _, n := range t.copies {
		tr, _ := t.s.w.Lookup(n)
		base, _ := t.b.W.Lookup(n)
		td, bd := tr.Data().([]float32), base.Data().([]float32)
		delta := make([]float32, len(td))
		changed := false
		for i := range td {
			delta[i] = td[i] - bd[i]
			changed = changed || delta[i] != 0
		}
		if changed {
			c.Tensors["delta/"+n] = Tensor{Shape: []int(tr.Shape()), Data: delta}
		}
	}
}

func (dreamboothMethod) attach(s *session, c *Concept, _, _ float64, _ *attachment) error {
	for name, t := range c.Tensors {
		if rest, ok := strings.CutPrefix(name, "delta/"); ok {
			w, _ := s.w.Lookup(rest)
			wd := w.Data().([]float32)
			for i, d := range t.Data {
				wd[i] += d
			}
		}
	}
	return nil
}
