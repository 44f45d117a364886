package diffusion

import "math"

// eulerAncestral runs diffusers' EulerAncestralDiscreteScheduler in σ space
// (x_σ = x_t/√ᾱ = x0 + σ·ε), with σ_{steps} = 0 after the last timestep:
//
//	x̂0     from the model output at x_σ/√(σ²+1)
//	σ_up   = √(σ_to²·(σ² − σ_to²)/σ²),  σ_down = √(σ_to² − σ_up²)
//	x'     = x + (x − x̂0)/σ · (σ_down − σ) + σ_up·z,  z ~ N(0, I).
func (r *run) eulerAncestral() error {
	sigmas := make([]float64, len(r.ts)+1)
	for i, t := range r.ts {
		sigmas[i] = r.s.Sigma(t)
	}
	init := math.Sqrt(sigmas[0]*sigmas[0] + 1)
	for i := range r.x {
		r.x[i] = r.rng.NormFloat64() * init
	}
	for i := range r.ts {
		sigma, to := sigmas[i], sigmas[i+1]
		c := math.Sqrt(sigma*sigma + 1)
		pred, err := r.predict(i, 1/c)
		if err != nil {
			return err
		}
		up := math.Sqrt(max(to*to*(sigma*sigma-to*to)/(sigma*sigma), 0))
		down := math.Sqrt(max(to*to-up*up, 0))
		dt := down - sigma
		for j, xv := range r.x {
			p := float64(pred[j])
			var x0 float64
			switch r.kind {
			case Epsilon:
				x0 = xv - sigma*p
			case VPrediction:
				x0 = p*(-sigma/c) + xv/(c*c)
			default:
				x0 = p
			}
			if r.opt.ClipX0 {
				x0 = clip(x0)
			}
			r.x[j] = xv + (xv-x0)/sigma*dt
		}
		if up > 0 {
			for j := range r.x {
				r.x[j] += up * r.rng.NormFloat64()
			}
		}
		r.progress(i)
	}
	return nil
}
