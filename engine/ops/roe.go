package ops

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// RankOneEdit is one concept's key-locked rank-one edit of a projection
// (Perfusion, Tewel et al. 2023), for use in RankOneEdits.
//
// For a token encoding e, with u = C⁻¹i* / (i*ᵀC⁻¹i*):
//
//	sim(e) = eᵀu
//	h(e)   = W(e − sim(e)·i*) + σ((sim(e) − β)/τ)·o*
//
// U is u [D], IW is W·i* [C] (W frozen, so precomputed), and the target
// output o* [C] is a graph node (learnable for values, constant for
// keys). Beta and Tau are the gate, read at every run, so a slider can
// move them without rebuilding the graph.
type RankOneEdit struct {
	U, IW     []float64
	Beta, Tau float64
}

// RankOneEdits is h(e) = eW − Σ_c sim_c(e)·(W i*_c) + Σ_c σ((sim_c(e) − β_c)/τ_c)·o*_c
// for x [B, L, D], W [D, C] and one target node [C] per edit (the cheap
// multi-concept form; with one concept it is exactly Perfusion's).
func (b *Builder) RankOneEdits(x, w *Node, edits []*RankOneEdit, targets []*Node) *Node {
	xs, ws := []int(x.Shape()), []int(w.Shape())
	if len(ws) != 2 || xs[len(xs)-1] != ws[0] || len(edits) != len(targets) || len(edits) == 0 {
		panic(fmt.Sprintf("ops: RankOneEdits of %v by %v with %d edits, %d targets", xs, ws, len(edits), len(targets)))
	}
	for i, e := range edits {
		if len(e.U) != ws[0] || len(e.IW) != ws[1] || targets[i].Shape().TotalSize() != ws[1] {
			panic(fmt.Sprintf("ops: RankOneEdits: edit %d does not fit %v", i, ws))
		}
	}
	out := append(append([]int(nil), xs[:len(xs)-1]...), ws[1])
	k := &roeKernel{rows: prod(xs[:len(xs)-1]), d: ws[0], c: ws[1], edits: edits}
	b.flops += 2 * float64(k.rows*k.d*k.c)
	in := append([]*Node{x, w}, targets...)
	return b.apply("RankOneEdits", k, out, in...)
}

type roeKernel struct {
	rows, d, c int
	edits      []*RankOneEdit
	lin        linearKernel
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// sims returns sim_c(e) for every row and edit, [rows][edits] flattened.
func (k *roeKernel) sims(x fview) []float64 {
	s := make([]float64, k.rows*len(k.edits))
	for r := 0; r < k.rows; r++ {
		for j, ed := range k.edits {
			var v float64
			for i, ui := range ed.U {
				v += x.at(r*k.d+i) * ui
			}
			s[r*len(k.edits)+j] = v
		}
	}
	return s
}

func (k *roeKernel) forward(in []gorgonia.Value, out *tensor.Dense) {
	k.lin = linearKernel{rows: k.rows, in: k.d, out: k.c}
	k.lin.forward(in[:2], out) // y = xW
	x, y := floats(in[0]), floats(out)
	s := k.sims(x)
	for j, ed := range k.edits {
		o := floats(in[2+j])
		for r := 0; r < k.rows; r++ {
			sv := s[r*len(k.edits)+j]
			g := sigmoid((sv - ed.Beta) / ed.Tau)
			for i := 0; i < k.c; i++ {
				y.add(r*k.c+i, -sv*ed.IW[i]+g*o.at(i))
			}
		}
	}
}

func (k *roeKernel) backward(in []gorgonia.Value, _, dout gorgonia.Value, g []*tensor.Dense) {
	x, dy := floats(in[0]), floats(dout)
	if g[1] != nil { // dW = xᵀ dy (the edit terms do not depend on W: IW is a constant)
		lg := []*tensor.Dense{nil, g[1]}
		k.lin.backward(in[:2], nil, dout, lg)
	}
	s := k.sims(x)
	ne := len(k.edits)
	for j, ed := range k.edits {
		if g[2+j] == nil {
			continue
		}
		do := make([]float64, k.c)
		for r := 0; r < k.rows; r++ {
			gate := sigmoid((s[r*ne+j] - ed.Beta) / ed.Tau)
			for i := 0; i < k.c; i++ {
				do[i] += gate * dy.at(r*k.c+i)
			}
		}
		setFloats(g[2+j], do)
	}
	if g[0] == nil {
		return
	}
	// dx = dy·Wᵀ + Σ_c ds_c·u_c, ds_c = −dy·IW_c + σ'·(dy·o*_c)/τ_c
	k.lin.backward(in[:2], nil, dout, []*tensor.Dense{g[0], nil})
	dx := floats(g[0])
	for r := 0; r < k.rows; r++ {
		for j, ed := range k.edits {
			o := floats(in[2+j])
			z := (s[r*ne+j] - ed.Beta) / ed.Tau
			sg := sigmoid(z)
			var dIW, dO float64
			for i := 0; i < k.c; i++ {
				d := dy.at(r*k.c + i)
				dIW += d * ed.IW[i]
				dO += d * o.at(i)
			}
			ds := -dIW + sg*(1-sg)/ed.Tau*dO
			for i, ui := range ed.U {
				dx.add(r*k.d+i, ds*ui)
			}
		}
	}
}

// fview reads and writes a float32 or float64 tensor as float64.
type fview struct {
	f32 []float32
	f64 []float64
}

func floats(v gorgonia.Value) fview {
	if isF32(v) {
		return fview{f32: slice[float32](v)}
	}
	return fview{f64: slice[float64](v)}
}

func (f fview) at(i int) float64 {
	if f.f32 != nil {
		return float64(f.f32[i])
	}
	return f.f64[i]
}

func (f fview) add(i int, v float64) {
	if f.f32 != nil {
		f.f32[i] += float32(v)
	} else {
		f.f64[i] += v
	}
}

func setFloats(t *tensor.Dense, v []float64) {
	if isF32(t) {
		d := slice[float32](t)
		for i := range d {
			d[i] = float32(v[i])
		}
		return
	}
	copy(slice[float64](t), v)
}
