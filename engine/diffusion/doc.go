// Package diffusion holds the numerics of a denoising diffusion model that
// are independent of the network: noise schedules, the forward (noising)
// process and training targets, conversions between what the network
// predicts (ε, v or x0) and what the samplers need, min-SNR-γ loss
// weights, classifier-free guidance, and two samplers, DDIM and
// Euler-ancestral, that follow diffusers' DDIMScheduler and
// EulerAncestralDiscreteScheduler.
//
// Conventions. Data is a batch of B samples flattened to [B, n] float32
// (for a 32×32×3 NHWC image n = 3072, values in [−1, 1]). Timesteps are
// integers t in [0, T) with one per sample. The variance-preserving
// forward process is
//
//	x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε,  ε ~ N(0, I),
//
// and the v target is v = √ᾱ_t·ε − √(1−ᾱ_t)·x0 (Salimans & Ho). Scalars
// are computed in float64; samplers keep their running state in float64
// and hand the model float32. Randomness only comes from the *rand.Rand
// passed in, drawn in a fixed order, so the same seed gives the same
// output bit for bit.
package diffusion
