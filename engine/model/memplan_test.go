package model

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/nn"
)

// TestSharedMemoryGivesIdenticalResults runs the tiny model (training and
// sampling nets, with and without unshuffle) with buffers shared by the
// memory plan and with a buffer per op, twice each so that the second run
// starts from whatever the first left in the slabs, and expects the same
// bits: output, loss, encoding and every gradient. The plan's own checker
// (CONCEPTSTUDIO_MEMCHECK) also verifies that no op reads a buffer after
// another buffer on its slab was written.
func TestSharedMemoryGivesIdenticalResults(t *testing.T) {
	t.Setenv("CONCEPTSTUDIO_MEMCHECK", "1")
	for _, unshuffle := range []bool{false, true} {
		for _, train := range []bool{true, false} {
			c := Tiny()
			c.Unshuffle = unshuffle
			w := nn.NewWeights(tensor.Float32, 1)
			build := func(unshared bool) *Net {
				n, err := Build(w, c, NetOptions{Batch: 2, Train: train, Unshared: unshared})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			shared, plain := build(false), build(true)
			defer shared.Close()
			defer plain.Close()
			randomize32(w, 3)
			for run := 0; run < 2; run++ {
				for _, n := range []*Net{shared, plain} {
					if train {
						tinyInputs(t, n, uint64(4+run))
					} else {
						tinyInputsNoTarget(t, n)
					}
					if err := n.Run(); err != nil {
						t.Fatal(err)
					}
				}
				same := func(what string, a, b []float32) {
					t.Helper()
					if len(a) != len(b) {
						t.Fatalf("unshuffle=%v train=%v run %d: %s has %d vs %d values", unshuffle, train, run, what, len(a), len(b))
					}
					for i := range a {
						if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
							t.Fatalf("unshuffle=%v train=%v run %d: %s[%d] shared %v, unshared %v", unshuffle, train, run, what, i, a[i], b[i])
						}
					}
				}
				same("output", shared.Output(), plain.Output())
				same("encoding", shared.Encoding(), plain.Encoding())
				if !train {
					continue
				}
				if shared.Loss() != plain.Loss() {
					t.Fatalf("loss shared %v, unshared %v", shared.Loss(), plain.Loss())
				}
				ps, pp := shared.Params(), plain.Params()
				for i := range ps {
					gs, gp := shared.Grad(ps[i]), plain.Grad(pp[i])
					if (gs == nil) != (gp == nil) {
						t.Fatalf("%s: gradient present shared %v, unshared %v", ps[i].Name, gs != nil, gp != nil)
					}
					if gs != nil {
						same("grad "+ps[i].Name, gs.Data().([]float32), gp.Data().([]float32))
					}
				}
			}
			m := shared.Memory()
			t.Logf("unshuffle=%v train=%v: %v", unshuffle, train, m)
			if m.Slabs >= m.Buffers || m.PlannedByte >= m.NaiveByte*3/4 {
				t.Errorf("unshuffle=%v train=%v: the plan shares too little: %v", unshuffle, train, m)
			}
		}
	}
}

func randomize32(w *nn.Weights, seed uint64) {
	for _, name := range w.Names() {
		t, _ := w.Lookup(name)
		d := t.Data().([]float32)
		for i := range d {
			// a deterministic spread in [-0.5, 0.5)
			d[i] = float32((float64((uint64(i)*2654435761+seed*97)%1000) / 1000) - 0.5)
		}
	}
}
