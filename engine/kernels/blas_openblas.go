//go:build !purego

package kernels

// The netlib package calls the CBLAS interface; OpenBLAS provides it.
// Linker flags are global, so this directive serves netlib's symbols too.

// #cgo LDFLAGS: -lopenblas
import "C"

import "gonum.org/v1/netlib/blas/netlib"

const blasName = "OpenBLAS (cgo)"

func init() {
	impl32 = netlib.Implementation{}
	impl64 = netlib.Implementation{}
}
