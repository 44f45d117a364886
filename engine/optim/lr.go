package optim

import "math"

// CosineLR is the learning rate for optimiser step `step` (0-based): a
// linear warm-up over the first `warmup` steps, reaching base at step
// warmup−1, then a half-cosine from base at step `warmup` down to floor at
// step `total`, and floor from there on:
//
//	step < warmup:          base·(step+1)/warmup
//	warmup ≤ step < total:  floor + (base−floor)·(1 + cos(π·p))/2,  p = (step−warmup)/(total−warmup)
//	step ≥ total:           floor
//
// warmup ≤ 0 disables the warm-up; a negative step counts as 0.
func CosineLR(step, warmup, total int, base, floor float64) float64 {
	step = max(step, 0)
	if step < warmup {
		return base * float64(step+1) / float64(warmup)
	}
	warmup = max(warmup, 0)
	if step >= total {
		return floor
	}
	p := float64(step-warmup) / float64(total-warmup)
	return floor + (base-floor)*0.5*(1+math.Cos(math.Pi*p))
}
