package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// naiveGemm is the textbook triple loop, the reference for Gemm.
func naiveGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
}

func TestGemmHandValues(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}    // 2×3
	b := []float32{7, 8, 9, 10, 11, 12} // 3×2
	c := []float32{1, 1, 1, 1}          // 2×2
	Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 2, c, 2)
	want := []float32{58 + 2, 64 + 2, 139 + 2, 154 + 2}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("c = %v, want %v", c, want)
		}
	}
}

func TestGemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		m, n, k := 7, 5, 9
		a := randSlice(r, m*k)
		b := randSlice(r, k*n)
		c := randSlice(r, m*n)
		lda, ldb := k, n
		if tr[0] {
			lda = m
		}
		if tr[1] {
			ldb = k
		}
		want := append([]float64(nil), c...)
		naiveGemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 0.25, want, n)
		Gemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 0.25, c, n)
		for i := range c {
			if math.Abs(c[i]-want[i]) > 1e-12 {
				t.Fatalf("trans %v: c[%d] = %v, want %v", tr, i, c[i], want[i])
			}
		}
	}
}

func TestGemmZeroKScales(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Gemm[float32](false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	for _, v := range c {
		if v != 0 {
			t.Fatalf("beta 0 with k 0 must clear C, got %v", c)
		}
	}
}

func TestParallelVisitsEachIndexOnce(t *testing.T) {
	seen := make([]int32, 1000)
	Parallel(len(seen), 10, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			seen[i]++
		}
	})
	for i, v := range seen {
		if v != 1 {
			t.Fatalf("index %d visited %d times", i, v)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.Float64()*2 - 1
	}
	return s
}

// SgemmGFLOPS times square float32 products of side n and returns GFLOPS.
func SgemmGFLOPS(n, reps int) float64 {
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm up
	start := time.Now()
	for i := 0; i < reps; i++ {
		Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	}
	return 2 * float64(n) * float64(n) * float64(n) * float64(reps) / time.Since(start).Seconds() / 1e9
}

func benchmarkSgemm(b *testing.B, n int) {
	b.ReportAllocs()
	x := make([]float32, n*n)
	y := make([]float32, n*n)
	z := make([]float32, n*n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

func BenchmarkSgemm512(b *testing.B)  { benchmarkSgemm(b, 512) }
func BenchmarkSgemm1024(b *testing.B) { benchmarkSgemm(b, 1024) }
