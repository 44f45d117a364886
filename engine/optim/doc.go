// Package optim holds the training-side numerics that sit between the
// gradients and the weights: the AdamW optimiser with parameter groups and
// resumable state, global gradient-norm clipping, an exponential moving
// average (EMA) of the weights for evaluation and sampling, and the
// learning-rate schedule.
//
// Parameters are plain float32 slices owned by the model; a Param only
// names them and points at them, and every update happens in place.
// Optimiser and EMA state is keyed by Param.Name, so names must be unique
// and stable across runs for a checkpoint to resume. Arithmetic is done in
// float64 per element and stored back as float32; nothing here draws
// random numbers or depends on the number of CPUs, so the same inputs give
// bit-identical results.
package optim
