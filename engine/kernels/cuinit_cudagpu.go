//go:build cudagpu && !purego

package kernels

// gorgonia.org/cu initialises the CUDA driver in its package init and
// exits the process when that fails, so a cudagpu binary on a machine with
// NVIDIA's driver but no usable GPU (none fitted, switched off, or no
// kernel module, as on a CI machine) would end before main with a line
// about cuInit. The cuInit below stands in for the driver's (a definition
// in the executable is found before the shared library's): it calls the
// driver's own through dlsym(RTLD_NEXT) and, on failure, keeps the error
// and answers success, so the program starts; startGPU then reports "no
// GPU: …" with the driver's reason and every product stays on the CPU.
// (Without the driver library itself the binary cannot load at all: the
// GPU build needs NVIDIA's driver installed; the default build does not.)

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <cuda.h>

static CUresult csInitResult = CUDA_SUCCESS;

CUresult CUDAAPI cuInit(unsigned int flags) {
	CUresult (*driver)(unsigned int) = (CUresult (*)(unsigned int))dlsym(RTLD_NEXT, "cuInit");
	CUresult r = driver ? driver(flags) : CUDA_ERROR_NOT_INITIALIZED;
	if (r != CUDA_SUCCESS) {
		csInitResult = r;
		return CUDA_SUCCESS;
	}
	csInitResult = CUDA_SUCCESS;
	return r;
}

static int csCudaInitResult(void) { return (int)csInitResult; }
*/
import "C"

import "fmt"

// driverInitError is why the CUDA driver did not start, or nil.
func driverInitError() error {
	switch r := C.csCudaInitResult(); r {
	case C.CUDA_SUCCESS:
		return nil
	case C.CUDA_ERROR_NO_DEVICE:
		return fmt.Errorf("the CUDA driver found no device")
	case C.CUDA_ERROR_NOT_INITIALIZED:
		return fmt.Errorf("the CUDA driver library has no cuInit")
	default:
		return fmt.Errorf("the CUDA driver did not start (CUDA error %d)", int(r))
	}
}
