//go:build !cudagpu || purego

package kernels

// GPU names the GPU that large matrix products run on; "" in builds
// without CUDA (build with -tags cudagpu for one).
func GPU() string { return "" }

// UseGPU does nothing in builds without CUDA and reports false.
func UseGPU(on bool) bool { return false }

// gpuSgemm32 is nil without CUDA: every product runs on the CPU.
var gpuSgemm32 func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool

// SetGPUMinFlops does nothing in builds without CUDA.
func SetGPUMinFlops(f int64) int64 { return 0 }
