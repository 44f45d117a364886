package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestGroupNormHandValues(t *testing.T) {
	// N=1, HW=2, C=4, groups=2. Pixel rows [1 2 3 4] and [5 6 7 8]:
	// group 0 holds {1,2,5,6} (mean 3.5), group 1 {3,4,7,8} (mean 5.5);
	// both have deviations ±1.5, ±2.5, variance 17/4, rstd 1/√4.25.
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	gamma := []float64{1, 2, 1, 1}
	beta := []float64{0, 0, 1, 0}
	const r = 0.48507125007266594 // 1/√4.25
	a, b := 2.5*r, 1.5*r
	want := []float64{-a, -2 * b, -a + 1, -b, b, 2 * a, b + 1, a}
	y, mean, rstd := gcNaN(8), gcNaN(2), gcNaN(2)
	GroupNorm(1, 2, 4, 2, 0, x, gamma, beta, y, mean, rstd)
	gcClose(t, "y", y, want, 1e-15, 1e-14)
	gcClose(t, "mean", mean, []float64{3.5, 5.5}, 0, 1e-15)
	gcClose(t, "rstd", rstd, []float64{r, r}, 0, 1e-15)

	y32, m32, r32 := make([]float32, 8), make([]float32, 2), make([]float32, 2)
	GroupNorm(1, 2, 4, 2, 0, gcTo32(x), gcTo32(gamma), gcTo32(beta), y32, m32, r32)
	gcClose(t, "y32", y32, want, 1e-7, 1e-7)
}

func TestLayerNormHandValues(t *testing.T) {
	// [1 2 3]: mean 2, variance 2/3, x̂ = [−√1.5, 0, √1.5].
	const s = 1.224744871391589 // √1.5
	for _, tc := range []struct {
		gamma, beta, want []float64
	}{
		{[]float64{1, 1, 1}, []float64{0, 0, 0}, []float64{-s, 0, s}},
		{[]float64{1, -1, 2}, []float64{0.5, 0.5, 0.5}, []float64{0.5 - s, 0.5, 0.5 + 2*s}},
	} {
		y, mean, rstd := gcNaN(3), gcNaN(1), gcNaN(1)
		LayerNorm(1, 3, 0, []float64{1, 2, 3}, tc.gamma, tc.beta, y, mean, rstd)
		gcClose(t, "y", y, tc.want, 1e-15, 1e-14)
		gcClose(t, "mean", mean, []float64{2}, 0, 0)
		gcClose(t, "rstd", rstd, []float64{s}, 0, 1e-15)
		y32, m32, r32 := make([]float32, 3), make([]float32, 1), make([]float32, 1)
		LayerNorm(1, 3, 0, []float32{1, 2, 3}, gcTo32(tc.gamma), gcTo32(tc.beta), y32, m32, r32)
		gcClose(t, "y32", y32, tc.want, 1e-7, 1e-7)
	}
	// eps enters under the square root: var + eps.
	y, mean, rstd := make([]float64, 3), make([]float64, 1), make([]float64, 1)
	LayerNorm(1, 3, 1.0/3, []float64{1, 2, 3}, []float64{1, 1, 1}, []float64{0, 0, 0}, y, mean, rstd)
	gcClose(t, "y(eps=1/3)", y, []float64{-1, 0, 1}, 1e-15, 1e-15)
}

// refGroupNorm is a direct float64 two-pass GroupNorm, the reference.
func refGroupNorm(n, hw, c, groups int, eps float64, x, gamma, beta []float64) (y, mean, rstd []float64) {
	cpg := c / groups
	y, mean, rstd = make([]float64, len(x)), make([]float64, n*groups), make([]float64, n*groups)
	for ni := range n {
		for g := range groups {
			var s float64
			for p := range hw {
				for j := g * cpg; j < (g+1)*cpg; j++ {
					s += x[(ni*hw+p)*c+j]
				}
			}
			m := s / float64(hw*cpg)
			var q float64
			for p := range hw {
				for j := g * cpg; j < (g+1)*cpg; j++ {
					d := x[(ni*hw+p)*c+j] - m
					q += d * d
				}
			}
			r := 1 / math.Sqrt(q/float64(hw*cpg)+eps)
			mean[ni*groups+g], rstd[ni*groups+g] = m, r
			for p := range hw {
				for j := g * cpg; j < (g+1)*cpg; j++ {
					i := (ni*hw+p)*c + j
					y[i] = (x[i]-m)*r*gamma[j] + beta[j]
				}
			}
		}
	}
	return y, mean, rstd
}

// refGroupNormBackward is the textbook GroupNorm gradient in float64.
func refGroupNormBackward(n, hw, c, groups int, x, gamma, mean, rstd, dy []float64) (dx, dgamma, dbeta []float64) {
	cpg := c / groups
	cnt := float64(hw * cpg)
	dx, dgamma, dbeta = make([]float64, len(x)), make([]float64, c), make([]float64, c)
	for ni := range n {
		for g := range groups {
			m, r := mean[ni*groups+g], rstd[ni*groups+g]
			var s1, s2 float64
			for p := range hw {
				for j := g * cpg; j < (g+1)*cpg; j++ {
					i := (ni*hw+p)*c + j
					xh := (x[i] - m) * r
					s1 += gamma[j] * dy[i]
					s2 += gamma[j] * dy[i] * xh
					dgamma[j] += dy[i] * xh
					dbeta[j] += dy[i]
				}
			}
			for p := range hw {
				for j := g * cpg; j < (g+1)*cpg; j++ {
					i := (ni*hw+p)*c + j
					xh := (x[i] - m) * r
					dx[i] = r * (gamma[j]*dy[i] - s1/cnt - xh*s2/cnt)
				}
			}
		}
	}
	return dx, dgamma, dbeta
}

// TestGroupNormExactLargeOffset: 8192 values per group at 1000 + noise of
// 1e-2 defeat a float32 or one-pass (E[x²]−E[x]²) computation; the kernel
// must match a float64 two-pass reference to 1e-6 relative, in float32.
func TestGroupNormExactLargeOffset(t *testing.T) {
	const n, hw, c, groups = 2, 1024, 16, 2 // C/groups = 8 → 8192 values per group
	noise := gcRand(7, n*hw*c)
	x32 := make([]float32, len(noise))
	for i, v := range noise {
		x32[i] = float32(1000 + 0.01*v + 0.003*float64(i%5)) // group-varying offset too
	}
	x := gcTo64(x32) // the exact values the kernel sees
	gamma, beta := gcRand(8, c), gcRand(9, c)
	const eps = 1e-6
	y, mean, rstd := refGroupNorm(n, hw, c, groups, float64(float32(eps)), x, gamma, beta)
	y32, m32, r32 := make([]float32, len(x)), make([]float32, n*groups), make([]float32, n*groups)
	GroupNorm(n, hw, c, groups, float32(eps), x32, gcTo32(gamma), gcTo32(beta), y32, m32, r32)
	for i := range mean {
		if e := math.Abs(float64(m32[i])-mean[i]) / mean[i]; e > 1e-6 {
			t.Errorf("mean[%d] = %.9g, want %.9g (rel %.2g)", i, m32[i], mean[i], e)
		}
		if e := math.Abs(float64(r32[i])-rstd[i]) / rstd[i]; e > 1e-6 {
			t.Errorf("rstd[%d] = %.9g, want %.9g (rel %.2g)", i, r32[i], rstd[i], e)
		}
		// The variance implied by rstd, to the same tolerance.
		v32 := 1/(float64(r32[i])*float64(r32[i])) - float64(float32(eps))
		v := 1/(rstd[i]*rstd[i]) - float64(float32(eps))
		if e := math.Abs(v32-v) / v; e > 3e-6 {
			t.Errorf("variance[%d] = %.9g, want %.9g (rel %.2g)", i, v32, v, e)
		}
	}
	if e := gcMaxRel(y32, y); e > 1e-6 {
		t.Errorf("y: max error relative to max |y| = %.2g", e)
	}

	// The float32 backward keeps its precision on the same data: compare
	// with the float64 reference gradient.
	dy := gcRand(10, len(x))
	dx, dgamma, dbeta := refGroupNormBackward(n, hw, c, groups, x, gamma, mean, rstd, dy)
	dx32, dg32, db32 := make([]float32, len(x)), make([]float32, c), make([]float32, c)
	GroupNormBackward(n, hw, c, groups, x32, gcTo32(gamma), m32, r32, gcTo32(dy), dx32, dg32, db32)
	// dy and gamma are rounded to float32 too; dx's own size is ~rstd·|dy|.
	if e := gcMaxRel(dx32, dx); e > 1e-5 {
		t.Errorf("dx: max error relative to max |dx| = %.2g", e)
	}
	if e := gcMaxRel(dg32, dgamma); e > 1e-5 {
		t.Errorf("dgamma: max error relative to max |dgamma| = %.2g", e)
	}
	if e := gcMaxRel(db32, dbeta); e > 1e-5 {
		t.Errorf("dbeta: max error relative to max |dbeta| = %.2g", e)
	}
}

// TestGroupNormMatchesReference covers chunking: several workers splitting
// (sample, group) pairs mid-sample, chunks of many narrow groups, and a
// group wider than normChanBlock.
func TestGroupNormMatchesReference(t *testing.T) {
	for _, s := range [][4]int{
		{3, 1024, 96, 32}, // 96 pairs split over workers mid-sample
		{2, 3, 512, 1},    // one group of 512 channels (heap scratch)
		{1, 5, 512, 256},  // 256 groups of 2: two chunks of 128 groups
		{2, 7, 12, 12},    // one channel per group
		{2, 6, 600, 2},    // groups of 300 channels
	} {
		n, hw, c, groups := s[0], s[1], s[2], s[3]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			x := gcRand(1, n*hw*c)
			for i := range x {
				x[i] = 3*x[i] + float64(i%c)*0.1
			}
			gamma, beta, dy := gcRand(2, c), gcRand(3, c), gcRand(4, len(x))
			y, mean, rstd := refGroupNorm(n, hw, c, groups, 1e-5, x, gamma, beta)
			dx, dgamma, dbeta := refGroupNormBackward(n, hw, c, groups, x, gamma, mean, rstd, dy)

			gy, gm, gr := gcNaN(len(x)), gcNaN(n*groups), gcNaN(n*groups)
			GroupNorm(n, hw, c, groups, 1e-5, x, gamma, beta, gy, gm, gr)
			gdx, gdg, gdb := gcNaN(len(x)), gcNaN(c), gcNaN(c)
			GroupNormBackward(n, hw, c, groups, x, gamma, gm, gr, dy, gdx, gdg, gdb)
			for _, cmp := range []struct {
				name      string
				got, want []float64
			}{{"y", gy, y}, {"mean", gm, mean}, {"rstd", gr, rstd}, {"dx", gdx, dx}, {"dgamma", gdg, dgamma}, {"dbeta", gdb, dbeta}} {
				if e := gcMaxRel(cmp.got, cmp.want); !(e < 1e-12) {
					t.Errorf("float64 %s: relative error %.2g", cmp.name, e)
				}
			}

			y32, m32, r32 := make([]float32, len(x)), make([]float32, n*groups), make([]float32, n*groups)
			GroupNorm(n, hw, c, groups, 1e-5, gcTo32(x), gcTo32(gamma), gcTo32(beta), y32, m32, r32)
			dx32, dg32, db32 := make([]float32, len(x)), make([]float32, c), make([]float32, c)
			GroupNormBackward(n, hw, c, groups, gcTo32(x), gcTo32(gamma), m32, r32, gcTo32(dy), dx32, dg32, db32)
			for _, cmp := range []struct {
				name string
				got  []float32
				want []float64
			}{{"y", y32, y}, {"dx", dx32, dx}, {"dgamma", dg32, dgamma}, {"dbeta", db32, dbeta}} {
				if e := gcMaxRel(cmp.got, cmp.want); !(e < 2e-6) {
					t.Errorf("float32 %s: relative error %.2g", cmp.name, e)
				}
			}
		})
	}
}

func TestNormWorkersAgree(t *testing.T) {
	// The split over workers must not change a single bit.
	const n, hw, c, groups = 3, 512, 64, 32
	x, gamma, beta, dy := gcTo32(gcRand(1, n*hw*c)), gcTo32(gcRand(2, c)), gcTo32(gcRand(3, c)), gcTo32(gcRand(4, n*hw*c))
	run := func() []float32 {
		y, m, r := make([]float32, len(x)), make([]float32, n*groups), make([]float32, n*groups)
		GroupNorm(n, hw, c, groups, 1e-5, x, gamma, beta, y, m, r)
		dx, dg, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
		GroupNormBackward(n, hw, c, groups, x, gamma, m, r, dy, dx, dg, db)
		out := append(append(append(append(y, m...), dx...), dg...), db...)
		ly, lm, lr := make([]float32, len(x)), make([]float32, n*hw), make([]float32, n*hw)
		LayerNorm(n*hw, c, 1e-5, x, gamma, beta, ly, lm, lr)
		LayerNormBackward(n*hw, c, x, gamma, lm, lr, dy, dx, dg, db)
		return append(append(append(append(out, ly...), lr...), dx...), dg...)
	}
	prev := runtime.GOMAXPROCS(1)
	one := run()
	runtime.GOMAXPROCS(max(prev, 3))
	many := run()
	runtime.GOMAXPROCS(prev)
	for i := range one {
		if one[i] != many[i] {
			t.Fatalf("value %d differs between 1 and %d workers: %v vs %v", i, max(prev, 3), one[i], many[i])
		}
	}
}

func TestGroupNormGradients(t *testing.T) {
	for _, s := range [][4]int{{2, 5, 6, 3}, {1, 7, 4, 1}, {3, 4, 8, 8}} {
		n, hw, c, groups := s[0], s[1], s[2], s[3]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			x := gcRand(11, n*hw*c)
			gamma, beta := gcRand(12, c), gcRand(13, c)
			for i := range x {
				x[i] += 0.5 * float64(i%3) // give groups distinct means
			}
			r := gcRand(14, len(x))
			y, mean, rstd := make([]float64, len(x)), make([]float64, n*groups), make([]float64, n*groups)
			loss := func() float64 {
				GroupNorm(n, hw, c, groups, 1e-5, x, gamma, beta, y, mean, rstd)
				return gcDot(y, r)
			}
			loss()
			dx, dgamma, dbeta := gcNaN(len(x)), gcNaN(c), gcNaN(c)
			GroupNormBackward(n, hw, c, groups, x, gamma, mean, rstd, r, dx, dgamma, dbeta)
			checkGrad(t, "GroupNorm dx", x, loss, dx)
			checkGrad(t, "GroupNorm dgamma", gamma, loss, dgamma)
			checkGrad(t, "GroupNorm dbeta", beta, loss, dbeta)
		})
	}
}

func TestLayerNormGradients(t *testing.T) {
	const rows, c = 5, 7
	x := gcRand(21, rows*c)
	for i := range x {
		x[i] += float64(i / c) // distinct row means
	}
	gamma, beta, r := gcRand(22, c), gcRand(23, c), gcRand(24, rows*c)
	y, mean, rstd := make([]float64, rows*c), make([]float64, rows), make([]float64, rows)
	loss := func() float64 {
		LayerNorm(rows, c, 1e-5, x, gamma, beta, y, mean, rstd)
		return gcDot(y, r)
	}
	loss()
	dx, dgamma, dbeta := gcNaN(rows*c), gcNaN(c), gcNaN(c)
	LayerNormBackward(rows, c, x, gamma, mean, rstd, r, dx, dgamma, dbeta)
	checkGrad(t, "LayerNorm dx", x, loss, dx)
	checkGrad(t, "LayerNorm dgamma", gamma, loss, dgamma)
	checkGrad(t, "LayerNorm dbeta", beta, loss, dbeta)
}

func TestLayerNormLargeFloat32(t *testing.T) {
	// Many rows (several workers and row blocks) in float32 against the
	// float64 kernel, which the gradient check validates, on the same
	// float32-rounded inputs; the second data set has a mean 1e5 times its
	// spread, which only a float64, mean-corrected computation survives.
	const rows, c = 300, 600
	for _, d := range []struct{ scale, offset float64 }{{5, 100}, {0.01, 1000}} {
		x := gcRand(31, rows*c)
		for i := range x {
			x[i] = float64(float32(d.scale*x[i] + d.offset))
		}
		gamma, beta := gcTo64(gcTo32(gcRand(32, c))), gcTo64(gcTo32(gcRand(33, c)))
		dy := gcTo64(gcTo32(gcRand(34, rows*c)))
		y, mean, rstd := make([]float64, rows*c), make([]float64, rows), make([]float64, rows)
		LayerNorm(rows, c, 1e-5, x, gamma, beta, y, mean, rstd)
		dx, dg, db := make([]float64, rows*c), make([]float64, c), make([]float64, c)
		LayerNormBackward(rows, c, x, gamma, mean, rstd, dy, dx, dg, db)

		x32 := gcTo32(x)
		y32, m32, r32 := make([]float32, rows*c), make([]float32, rows), make([]float32, rows)
		LayerNorm(rows, c, 1e-5, x32, gcTo32(gamma), gcTo32(beta), y32, m32, r32)
		dx32, dg32, db32 := make([]float32, rows*c), make([]float32, c), make([]float32, c)
		LayerNormBackward(rows, c, x32, gcTo32(gamma), m32, r32, gcTo32(dy), dx32, dg32, db32)
		for _, cmp := range []struct {
			name string
			got  []float32
			want []float64
		}{{"y", y32, y}, {"dx", dx32, dx}, {"dgamma", dg32, dg}, {"dbeta", db32, db}} {
			if e := gcMaxRel(cmp.got, cmp.want); !(e < 2e-6) {
				t.Errorf("x = %g·u + %g: float32 %s: relative error %.2g", d.scale, d.offset, cmp.name, e)
			}
		}
	}
}

func TestNormPanicsOnBadShape(t *testing.T) {
	for name, f := range map[string]func(){
		"groups not dividing c": func() {
			GroupNorm(1, 1, 6, 4, 1e-5, make([]float32, 6), make([]float32, 6), make([]float32, 6), make([]float32, 6), make([]float32, 4), make([]float32, 4))
		},
		"short y": func() {
			LayerNorm(2, 3, 1e-5, make([]float32, 6), make([]float32, 3), make([]float32, 3), make([]float32, 5), make([]float32, 2), make([]float32, 2))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkGroupNorm(b *testing.B) {
	const n, hw, c, groups = 32, 1024, 64, 32
	r := rand.New(rand.NewPCG(1, 2))
	x, dy := make([]float32, n*hw*c), make([]float32, n*hw*c)
	for i := range x {
		x[i], dy[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	gamma, beta := make([]float32, c), make([]float32, c)
	for i := range gamma {
		gamma[i], beta[i] = 1+0.1*float32(r.NormFloat64()), 0.1*float32(r.NormFloat64())
	}
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	mean, rstd := make([]float32, n*groups), make([]float32, n*groups)
	dg, db := make([]float32, c), make([]float32, c)
	fwd := func() { GroupNorm(n, hw, c, groups, 1e-5, x, gamma, beta, y, mean, rstd) }
	bwd := func() { GroupNormBackward(n, hw, c, groups, x, gamma, mean, rstd, dy, dx, dg, db) }
	for _, bc := range []struct {
		name string
		f    func()
	}{{"fwd", fwd}, {"bwd", bwd}, {"fwd+bwd", func() { fwd(); bwd() }}} {
		b.Run(bc.name, func(b *testing.B) {
			fwd()
			b.ReportAllocs()
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				bc.f()
			}
		})
	}
}

func BenchmarkLayerNorm(b *testing.B) {
	const rows, c = 32 * 77, 512
	x, dy := gcTo32(gcRand(1, rows*c)), gcTo32(gcRand(2, rows*c))
	gamma, beta := gcTo32(gcRand(3, c)), gcTo32(gcRand(4, c))
	y, dx := make([]float32, rows*c), make([]float32, rows*c)
	mean, rstd, dg, db := make([]float32, rows), make([]float32, rows), make([]float32, c), make([]float32, c)
	b.ReportAllocs()
	for b.Loop() {
		LayerNorm(rows, c, 1e-5, x, gamma, beta, y, mean, rstd)
		LayerNormBackward(rows, c, x, gamma, mean, rstd, dy, dx, dg, db)
	}
}
