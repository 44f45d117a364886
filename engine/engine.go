// Package engine is Concept Studio's numeric core: tensors and kernels
// (kernels), Gorgonia-backed differentiable ops (ops), layers (nn), the
// text encoder and UNet (model), noise schedules and samplers (diffusion),
// optimizers (optim) and the safetensors codec (safetensors). This package
// is the plain-Go face of it for the app: no Gorgonia type crosses it.
package engine
