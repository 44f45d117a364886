package diffusion

import (
	"fmt"
	"math/rand/v2"
)

// AddNoise runs the forward process: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·noise for a
// batch [B, n] with one timestep per sample (B = len(t)).
func (s *Schedule) AddNoise(x0, noise []float32, t []int) ([]float32, error) {
	n, err := s.batchShape(x0, t, noise)
	if err != nil {
		return nil, err
	}
	xt := make([]float32, len(x0))
	for bi, ti := range t {
		a, b := s.SqrtAlphaBar(ti), s.SqrtOneMinusAlphaBar(ti)
		for i := bi * n; i < (bi+1)*n; i++ {
			xt[i] = float32(a*float64(x0[i]) + b*float64(noise[i]))
		}
	}
	return xt, nil
}

// Target is what a network of the given kind should output for the x_t that
// AddNoise(x0, noise, t) makes: the noise, v = √ᾱ·noise − √(1−ᾱ)·x0, or x0.
func (s *Schedule) Target(kind PredKind, x0, noise []float32, t []int) ([]float32, error) {
	n, err := s.batchShape(x0, t, noise)
	if err != nil {
		return nil, err
	}
	if err := kind.valid(); err != nil {
		return nil, err
	}
	switch kind {
	case Epsilon:
		return append([]float32(nil), noise...), nil
	case SamplePrediction:
		return append([]float32(nil), x0...), nil
	}
	v := make([]float32, len(x0))
	for bi, ti := range t {
		a, b := s.SqrtAlphaBar(ti), s.SqrtOneMinusAlphaBar(ti)
		for i := bi * n; i < (bi+1)*n; i++ {
			v[i] = float32(a*float64(noise[i]) - b*float64(x0[i]))
		}
	}
	return v, nil
}

// MinSNRWeight is the min-SNR-γ loss weight of Hang et al. (2023) for a
// sample at timestep t, to multiply that sample's MSE between prediction
// and Target. With SNR = ᾱ/(1−ᾱ):
//
//	Epsilon:          min(SNR, γ)/SNR
//	VPrediction:      min(SNR, γ)/(SNR + 1)
//	SamplePrediction: min(SNR, γ)
//
// γ = 5 is the paper's choice; gamma <= 0 turns the weighting off (1).
func (s *Schedule) MinSNRWeight(kind PredKind, t int, gamma float64) float64 {
	if gamma <= 0 {
		return 1
	}
	snr := s.SNR(t)
	w := min(snr, gamma)
	switch kind {
	case Epsilon:
		return w / snr
	case VPrediction:
		return w / (snr + 1)
	}
	return w
}

// FlooredSNRWeight is min-SNR-γ on the clean side only: in terms of the
// clean image (the weight the loss puts on x̂₀'s error) it is
//
//	λ = min(SNR + 1, γ)
//
// so low-noise samples are capped as in MinSNRWeight, but high-noise
// samples keep the weight that plain v-prediction gives them (λ → 1)
// instead of min-SNR's λ = SNR → 0. Those are the samples that decide
// layout: at high noise nothing of the object is left in xₜ, so where it
// goes can only come from the prompt. Per target:
//
//	VPrediction:      λ/(SNR + 1) = min(1, γ/(SNR + 1))
//	SamplePrediction: λ
//	Epsilon:          λ/SNR, capped at maxEpsWeight
//
// gamma <= 0 turns the weighting off (1).
func (s *Schedule) FlooredSNRWeight(kind PredKind, t int, gamma float64) float64 {
	if gamma <= 0 {
		return 1
	}
	snr := s.SNR(t)
	l := min(snr+1, gamma)
	switch kind {
	case Epsilon:
		return min(l/snr, maxEpsWeight)
	case VPrediction:
		return l / (snr + 1)
	}
	return l
}

// maxEpsWeight caps FlooredSNRWeight for ε-prediction, whose loss hardly
// sees x̂₀ at high noise (λ/SNR grows without bound there).
const maxEpsWeight = 100

// LossWeights are per-sample loss weights for a batch's timesteps:
// FlooredSNRWeight when floored, else MinSNRWeight.
func (s *Schedule) LossWeights(kind PredKind, t []int, gamma float64, floored bool) []float64 {
	if !floored {
		return s.MinSNRWeights(kind, t, gamma)
	}
	w := make([]float64, len(t))
	for i, ti := range t {
		w[i] = s.FlooredSNRWeight(kind, ti, gamma)
	}
	return w
}

// MinSNRWeights is MinSNRWeight for each timestep of a batch.
func (s *Schedule) MinSNRWeights(kind PredKind, t []int, gamma float64) []float64 {
	w := make([]float64, len(t))
	for i, ti := range t {
		w[i] = s.MinSNRWeight(kind, ti, gamma)
	}
	return w
}

// WeightedMSE is the training loss for a batch [B, n] with per-sample
// weights (B = len(weights); nil means all 1):
//
//	loss = (1/B) Σ_b w_b · (1/n) Σ_i (pred − target)²
//
// and its gradient with respect to pred, 2·w_b·(pred − target)/(B·n).
func WeightedMSE(pred, target []float32, weights []float64) (loss float64, grad []float32, err error) {
	if len(pred) != len(target) {
		return 0, nil, fmt.Errorf("diffusion: prediction has %d values, target %d", len(pred), len(target))
	}
	B := len(weights)
	if weights == nil {
		B = 1
	}
	if B == 0 || len(pred)%B != 0 || len(pred) == 0 {
		return 0, nil, fmt.Errorf("diffusion: %d values do not split into %d samples", len(pred), B)
	}
	n := len(pred) / B
	grad = make([]float32, len(pred))
	scale := 1 / float64(B*n)
	for bi := range B {
		w := 1.0
		if weights != nil {
			w = weights[bi]
		}
		var sum float64
		for i := bi * n; i < (bi+1)*n; i++ {
			d := float64(pred[i]) - float64(target[i])
			sum += d * d
			grad[i] = float32(2 * w * d * scale)
		}
		loss += w * sum * scale
	}
	return loss, grad, nil
}

// RandomTimesteps draws batch timesteps uniformly from [0, T).
func (s *Schedule) RandomTimesteps(rng *rand.Rand, batch int) []int {
	t := make([]int, batch)
	for i := range t {
		t[i] = rng.IntN(s.T)
	}
	return t
}

// HighNoiseFrom is where RandomTimestepsHigh's high-noise band starts, as
// a fraction of T: the noisiest tenth, where too little of the image is
// left in xₜ to place objects, so that only the prompt can.
const HighNoiseFrom = 0.9

// RandomTimestepsHigh draws batch timesteps: each, with probability share,
// uniformly from the high-noise band [HighNoiseFrom·T, T), else uniformly
// from [0, T). share 0 is RandomTimesteps.
func (s *Schedule) RandomTimestepsHigh(rng *rand.Rand, batch int, share float64) []int {
	if share <= 0 {
		return s.RandomTimesteps(rng, batch)
	}
	lo := int(HighNoiseFrom * float64(s.T))
	t := make([]int, batch)
	for i := range t {
		if rng.Float64() < share {
			t[i] = lo + rng.IntN(s.T-lo)
		} else {
			t[i] = rng.IntN(s.T)
		}
	}
	return t
}

// FillNormal fills dst with standard normal noise from rng, in order.
func FillNormal(rng *rand.Rand, dst []float32) {
	for i := range dst {
		dst[i] = float32(rng.NormFloat64())
	}
}
