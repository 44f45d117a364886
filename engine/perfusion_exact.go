package engine

import (
	"math"

	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
)

// cinvDot is aᵀC⁻¹b.
func cinvDot(cinv, a, b []float64) float64 {
	D := len(a)
	var s float64
	for r := 0; r < D; r++ {
		var v float64
		for q := 0; q < D; q++ {
			v += cinv[r*D+q] * b[q]
		}
		s += a[r] * v
	}
	return s
}

// cinvBasis returns a C⁻¹-orthonormal basis of span{vs} (Gram-Schmidt in
// the inner product aᵀC⁻¹b), dropping vectors already in the span.
func cinvBasis(cinv []float64, vs [][]float64) [][]float64 {
	var basis [][]float64
	for _, v := range vs {
		w := append([]float64(nil), v...)
		for _, q := range basis {
			p := cinvDot(cinv, w, q)
			for i := range w {
				w[i] -= p * q[i]
			}
		}
		n := math.Sqrt(math.Max(cinvDot(cinv, w, w), 0))
		if n < 1e-9*math.Sqrt(cinvDot(cinv, v, v)) || n == 0 {
			continue
		}
		for i := range w {
			w[i] /= n
		}
		basis = append(basis, w)
	}
	return basis
}

// makeExact switches the session's Perfusion edits to the exact
// multi-concept form: the encodings are projected off span{i*_c} once, with
// a C⁻¹-orthonormal basis (instead of subtracting every sim_c(e)·i*_c,
// which counts overlapping concepts twice), while each concept keeps its
// own gate and target:
//
//	h(e) = W(e − Σ_j ⟨e, q_j⟩ q_j) + Σ_c σ((sim_c(e) − β_c)/τ_c)·o*_c
//
// With one concept it equals the cheap form.
func (s *session) makeExact(concepts []*perfusionConcept) error {
	if len(concepts) == 0 {
		return nil
	}
	cinv, err := s.b.CovInverse()
	if err != nil {
		return err
	}
	var istars [][]float64
	for _, pc := range concepts {
		istars = append(istars, pc.iStar)
		for i := range pc.layers { // gates only: the projection is shared
			clear(pc.kEdits[i].IW)
			clear(pc.vEdits[i].IW)
		}
	}
	basis := cinvBasis(cinv, istars)
	D := len(istars[0])
	for _, layer := range concepts[0].layers {
		pl := s.kv[layer].(*perfusionLayer)
		for j, q := range basis {
			u := make([]float64, D)
			for r := 0; r < D; r++ {
				var v float64
				for c := 0; c < D; c++ {
					v += cinv[r*D+c] * q[c]
				}
				u[r] = v
			}
			mk := func(wname string) *ops.RankOneEdit {
				wt, _ := s.w.Lookup(layer + wname)
				C := wt.Shape()[1]
				e := &ops.RankOneEdit{U: u, IW: make([]float64, C), Beta: math.Inf(1), Tau: 1}
				for c := range e.IW {
					e.IW[c] = dotCol(q, wt.Data().([]float32), C, c)
				}
				return e
			}
			name := "proj" + itoa(j)
			pl.kEdits = append(pl.kEdits, mk(".k.w"))
			pl.vEdits = append(pl.vEdits, mk(".v.w"))
			pl.names = append(pl.names, name)
			// Projection edits have no target: zero, never gated in.
			wk, _ := s.w.Lookup(layer + ".k.w")
			C := wk.Shape()[1]
			s.w.Get(layer+"."+perfPrefix+"."+name+".o_k", []int{C}, nn.Zeros)
			s.w.Get(layer+"."+perfPrefix+"."+name+".o_v", []int{C}, nn.Zeros)
		}
	}
	return nil
}

// dotCol is qᵀW[:, c] for W [D, C].
func dotCol(q []float64, w []float32, C, c int) float64 {
	var v float64
	for r := range q {
		v += q[r] * float64(w[r*C+c])
	}
	return v
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
