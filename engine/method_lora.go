package engine

import (
	"context"
	"fmt"

	"conceptstudio/engine/nn"
)

// LoRA (with the DreamBooth loss, no prior): rank-r adapters A (down) and
// B (up) on the q, k, v and out projections of every attention, scaled by
// alpha/r. The concept file holds "lora/LAYER.down" and "lora/LAYER.up";
// its gate is the adapters' multiplier.
type loraMethod struct{}

func init() { registerMethod(loraMethod{}) }

func (loraMethod) info() MethodInfo {
	return MethodInfo{Name: LoRA, Rank: 30, Title: "LoRA", About: "~2 min, ~100 KB, close likeness", Steps: loraMethod{}.defaults().Steps,
		Gate: &Gate{Name: "a LoRA multiplier", Label: "×", Help: "LoRA multiplier: lower is closer to the base model, 1 as trained", Min: 0, Max: 2, Step: 0.05,
			Sweep: []float64{0.25, 0.5, 1, 1.5, 2}}}
}

func (loraMethod) defaults() MethodDefaults {
	d := baseDefaults()
	d.LR, d.Rank, d.Alpha = 1e-3, 4, 4
	return d
}

// gate: the concept's own multiplier, else 1, however many LoRAs the
// prompt holds.
func (loraMethod) gate(c *Concept, _ int) float64 {
	if c.Settings.Multiplier > 0 {
		return c.Settings.Multiplier
	}
	return 1
}

func (loraMethod) check(b *Base, c *Concept) error {
	if c.Settings.Rank < 1 {
		return fmt.Errorf("%w: %s*: LoRA rank %d", ErrCorruptConcept, c.Name, c.Settings.Rank)
	}
	for _, l := range b.attnLinears() {
		w, _ := b.W.Lookup(l + ".w")
		in, out := w.Shape()[0], w.Shape()[1]
		if err := wantTensor(c, loraPrefix+"/"+l+".down", in*c.Settings.Rank); err != nil {
			return err
		}
		if err := wantTensor(c, loraPrefix+"/"+l+".up", c.Settings.Rank*out); err != nil {
			return err
		}
	}
	return nil
}

func (loraMethod) copies(*Base, *Concept) []string { return nil }

func (loraMethod) prepare(_ context.Context, t *training) error {
	scale := t.opt.Alpha / float64(t.opt.Rank)
	for _, l := range t.b.attnLinears() {
		t.s.linear[l] = loraHook([]string{t.opt.Name}, []float64{scale}, t.opt.Rank)
		t.learn[l+"."+loraPrefix+"."+t.opt.Name+".down"] = true
		t.learn[l+"."+loraPrefix+"."+t.opt.Name+".up"] = true
	}
	return nil
}

func (loraMethod) finish(t *training, c *Concept) {
	c.Settings.Rank, c.Settings.Alpha, c.Settings.Multiplier = t.opt.Rank, t.opt.Alpha, 1
	for _, l := range t.b.attnLinears() {
		for _, part := range []string{"down", "up"} {
			v, _ := t.s.w.Lookup(l + "." + loraPrefix + "." + t.opt.Name + "." + part)
			c.Tensors[loraPrefix+"/"+l+"."+part] = Tensor{Shape: []int(v.Shape()), Data: append([]float32(nil), v.Data().([]float32)...)}
		}
	}
}

func (loraMethod) attach(s *session, c *Concept, gate, _ float64, a *attachment) error {
	for _, l := range s.b.attnLinears() {
		e := a.lora[l]
		if e == nil {
			e = &loraLayer{rank: c.Settings.Rank}
			a.lora[l] = e
		}
		if e.rank != c.Settings.Rank {
			return fmt.Errorf("LoRA concepts of different ranks (%d, %d) in one prompt are not supported yet", e.rank, c.Settings.Rank)
		}
		e.names = append(e.names, c.Name)
		e.scales = append(e.scales, gate*c.Settings.Alpha/float64(c.Settings.Rank))
		for _, part := range []string{"down", "up"} {
			t := c.Tensors[loraPrefix+"/"+l+"."+part]
			w, _ := s.b.W.Lookup(l + ".w")
			shape := []int{w.Shape()[0], c.Settings.Rank}
			if part == "up" {
				shape = []int{c.Settings.Rank, w.Shape()[1]}
			}
			copy(s.w.Get(l+"."+loraPrefix+"."+c.Name+"."+part, shape, nn.Zeros).Data().([]float32), t.Data)
		}
	}
	return nil
}

// wantTensor checks that a concept has the tensor name with n values.
func wantTensor(c *Concept, name string, n int) error {
	t, ok := c.Tensors[name]
	if !ok || len(t.Data) != n {
		return fmt.Errorf("%w: %s*: tensor %s missing or not %d values", ErrCorruptConcept, c.Name, name, n)
	}
	return nil
}
