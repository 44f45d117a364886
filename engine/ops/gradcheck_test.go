package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/internal/numgrad"
)

// randParam makes a float64 tensor of the given shape with values in
// [-scale, scale].
func randParam(r *rand.Rand, scale float64, shape ...int) *tensor.Dense {
	d := make([]float64, prod(shape))
	for i := range d {
		d[i] = (r.Float64()*2 - 1) * scale
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// gradCheck builds a float64 graph with build (which binds its own
// parameters through b.Param and returns the output), attaches the test
// loss Σ out⊙r, and compares every learnable parameter's analytic
// gradient with central finite differences at up to maxPerParam sampled
// elements. It returns the largest relative error.
func gradCheck(t *testing.T, seed uint64, build func(b *Builder, r *rand.Rand) *Node) float64 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	b := NewBuilder(tensor.Float64)
	out := build(b, r)
	cost := out
	if !out.IsScalar() {
		rn := b.Input("gradcheck.r", []int(out.Shape())...)
		rv := b.InputValue("gradcheck.r").Data().([]float64)
		for i := range rv {
			rv[i] = r.Float64()*2 - 1
		}
		cost = b.Dot(out, rn)
	}
	prog, err := b.Compile(cost)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	loss := func() float64 {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		return ScalarValue(cost)
	}
	loss()
	analytic := map[*Param][]float64{}
	for _, p := range b.Params() {
		if !p.Learnable {
			continue
		}
		g := prog.Grad(p)
		if g == nil {
			t.Fatalf("no gradient for %s", p.Name)
		}
		analytic[p] = append([]float64(nil), g.Data().([]float64)...)
	}
	const h = 1e-6
	const maxPerParam = 40
	worst := 0.0
	for _, p := range b.Params() {
		if !p.Learnable {
			continue
		}
		x := p.Value.Data().([]float64)
		idx := r.Perm(len(x))
		if len(idx) > maxPerParam {
			idx = idx[:maxPerParam]
		}
		for _, i := range idx {
			num := numgrad.CentralDifference(x, i, h, loss)
			an := analytic[p][i]
			rel := math.Abs(num-an) / math.Max(1e-3, math.Abs(num)+math.Abs(an))
			if rel > worst {
				worst = rel
			}
			if rel > 1e-5 {
				t.Errorf("%s[%d]: analytic %.9g, numeric %.9g (rel %.2g)", p.Name, i, an, num, rel)
			}
		}
	}
	return worst
}
