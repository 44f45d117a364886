// Package kernels holds the engine's numeric kernels on plain slices:
// matrix products (through BLAS), convolutions, normalisations,
// activations, softmax and attention, each with its backward pass. Nothing
// here knows about graphs or autodiff; package ops wraps these kernels as
// Gorgonia operations.
//
// Tensors are dense, row-major, and images are channels-last (NHWC), so a
// 1×1 convolution and attention over pixels are plain matrix products.
// Every kernel is generic over float32 (production) and float64 (gradient
// checks).
package kernels

// Float is the element type of every kernel.
type Float interface{ ~float32 | ~float64 }
