package engine

import (
	"context"
	"strings"
)

// Perfusion (Tewel et al. 2023): key-locked rank-one edits of every
// cross-attention's K and V with a gate per concept. The concept file
// holds the encodings "i_star" (EMA of the concept token's) and
// "i_super" (the class word's), and the value targets "o_v/LAYER" (with
// trained keys, the ablation, "o_k/LAYER" too). Its gate is β: the
// similarity to i* above which the edit takes over.
type perfusionMethod struct{}

func init() { registerMethod(perfusionMethod{}) }

func (perfusionMethod) info() MethodInfo {
	return MethodInfo{Name: Perfusion, Rank: 10, Title: "Perfusion", About: "~1 min, ~10 KB, best balance of look and prompt", Steps: perfusionMethod{}.defaults().Steps,
		Gate: &Gate{Name: "a Perfusion gate β", Label: "β", Help: "gate β: lower keeps more of the concept's look, higher follows the text more", Min: 0, Max: 1, Step: 0.01,
			Sweep: ParetoBetas}}
}

func (perfusionMethod) defaults() MethodDefaults {
	d := baseDefaults()
	d.EmbedLR = d.LR * 0.2 // the design: embedding at ~0.2× the rate
	return d
}

// Inference gates of the design: β 0.70 (τ 0.15) for one concept, 0.60
// when several Perfusion concepts share the prompt.
const (
	perfusionBeta     = 0.70
	perfusionBetaMany = 0.60
	perfusionTau      = 0.15
)

// gate: 0.60 when the prompt holds several Perfusion concepts, else the
// concept's own β (0.70 when it has none).
func (perfusionMethod) gate(c *Concept, n int) float64 {
	switch {
	case n > 1:
		return perfusionBetaMany
	case c.Settings.Beta > 0:
		return c.Settings.Beta
	}
	return perfusionBeta
}

func (perfusionMethod) check(b *Base, c *Concept) error {
	D := b.Cfg.TextDim
	for _, n := range []string{"i_star", "i_super"} {
		if err := wantTensor(c, n, D); err != nil {
			return err
		}
	}
	for _, l := range b.crossLayers() {
		wk, _ := b.W.Lookup(l + ".v.w")
		if err := wantTensor(c, "o_v/"+l, wk.Shape()[1]); err != nil {
			return err
		}
		if c.Settings.TrainedKeys {
			if err := wantTensor(c, "o_k/"+l, wk.Shape()[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (perfusionMethod) copies(*Base, *Concept) []string { return nil }

func (perfusionMethod) prepare(_ context.Context, t *training) error {
	iSuper, _, err := t.b.ClassEncoding(t.s.w, t.opt.Class)
	if err != nil {
		return err
	}
	i64 := toF64(iSuper)
	if t.pc, err = t.s.addPerfusion(t.opt.Name, append([]float64(nil), i64...), i64, nil, nil, t.d.Beta, t.d.Tau, true); err != nil {
		return err
	}
	for _, l := range t.pc.layers {
		t.learn[l+"."+perfPrefix+"."+t.opt.Name+".o_v"] = true
		if t.opt.TrainKeys {
			t.learn[l+"."+perfPrefix+"."+t.opt.Name+".o_k"] = true
		}
	}
	return nil
}

func (perfusionMethod) finish(t *training, c *Concept) {
	D := t.b.Cfg.TextDim
	c.Settings.Beta, c.Settings.Tau = perfusionBeta, perfusionTau
	c.Settings.GlobalLocking = t.opt.GlobalLocking
	c.Tensors["i_star"] = Tensor{Shape: []int{D}, Data: toF32s(t.pc.iStar)}
	c.Tensors["i_super"] = Tensor{Shape: []int{D}, Data: toF32s(t.pc.iSuper)}
	c.Settings.TrainedKeys = t.opt.TrainKeys
	for _, l := range t.pc.layers {
		v, _ := t.s.w.Lookup(l + "." + perfPrefix + "." + t.opt.Name + ".o_v")
		c.Tensors["o_v/"+l] = Tensor{Shape: []int{v.Shape()[0]}, Data: append([]float32(nil), v.Data().([]float32)...)}
		if t.opt.TrainKeys {
			k, _ := t.s.w.Lookup(l + "." + perfPrefix + "." + t.opt.Name + ".o_k")
			c.Tensors["o_k/"+l] = Tensor{Shape: []int{k.Shape()[0]}, Data: append([]float32(nil), k.Data().([]float32)...)}
		}
	}
}

func (perfusionMethod) attach(s *session, c *Concept, beta, tau float64, a *attachment) error {
	if tau <= 0 {
		tau = c.Settings.Tau
	}
	if tau <= 0 {
		tau = perfusionTau
	}
	oK, oV := map[string][]float32{}, map[string][]float32{}
	for name, t := range c.Tensors {
		if l, ok := strings.CutPrefix(name, "o_v/"); ok {
			oV[l] = t.Data
		}
		if l, ok := strings.CutPrefix(name, "o_k/"); ok && c.Settings.TrainedKeys {
			oK[l] = t.Data
		}
	}
	pc, err := s.addPerfusion(c.Name, toF64(c.Tensors["i_star"].Data), toF64(c.Tensors["i_super"].Data), oK, oV, beta, tau, false)
	if err != nil {
		return err
	}
	a.perfs = append(a.perfs, pc)
	return nil
}

// betaOverride is the gate a concept takes from an evaluation's Perfusion
// β override (EvalOptions.Beta): the override for a Perfusion concept, 0
// (its default) for the others.
func betaOverride(c *Concept, beta float64) float64 {
	if c.Method == Perfusion {
		return beta
	}
	return 0
}
