//go:build purego

package kernels

import "gonum.org/v1/gonum/blas/gonum"

const blasName = "gonum (pure Go)"

func init() {
	impl32 = gonum.Implementation{}
	impl64 = gonum.Implementation{}
}

// SetBLASThreads is a no-op for the pure-Go BLAS (gonum parallelises
// internally); it returns 1.
func SetBLASThreads(n int) int { return 1 }

// Serial is false: gonum's Sgemm splits work over goroutines itself.
func Serial() bool { return false }
