//go:build purego

package kernels

// vecActs: the C kernels (act_vec.go) are not in the purego build.
const vecActs = false

func siluVec(x, y []float32)              { siluRange(x, y) }
func siluBackwardVec(x, dy, dx []float32) { siluBackwardRange(x, dy, dx) }
func geluVec(x, y []float32)              { geluRange(x, y) }
func geluBackwardVec(x, dy, dx []float32) { geluBackwardRange(x, dy, dx) }
