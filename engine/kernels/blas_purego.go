//go:build purego

package kernels

import "gonum.org/v1/gonum/blas/gonum"

const blasName = "gonum (pure Go)"

func init() {
	impl32 = gonum.Implementation{}
	impl64 = gonum.Implementation{}
}
