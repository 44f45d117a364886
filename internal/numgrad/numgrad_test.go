package numgrad

import (
	"math"
	"testing"
)

// TestCentralDifference: exact for a quadratic (the h² error term is zero),
// close for a cube, and x is left as it was.
func TestCentralDifference(t *testing.T) {
	x := []float64{1, 2, 3}
	quad := func() float64 { return x[0]*x[0] + 3*x[1]*x[1] + x[2] }
	if d := CentralDifference(x, 1, 1e-3, quad); math.Abs(d-12) > 1e-9 {
		t.Errorf("d/dx1 of x0² + 3x1² + x2 at x1 = 2: %v, want 12", d)
	}
	cube := func() float64 { return x[2] * x[2] * x[2] }
	if d := CentralDifference(x, 2, 1e-4, cube); math.Abs(d-27) > 1e-6 {
		t.Errorf("d/dx2 of x2³ at 3: %v, want 27", d)
	}
	if x[0] != 1 || x[1] != 2 || x[2] != 3 {
		t.Errorf("x changed: %v", x)
	}
}
