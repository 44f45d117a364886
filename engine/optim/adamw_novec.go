//go:build purego || !amd64

package optim

func adamwUpdate(val, grad, m, v []float32, b1, b2, decay, stepSize, sqrtBC2, eps float64) {
	adamwUpdateGo(val, grad, m, v, b1, b2, decay, stepSize, sqrtBC2, eps)
}
