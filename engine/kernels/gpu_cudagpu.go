//go:build cudagpu && !purego

package kernels

// The cudagpu build: large float32 matrix products run on the first NVIDIA
// GPU through the CUDA driver API (gorgonia.org/cu), everything else stays
// on the CPU. The kernel is our own (cuda/sgemm.cu, shipped as PTX that
// the driver translates for the card), so the build needs only the
// driver's libcuda, not the CUDA runtime or cuBLAS.
//
// CUDA contexts belong to an OS thread, so one goroutine locked to its
// thread owns the context, the module and the device buffers, and serves
// products one at a time; callers block until their product is back in
// their slice. Device buffers grow to the largest product seen and are
// kept.

import (
	_ "embed"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"gorgonia.org/cu"
)

//go:generate nvcc -ptx -arch=compute_70 -O3 -o cuda/sgemm.ptx cuda/sgemm.cu

//go:embed cuda/sgemm.ptx
var sgemmPTX string

// minGPUFlops is the smallest product (2·m·n·k) sent to the GPU: below it
// the copies and the launch cost more than the CPU takes.
var minGPUFlops atomic.Int64

// SetGPUMinFlops sets the smallest product (2·m·n·k) that goes to the GPU
// and returns the previous value. The default, 2²⁸, was the fastest of
// 2²⁴, 2²⁸ and 2³⁰ for the base-config train step (batch 32, one replica
// per core) on an H200 machine with 16 cores.
func SetGPUMinFlops(f int64) int64 { return minGPUFlops.Swap(f) }

type gpuCall struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	done           chan error
}

var gpu struct {
	once  sync.Once
	name  string // device name, or why there is none
	ok    bool
	on    atomic.Bool
	done  atomic.Int64 // products computed on the GPU
	calls chan *gpuCall
}

// gpuSgemm32 sends a large enough product to the GPU and reports whether
// it did; Gemm falls back to the CPU BLAS otherwise. (A function variable
// rather than a wrapped impl32: blas_openblas.go imports "C", and the go
// command compiles cgo files after the others, so its init would run last
// and replace any wrapper set in an init here.)
var gpuSgemm32 = func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	if 2*float64(m)*float64(n)*float64(k) < float64(minGPUFlops.Load()) || !gpu.on.Load() || !startGPU() {
		return false
	}
	call := &gpuCall{tA, tB, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, make(chan error, 1)}
	gpu.calls <- call
	if err := <-call.done; err != nil {
		gpuFailed(err)
		return false
	}
	gpu.done.Add(1)
	return true
}

func init() {
	minGPUFlops.Store(1 << 28) // measured on an H200 with 16 cores: see SetGPUMinFlops
	gpu.on.Store(os.Getenv("CONCEPTSTUDIO_CUDA") != "0")
}

// gpuFailed turns the GPU off for the rest of the run after an error (the
// product that failed is redone on the CPU).
func gpuFailed(err error) {
	if gpu.on.Swap(false) {
		fmt.Fprintf(os.Stderr, "conceptstudio: GPU error, continuing on the CPU: %v\n", err)
	}
}

// GPU names the GPU that large matrix products run on, or says why none
// does ("" only in builds without CUDA).
func GPU() string {
	startGPU()
	if gpu.ok && !gpu.on.Load() {
		return gpu.name + " (switched off)"
	}
	return gpu.name
}

// UseGPU switches the GPU path on or off (it starts on unless the
// environment sets CONCEPTSTUDIO_CUDA=0) and returns the previous setting.
// Benchmarks use it to time the CPU and the GPU in one run.
func UseGPU(on bool) bool { return gpu.on.Swap(on) }

// startGPU opens the device once; it reports whether one is usable.
func startGPU() bool {
	gpu.once.Do(func() {
		ready := make(chan error)
		gpu.calls = make(chan *gpuCall)
		go gpuWorker(ready)
		if err := <-ready; err != nil {
			gpu.name = "no GPU: " + err.Error()
			return
		}
		gpu.ok = true
	})
	return gpu.ok
}

func gpuWorker(ready chan<- error) {
	runtime.LockOSThread()
	if err := driverInitError(); err != nil {
		ready <- err
		return
	}
	n, err := cu.NumDevices()
	if err == nil && n == 0 {
		err = fmt.Errorf("the CUDA driver found no device")
	}
	if err != nil {
		ready <- err
		return
	}
	dev := cu.Device(0)
	name, _ := dev.Name()
	ctx, err := dev.RetainPrimaryCtx()
	if err == nil {
		err = cu.SetCurrentContext(ctx)
	}
	var fn cu.Function
	if err == nil {
		var mod cu.Module
		if mod, err = cu.LoadData(sgemmPTX); err == nil {
			fn, err = mod.Function("sgemm_rowmajor")
		}
	}
	if err != nil {
		ready <- fmt.Errorf("%s: %w", name, err)
		return
	}
	mem, _ := dev.TotalMem()
	gpu.name = fmt.Sprintf("%s, %.0f GiB (CUDA driver %d)", name, float64(mem)/(1<<30), cu.Version())
	ready <- nil
	var bufs [3]struct {
		ptr  cu.DevicePtr
		size int64
	}
	buf := func(i int, bytes int64) (cu.DevicePtr, error) {
		if bufs[i].size < bytes {
			if bufs[i].size > 0 {
				cu.MemFree(bufs[i].ptr)
				bufs[i].size = 0
			}
			p, err := cu.MemAlloc(bytes)
			if err != nil {
				return 0, err
			}
			bufs[i].ptr, bufs[i].size = p, bytes
		}
		return bufs[i].ptr, nil
	}
	for call := range gpu.calls {
		call.done <- gpuProduct(fn, buf, call)
	}
}

// span is the number of elements a row-major r×c matrix with row stride
// ld occupies.
func span(r, c, ld int) int { return (r-1)*ld + c }

func gpuProduct(fn cu.Function, buf func(int, int64) (cu.DevicePtr, error), q *gpuCall) error {
	ar, ac := q.m, q.k
	if q.transA {
		ar, ac = q.k, q.m
	}
	br, bc := q.k, q.n
	if q.transB {
		br, bc = q.n, q.k
	}
	na, nb, nc := span(ar, ac, q.lda), span(br, bc, q.ldb), span(q.m, q.n, q.ldc)
	if na > len(q.a) || nb > len(q.b) || nc > len(q.c) {
		return fmt.Errorf("sgemm: a matrix is shorter than its shape")
	}
	var dp [3]cu.DevicePtr
	for i, x := range [][]float32{q.a[:na], q.b[:nb], q.c[:nc]} {
		p, err := buf(i, int64(len(x))*4)
		if err != nil {
			return err
		}
		dp[i] = p
		if i == 2 && q.beta == 0 && q.ldc == q.n {
			break // C is only written (with wider rows, the padding must come back as it was)
		}
		if err := cu.MemcpyHtoD(p, unsafe.Pointer(&x[0]), int64(len(x))*4); err != nil {
			return err
		}
	}
	b2i := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	// cu.Function.Launch copies 8 bytes from each parameter: every
	// argument is a 64-bit value, the floats widened in their low half.
	args := []int64{b2i(q.transA), b2i(q.transB), int64(q.m), int64(q.n), int64(q.k),
		int64(math.Float32bits(q.alpha)), int64(dp[0]), int64(q.lda), int64(dp[1]), int64(q.ldb),
		int64(math.Float32bits(q.beta)), int64(dp[2]), int64(q.ldc)}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	gx, gy := (q.n+63)/64, (q.m+63)/64
	if err := fn.Launch(gx, gy, 1, 256, 1, 1, 0, cu.NoStream, params); err != nil {
		return err
	}
	return cu.MemcpyDtoH(unsafe.Pointer(&q.c[0]), dp[2], int64(nc)*4)
}
