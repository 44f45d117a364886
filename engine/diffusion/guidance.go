package diffusion

import "fmt"

// Denoiser is the network as the samplers see it: given a batch of noisy
// samples x ([batch, n], in the variance-preserving space x_t =
// √ᾱ·x0 + √(1−ᾱ)·ε, so roughly unit variance) and one timestep per sample,
// it returns the raw prediction of the kind passed to Sample, [batch, n].
// Text conditioning is bound inside the function. Samplers reuse the x and
// t buffers between calls, so a Denoiser must not keep them after it
// returns.
type Denoiser func(x []float32, t []int, batch int) ([]float32, error)

// Guided combines a conditional and an unconditional model by
// classifier-free guidance, uncond + scale·(cond − uncond), calling each
// once per step. scale 1 calls only cond, scale 0 only uncond. Use it when
// the two are separate calls (say, different conditioning inputs); use CFG
// when one call on a doubled batch is cheaper.
func Guided(cond, uncond Denoiser, scale float64) Denoiser {
	switch scale {
	case 1:
		return cond
	case 0:
		return uncond
	}
	return func(x []float32, t []int, batch int) ([]float32, error) {
		c, err := cond(x, t, batch)
		if err != nil {
			return nil, err
		}
		u, err := uncond(x, t, batch)
		if err != nil {
			return nil, err
		}
		if len(c) != len(x) || len(u) != len(x) {
			return nil, fmt.Errorf("diffusion: guided outputs have %d and %d values, want %d", len(c), len(u), len(x))
		}
		return combine(u, c, scale), nil
	}
}

// CFG does classifier-free guidance with one model call on a doubled
// batch, as diffusers' pipelines: model receives 2·batch samples, the batch
// repeated twice with the same timesteps, and must condition the first
// half on the empty (unconditional) prompt and the second half on the real
// prompt, returning [uncond; cond]. The guided prediction is
// uncond + scale·(cond − uncond). The returned Denoiser reuses its doubled
// buffers, so it is for one sampling run at a time.
func CFG(model Denoiser, scale float64) Denoiser {
	var x2 []float32
	var t2 []int
	return func(x []float32, t []int, batch int) ([]float32, error) {
		x2 = append(append(x2[:0], x...), x...)
		t2 = append(append(t2[:0], t...), t...)
		out, err := model(x2, t2, 2*batch)
		if err != nil {
			return nil, err
		}
		if len(out) != 2*len(x) {
			return nil, fmt.Errorf("diffusion: CFG model returned %d values, want %d", len(out), 2*len(x))
		}
		return combine(out[:len(x)], out[len(x):], scale), nil
	}
}

func combine(uncond, cond []float32, scale float64) []float32 {
	out := make([]float32, len(cond))
	for i := range out {
		u := float64(uncond[i])
		out[i] = float32(u + scale*(float64(cond[i])-u))
	}
	return out
}
