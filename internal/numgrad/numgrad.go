// Package numgrad holds the central difference that the gradient checks of
// several packages share. It imports nothing, so tests of any package,
// kernels and ops included, can use it. Only tests import it.
package numgrad

// CentralDifference is loss's derivative with respect to x[k] by central
// differences of step h: (loss(x[k]+h) − loss(x[k]−h)) / 2h. x[k] is left
// as it was.
func CentralDifference(x []float64, k int, h float64, loss func() float64) float64 {
	old := x[k]
	x[k] = old + h
	lp := loss()
	x[k] = old - h
	lm := loss()
	x[k] = old
	return (lp - lm) / (2 * h)
}
