//go:build cudagpu && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// needGPU skips a test on a machine without a usable GPU (the cudagpu
// build is compiled and tested on CI machines that have none), unless
// CONCEPTSTUDIO_REQUIRE_GPU=1 (build/gpu-check.sh) makes that a failure.
func needGPU(t testing.TB) {
	t.Helper()
	if g := GPU(); strings.HasPrefix(g, "no GPU") {
		if os.Getenv("CONCEPTSTUDIO_REQUIRE_GPU") == "1" {
			t.Fatalf("this is the cudagpu build but %s", g)
		}
		t.Skipf("%s", g)
	}
	t.Logf("GPU: %s", GPU())
}

// TestWithoutAGPUProductsStayOnTheCPU runs where the driver finds no
// device: the program has started (gorgonia.org/cu's init did not end it),
// GPU says why there is none, and products are computed on the CPU.
func TestWithoutAGPUProductsStayOnTheCPU(t *testing.T) {
	g := GPU()
	if !strings.HasPrefix(g, "no GPU") {
		t.Skipf("this machine has a GPU: %s", g)
	}
	t.Logf("GPU: %s", g)
	defer SetGPUMinFlops(SetGPUMinFlops(1))
	before := gpu.done.Load()
	a := []float32{1, 2, 3, 4}
	b := []float32{5, 6, 7, 8}
	c := make([]float32, 4)
	Gemm(false, false, 2, 2, 2, float32(1), a, 2, b, 2, 0, c, 2)
	if want := []float32{19, 22, 43, 50}; !slices.Equal(c, want) {
		t.Fatalf("product %v, want %v", c, want)
	}
	if gpu.done.Load() != before {
		t.Fatal("a product was counted as done on a GPU that is not there")
	}
}

// TestGPUSgemmMatchesCPU compares products on the GPU with OpenBLAS over
// shapes that are not multiples of the 64×64 tile, every transpose
// combination, row strides wider than the rows, and beta 0 (C must be
// overwritten even where it held NaN) and beta ≠ 0.
func TestGPUSgemmMatchesCPU(t *testing.T) {
	needGPU(t)
	r := rand.New(rand.NewPCG(3, 4))
	shapes := [][3]int{{300, 200, 500}, {64, 64, 64}, {1000, 70, 129}, {65, 1025, 257}, {2048, 128, 1152}}
	defer SetGPUMinFlops(SetGPUMinFlops(1 << 18)) // the 64³ product is 2¹⁹ flops
	before := gpu.done.Load()
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, beta := range []float32{0, 0.5} {
					ar, ac := m, k
					if tA {
						ar, ac = k, m
					}
					br, bc := k, n
					if tB {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+5
					a, b := make([]float32, ar*lda), make([]float32, br*ldb)
					for i := range a {
						a[i] = float32(r.NormFloat64())
					}
					for i := range b {
						b[i] = float32(r.NormFloat64())
					}
					c, want := make([]float32, m*ldc), make([]float32, m*ldc)
					for i := range c {
						c[i] = float32(r.NormFloat64())
						if beta == 0 {
							c[i] = float32(math.NaN())
						}
						want[i] = c[i]
					}
					ta, tb := blas.NoTrans, blas.NoTrans
					if tA {
						ta = blas.Trans
					}
					if tB {
						tb = blas.Trans
					}
					netlib.Implementation{}.Sgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, want, ldc)
					Gemm(tA, tB, m, n, k, 1.5, a, lda, b, ldb, beta, c, ldc)
					worst := 0.0
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							d := math.Abs(float64(c[i*ldc+j]-want[i*ldc+j])) / (1 + math.Abs(float64(want[i*ldc+j])))
							if math.IsNaN(d) {
								d = math.Inf(1)
							}
							worst = max(worst, d)
						}
						// The padding past n must be untouched.
						for j := n; j < ldc && i < m-1; j++ {
							if math.Float32bits(c[i*ldc+j]) != math.Float32bits(want[i*ldc+j]) {
								t.Fatalf("%v: wrote past the row end at (%d,%d)", s, i, j)
							}
						}
					}
					// Both sides sum k float32 products, in different orders.
					if worst > 1e-5*math.Sqrt(float64(k)) {
						t.Errorf("m,n,k=%v transA=%v transB=%v beta=%v: worst relative difference %.2g", s, tA, tB, beta, worst)
					}
				}
			}
		}
	}
	if got, want := gpu.done.Load()-before, int64(len(shapes)*8); got != want {
		t.Errorf("%d of %d products ran on the GPU", got, want)
	}
	// Small products stay on the CPU.
	SetGPUMinFlops(1 << 24)
	before = gpu.done.Load()
	a, c := make([]float32, 16*16), make([]float32, 16*16)
	Gemm(false, false, 16, 16, 16, 1, a, 16, a, 16, 0, c, 16)
	if gpu.done.Load() != before {
		t.Error("a 16×16×16 product went to the GPU")
	}
}

// The same 1024³ product on the CPU and on the GPU (copies included), in
// one run: compare their GFLOPS.
func BenchmarkSgemm1024CPU(b *testing.B) {
	defer UseGPU(UseGPU(false))
	benchmarkSgemm(b, 1024)
}

func BenchmarkSgemm1024GPU(b *testing.B) {
	needGPU(b)
	defer UseGPU(UseGPU(true))
	benchmarkSgemm(b, 1024)
}

func BenchmarkSgemm4096GPU(b *testing.B) {
	needGPU(b)
	defer UseGPU(UseGPU(true))
	benchmarkSgemm(b, 4096)
}
