package optim

import "math"

// ClipGradNorm computes the global L2 norm of all gradients taken together
// (as torch.nn.utils.clip_grad_norm_) and, when it exceeds maxNorm > 0,
// scales every gradient in place by maxNorm/norm so the global norm becomes
// maxNorm. It returns the norm before clipping.
//
// finite is false when the norm is NaN or ±Inf (some gradient overflowed or
// is NaN); the gradients are then left untouched and the caller should
// skip the optimiser step. maxNorm <= 0 only measures. Parameters with a
// nil Grad are ignored.
func ClipGradNorm(params []*Param, maxNorm float64) (norm float64, finite bool) {
	var sum float64
	for _, p := range params {
		for _, g := range p.Grad {
			sum += float64(g) * float64(g)
		}
	}
	norm = math.Sqrt(sum)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, false
	}
	if maxNorm > 0 && norm > maxNorm {
		scale := maxNorm / norm
		for _, p := range params {
			for i, g := range p.Grad {
				p.Grad[i] = float32(float64(g) * scale)
			}
		}
	}
	return norm, true
}
