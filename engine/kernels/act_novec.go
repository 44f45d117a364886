//go:build purego || !amd64

package kernels

// vecActs: the C kernels (act_vec.go) are not in the purego build.
const vecActs = false

func siluVec(x, y []float32)              { siluRange(x, y) }
func siluBackwardVec(x, dy, dx []float32) { siluBackwardRange(x, dy, dx) }
func geluVec(x, y []float32)              { geluRange(x, y) }
func geluBackwardVec(x, dy, dx []float32) { geluBackwardRange(x, dy, dx) }

// The purego build never takes the C GroupNorm passes (vecActs is false).
func gnSumVec(x []float32, hw, c, c0, nc int, acc []float64)                       {}
func gnSqDevVec(x []float32, hw, c, c0, nc int, mc, acc []float64)                 {}
func gnApplyVec(x, y []float32, hw, c, c0, nc int, mc, a, b []float64)             {}
func gnBwdSumsVec(x, dy []float32, hw, c, c0, nc int, mc, sx, sdy, sdyx []float64) {}
func gnBwdApplyVec(x, dy, dx []float32, hw, c, c0, nc int, mu, a, k2, k1 []float64) {
}

// The purego build never takes the C LayerNorm rows either.
func lnFwdVec(lo, hi, c int, eps float64, x, gamma, beta, y, mean, rstd []float32)     {}
func lnBwdVec(lo, hi, c int, x, gamma, mean, rstd, dy, dx []float32, pg, pb []float64) {}
