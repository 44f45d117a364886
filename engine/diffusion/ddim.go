package diffusion

import "math"

// ddim runs DDIM (diffusers' DDIMScheduler.step): with a = ᾱ_t and
// a' = ᾱ of the next timestep (1 after the last),
//
//	σ_t² = η²·(1−a')/(1−a)·(1 − a/a')
//	x'  = √a'·x̂0 + √(1 − a' − σ_t²)·ε̂ + σ_t·z,  z ~ N(0, I).
func (r *run) ddim() error {
	for i := range r.x {
		r.x[i] = r.rng.NormFloat64()
	}
	ac := r.s.AlphasCumprod
	first := 0
	if r.opt.Init != nil && len(r.opt.Init) == len(r.x) && r.opt.InitStrength < 1 {
		top := int(r.opt.InitStrength * float64(r.s.T))
		for first < len(r.ts)-1 && r.ts[first] > top {
			first++
			r.progress(first - 1)
		}
		a := ac[r.ts[first]]
		for j, z := range r.x {
			r.x[j] = math.Sqrt(a)*float64(r.opt.Init[j]) + math.Sqrt(1-a)*z
		}
	}
	for i, t := range r.ts {
		if i < first {
			continue
		}
		pred, err := r.predict(i, 1)
		if err != nil {
			return err
		}
		aT, aPrev := ac[t], 1.0
		if i+1 < len(r.ts) {
			aPrev = ac[r.ts[i+1]]
		}
		a, b := math.Sqrt(aT), math.Sqrt(1-aT)
		variance := (1 - aPrev) / (1 - aT) * (1 - aT/aPrev)
		std := r.opt.Eta * math.Sqrt(max(variance, 0))
		sqrtPrev := math.Sqrt(aPrev)
		dir := math.Sqrt(max(1-aPrev-std*std, 0))
		for j, xv := range r.x {
			x0, eps := toX0Eps(r.kind, xv, float64(pred[j]), a, b)
			if r.opt.ClipX0 {
				x0 = clip(x0)
				eps = (xv - a*x0) / b
			}
			r.x[j] = sqrtPrev*x0 + dir*eps
		}
		if std > 0 {
			for j := range r.x {
				r.x[j] += std * r.rng.NormFloat64()
			}
		}
		r.progress(i)
	}
	return nil
}
