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

// noiseBatch draws noise and timesteps from rng for the clean batch x0
// ([B, n]) and returns what the network is trained on; minSNR ≤ 0 gives
// unit weights, floored keeps high-noise samples at full weight
// (diffusion.FlooredSNRWeight).
func (b *Base) noiseBatch(rng *rand.Rand, x0, noise []float32, batch int, minSNR float64, floored bool) (noised, error) {
	diffusion.FillNormal(rng, noise)
	t := b.Sched.RandomTimesteps(rng, batch)
	xt, err := b.Sched.AddNoise(x0, noise, t)
	if err != nil {
		return noised{}, err
	}
	target, err := b.Sched.Target(b.Pred, x0, noise, t)
	if err != nil {
		return noised{}, err
	}
	out := noised{xt: xt, target: target, t: make([]float64, batch), weights: make([]float32, batch)}
	for i, w := range b.Sched.LossWeights(b.Pred, t, minSNR, floored) {
		out.weights[i], out.t[i] = float32(w), float64(t[i])
	}
	return out, nil
}
