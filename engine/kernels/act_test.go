package kernels

import (
	"math"
	"strings"
	"testing"
)

func TestSiLUHandValues(t *testing.T) {
	x := []float64{0, 1, -1, 30, -30, 1000, -1000}
	want := []float64{0, 0.7310585786300049, -0.2689414213699951, 29.999999999997197, -2.8072868906517896e-12, 1000, 0}
	y := gcNaN(len(x))
	SiLU(x, y)
	gcClose(t, "SiLU", y, want, 1e-300, 1e-15)
	y32 := make([]float32, len(x))
	SiLU(gcTo32(x), y32)
	gcClose(t, "SiLU32", y32, want, 1e-30, 1e-7)
}

func TestGELUHandValues(t *testing.T) {
	x := []float64{0, 1, -1, 3, -10, 40, -40}
	want := []float64{0, 0.8413447460685429, -0.15865525393145707, 2.99595030590511, -7.619853024160593e-23, 40, 0}
	y := gcNaN(len(x))
	GELU(x, y)
	gcClose(t, "GELU", y, want, 1e-300, 1e-13)
	y32 := make([]float32, len(x))
	GELU(gcTo32(x), y32)
	gcClose(t, "GELU32", y32, want, 1e-37, 1e-7)
}

// activations are the elementwise activations in both precisions, with
// their backward passes.
var activations = []struct {
	name string
	f64  func(x, y []float64)
	f32  func(x, y []float32)
	b64  func(x, dy, dx []float64)
	b32  func(x, dy, dx []float32)
}{
	{"SiLU", SiLU[float64], SiLU[float32], SiLUBackward[float64], SiLUBackward[float32]},
	{"GELU", GELU[float64], GELU[float32], GELUBackward[float64], GELUBackward[float32]},
}

func TestActFloat32MatchesFloat64(t *testing.T) {
	// The float32 path uses expFast; it must stay within float32 rounding.
	x := make([]float64, 20001)
	for i := range x {
		x[i] = float64(float32(-20 + 40*float64(i)/float64(len(x)-1)))
	}
	dy := gcRand(5, len(x))
	for _, k := range activations {
		y, y32 := make([]float64, len(x)), make([]float32, len(x))
		k.f64(x, y)
		k.f32(gcTo32(x), y32)
		dx, dx32 := make([]float64, len(x)), make([]float32, len(x))
		k.b64(x, gcTo64(gcTo32(dy)), dx)
		k.b32(gcTo32(x), gcTo32(dy), dx32)
		for i := range x {
			if e := math.Abs(float64(y32[i]) - y[i]); e > 1.5e-7*math.Abs(y[i])+1e-37 {
				t.Fatalf("%s32(%g) = %g, float64 gives %g", k.name, x[i], y32[i], y[i])
			}
			// Near the zeros of the derivative only an absolute bound
			// relative to dy makes sense.
			if e := math.Abs(float64(dx32[i]) - dx[i]); e > 2e-7*math.Abs(dx[i])+2e-9*math.Abs(dy[i])+1e-37 {
				t.Fatalf("%sBackward32(%g) = %g, float64 gives %g", k.name, x[i], dx32[i], dx[i])
			}
		}
	}
}

func TestExpFast(t *testing.T) {
	var worst float64
	for x := -103.0; x < 88.7; x += 0.000731 {
		got, want := expFast(x), math.Exp(x)
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 4e-11 {
		t.Errorf("expFast relative error %.2g", worst)
	}
	if v := expFast(-1e9); v != 0 && float32(v) != 0 {
		t.Errorf("expFast(-1e9) = %g, want 0 in float32", v)
	}
	if v := float32(expFast(1e9)); !math.IsInf(float64(v), 1) {
		t.Errorf("float32(expFast(1e9)) = %g, want +Inf", v)
	}
	if v := expFast(math.NaN()); !math.IsNaN(v) {
		t.Errorf("expFast(NaN) = %g", v)
	}
	if v := expFast(0); v != 1 {
		t.Errorf("expFast(0) = %g, want 1", v)
	}
}

func TestErfcFast(t *testing.T) {
	var worst float64
	for z := 0.0; z < 26; z += 0.000917 {
		got, want := erfcFast(z), math.Erfc(z)
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 2e-9 {
		t.Errorf("erfcFast relative error %.2g", worst)
	}
	if v := erfcFast(1e300); v != 0 {
		t.Errorf("erfcFast(1e300) = %g, want 0", v)
	}
}

func TestActivationGradients(t *testing.T) {
	x := gcRand(41, 40)
	for i := range x {
		x[i] *= 4
	}
	r := gcRand(42, len(x))
	y := make([]float64, len(x))
	for _, k := range []struct {
		name string
		fwd  func(x, y []float64)
		bwd  func(x, dy, dx []float64)
	}{
		{"SiLU", SiLU[float64], SiLUBackward[float64]},
		{"GELU", GELU[float64], GELUBackward[float64]},
	} {
		loss := func() float64 { k.fwd(x, y); return gcDot(y, r) }
		dx := gcNaN(len(x))
		k.bwd(x, r, dx)
		checkGrad(t, k.name, x, loss, dx)
	}
}

func benchmarkAct(b *testing.B, f func(x, y []float32)) {
	x := gcTo32(gcRand(1, 1<<21))
	for i := range x {
		x[i] *= 4
	}
	y := make([]float32, len(x))
	b.ReportAllocs()
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		f(x, y)
	}
}

func BenchmarkSiLU(b *testing.B) { benchmarkAct(b, SiLU[float32]) }
func BenchmarkGELU(b *testing.B) { benchmarkAct(b, GELU[float32]) }

// TestNumericKernelsSteadyStateAllocs: with warm workspaces, none of the
// normalisation, activation, softmax, attention and embedding kernels
// allocates (AllocsPerRun runs at GOMAXPROCS=1; with worker goroutines
// only Parallel's own bookkeeping allocates).
func TestNumericKernelsSteadyStateAllocs(t *testing.T) {
	if !strings.HasPrefix(BLAS(), "OpenBLAS") {
		t.Skipf("%s allocates inside Gemm", BLAS())
	}
	const n, hw, c, groups = 2, 64, 32, 8
	x, dy := gcTo32(gcRand(1, n*hw*c)), gcTo32(gcRand(2, n*hw*c))
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	gamma, beta, dg, db := gcTo32(gcRand(3, c)), gcTo32(gcRand(4, c)), make([]float32, c), make([]float32, c)
	mean, rstd := make([]float32, n*hw), make([]float32, n*hw)
	s := AttnShape{B: 2, Lq: 16, Lk: 8, Heads: 2, Dh: 16}
	q, k, v := x[:s.B*s.Lq*s.Width()], x[:s.B*s.Lk*s.Width()], dy[:s.B*s.Lk*s.Width()]
	probs, out := make([]float32, s.ProbsLen()), make([]float32, len(q))
	dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
	var ws AttnWorkspace[float32]
	keyLen := []int{8, 5}
	ids := []int{3, 1, 3, 0}
	table, dtable := x[:8*c], make([]float32, 8*c)
	ts := []float64{1, 500}
	for name, f := range map[string]func(){
		"GroupNorm": func() {
			GroupNorm(n, hw, c, groups, 1e-5, x, gamma, beta, y, mean, rstd)
			GroupNormBackward(n, hw, c, groups, x, gamma, mean, rstd, dy, dx, dg, db)
		},
		"LayerNorm": func() {
			LayerNorm(n*hw, c, 1e-5, x, gamma, beta, y, mean, rstd)
			LayerNormBackward(n*hw, c, x, gamma, mean, rstd, dy, dx, dg, db)
		},
		"SiLU":    func() { SiLU(x, y); SiLUBackward(x, dy, dx) },
		"GELU":    func() { GELU(x, y); GELUBackward(x, dy, dx) },
		"Softmax": func() { Softmax(n*hw, c, x, y, SoftmaxMask{Causal: true}); SoftmaxBackward(n*hw, c, y, dy, dx) },
		"Attention": func() {
			Attention(s, q, k, v, keyLen, probs, out)
			AttentionBackward(s, q, k, v, probs, dy[:len(q)], dq, dk, dv, &ws)
		},
		"Embedding": func() {
			Embedding(c, table, ids, y)
			EmbeddingBackward(8, c, ids, dy, dtable)
			TimestepEmbedding(ts, c, y)
		},
	} {
		f()
		if a := testing.AllocsPerRun(5, f); a != 0 {
			t.Errorf("%s: %v allocations per call after warm-up, want 0", name, a)
		}
	}
}

// TestActNonFinite: NaN and ±∞ do not crash the float32 kernels (the
// vectorised GELU indexes a table by |x|): NaN gives NaN, ±∞ gives ±∞ or
// NaN (the float64 kernels give NaN for some of these too), never a
// made-up finite value; far out and around the table's end (a = 8 −
// 1/128, where the asymptotic series takes over) values match float64.
func TestActNonFinite(t *testing.T) {
	inf := math.Inf(1)
	x := []float64{math.NaN(), inf, -inf, -40, 40, -8, -8 + 1.0/128, -8 + 1.0/256, 8 - 1.0/256}
	for _, k := range activations {
		y, y32 := make([]float64, len(x)), make([]float32, len(x))
		k.f64(x, y)
		k.f32(gcTo32(x), y32)
		ones := make([]float64, len(x))
		for i := range ones {
			ones[i] = 1
		}
		dx, dx32 := make([]float64, len(x)), make([]float32, len(x))
		k.b64(x, ones, dx)
		k.b32(gcTo32(x), gcTo32(ones), dx32)
		for i, v := range x {
			for _, p := range []struct {
				what      string
				got, want float64
			}{{"", float64(y32[i]), y[i]}, {"Backward", float64(dx32[i]), dx[i]}} {
				bad := false
				switch {
				case math.IsNaN(v):
					bad = !math.IsNaN(p.got)
				case math.IsInf(v, 0):
					bad = !math.IsNaN(p.got) && !math.IsInf(p.got, 0) && p.got != 0 && p.got != 1
				default:
					bad = math.Abs(p.got-p.want) > 2e-7*math.Abs(p.want)+1e-37
				}
				if bad {
					t.Errorf("%s%s32(%g) = %g, float64 gives %g", k.name, p.what, v, p.got, p.want)
				}
			}
		}
	}
}
