//go:build !purego

package kernels

// The netlib package calls the CBLAS interface; OpenBLAS provides it.
// Linker flags are global, so this directive serves netlib's symbols too.
//
// We link the threaded OpenBLAS (Debian's default libopenblas0-pthread):
// it is safe to call from several goroutines at once, which the serial
// build is not (Debian builds it without locking: concurrent products
// were measured to come out wrong).

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
int openblas_get_parallel(void);
*/
import "C"

import "gonum.org/v1/netlib/blas/netlib"

const blasName = "OpenBLAS (cgo)"

// Serial reports whether the linked OpenBLAS runs each call on the calling
// thread only (the serial build), so concurrent calls scale with cores.
func Serial() bool { return int(C.openblas_get_parallel()) == 0 }

func init() {
	impl32 = netlib.Implementation{}
	impl64 = netlib.Implementation{}
}

// SetBLASThreads sets how many threads one BLAS call may use (process
// wide) and returns the previous setting. Training runs one model replica
// per core with single-threaded BLAS; sampling uses all cores per call.
func SetBLASThreads(n int) int {
	old := int(C.openblas_get_num_threads())
	C.openblas_set_num_threads(C.int(n))
	return old
}
