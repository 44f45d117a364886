package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/ops"
	"conceptstudio/internal/numgrad"
)

// TestSoftmaxCEValueAndGradient checks the loss against a hand computation
// and its gradient against central finite differences (float64).
func TestSoftmaxCEValueAndGradient(t *testing.T) {
	const n, k = 3, 5
	rng := rand.New(rand.NewPCG(1, 2))
	zv := make([]float64, n*k)
	for i := range zv {
		zv[i] = rng.NormFloat64() * 2
	}
	yv := make([]float64, n*k)
	for r := 0; r < n; r++ {
		for c := 0; c < k; c++ {
			yv[r*k+c] = 0.1 / k
		}
		yv[r*k+rng.IntN(k)] += 0.9
	}
	b := ops.NewBuilder(tensor.Float64)
	zt := tensor.New(tensor.WithShape(n, k), tensor.WithBacking(zv))
	z := b.Param("z", zt, true)
	y := b.Input("y", n, k)
	copy(b.InputValue("y").Data().([]float64), yv)
	loss, err := softmaxCE(b, z, y)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := b.Compile(loss)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	want := func() float64 {
		var s float64
		for r := 0; r < n; r++ {
			var m, e float64 = math.Inf(-1), 0
			for c := 0; c < k; c++ {
				m = math.Max(m, zv[r*k+c])
			}
			for c := 0; c < k; c++ {
				e += math.Exp(zv[r*k+c] - m)
			}
			for c := 0; c < k; c++ {
				s -= yv[r*k+c] * (zv[r*k+c] - m - math.Log(e))
			}
		}
		return s / n
	}
	if got := ops.ScalarValue(loss); math.Abs(got-want()) > 1e-12 {
		t.Fatalf("loss %v, want %v", got, want())
	}
	grad := append([]float64(nil), prog.Grad(b.Params()[0]).Data().([]float64)...)
	const h = 1e-6
	for i := range zv {
		if fd := numgrad.CentralDifference(zv, i, h, want); math.Abs(fd-grad[i]) > 1e-7 {
			t.Errorf("dz[%d] = %v, finite difference %v", i, grad[i], fd)
		}
	}
	// A second run gives the same values (buffers are rewritten, not
	// accumulated).
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	for i, g := range prog.Grad(b.Params()[0]).Data().([]float64) {
		if g != grad[i] {
			t.Fatalf("second run: dz[%d] = %v, first %v", i, g, grad[i])
		}
	}
}
