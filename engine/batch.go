package engine

import (
	"math/rand/v2"

	"conceptstudio/engine/diffusion"
)

// noised is one training batch after the forward process: noisy inputs,
// regression targets, timesteps and per-sample loss weights.
type noised struct {
	xt, target []float32
	t          []float64
	weights    []float32
}

// lossWeighting is how a training batch's timesteps are drawn and its
// samples weighted.
type lossWeighting struct {
	minSNR  float64 // min-SNR-γ (≤ 0: unit weights)
	floored bool    // keep high-noise samples at full weight (diffusion.FlooredSNRWeight)
	high    float64 // share of timesteps drawn from the high-noise band (diffusion.RandomTimestepsHigh)
	// perturb is input perturbation (Ning et al. 2023, DDPM-IP): the
	// network sees x0 noised with ε + perturb·ξ (ξ fresh noise) but is
	// trained to predict from ε alone, as it will meet its own slightly
	// wrong inputs when sampling (exposure bias). 0: none.
	perturb float64
}

// noiseBatch draws noise and timesteps from rng for the clean batch x0
// ([B, n]) and returns what the network is trained on.
func (b *Base) noiseBatch(rng *rand.Rand, x0, noise []float32, batch int, lw lossWeighting) (noised, error) {
	diffusion.FillNormal(rng, noise)
	t := b.Sched.RandomTimestepsHigh(rng, batch, lw.high)
	seen := noise
	if lw.perturb > 0 {
		seen = make([]float32, len(noise))
		diffusion.FillNormal(rng, seen)
		for i, e := range noise {
			seen[i] = e + float32(lw.perturb)*seen[i]
		}
	}
	xt, err := b.Sched.AddNoise(x0, seen, t)
	if err != nil {
		return noised{}, err
	}
	target, err := b.Sched.Target(b.Pred, x0, noise, t)
	if err != nil {
		return noised{}, err
	}
	out := noised{xt: xt, target: target, t: make([]float64, batch), weights: make([]float32, batch)}
	for i, w := range b.Sched.LossWeights(b.Pred, t, lw.minSNR, lw.floored) {
		out.weights[i], out.t[i] = float32(w), float64(t[i])
	}
	return out, nil
}

// selfCondEstimate is what a self-conditioned network (model.Config.
// SelfCond) is given of its own previous output: the clean pictures its
// predictions pred at xt and timesteps t imply, clamped to [−1, 1] as
// the sampler clamps them.
func (b *Base) selfCondEstimate(xt, pred []float32, t []int) ([]float32, error) {
	x0, _, err := b.Sched.PredToX0Eps(b.Pred, xt, pred, t)
	if err != nil {
		return nil, err
	}
	for i, v := range x0 {
		x0[i] = max(-1, min(1, v))
	}
	return x0, nil
}

// selfCondShare is the share of training batches a self-conditioned
// network sees its own first estimate in (the rest see none), as in
// "Analog Bits".
const selfCondShare = 0.5
