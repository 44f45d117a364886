package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCInvBasisIsOrthonormalAndSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const D = 6
	// C⁻¹ = AᵀA + I is symmetric positive definite.
	a := make([]float64, D*D)
	for i := range a {
		a[i] = r.NormFloat64()
	}
	cinv := make([]float64, D*D)
	for i := 0; i < D; i++ {
		for j := 0; j < D; j++ {
			for k := 0; k < D; k++ {
				cinv[i*D+j] += a[k*D+i] * a[k*D+j]
			}
			if i == j {
				cinv[i*D+j]++
			}
		}
	}
	vs := make([][]float64, 3)
	for i := range vs {
		vs[i] = make([]float64, D)
		for j := range vs[i] {
			vs[i][j] = r.NormFloat64()
		}
	}
	vs = append(vs, append([]float64(nil), vs[0]...)) // a repeat adds nothing
	basis := cinvBasis(cinv, vs)
	if len(basis) != 3 {
		t.Fatalf("basis of %d vectors, want 3", len(basis))
	}
	for i := range basis {
		for j := range basis {
			want := 0.0
			if i == j {
				want = 1
			}
			if got := cinvDot(cinv, basis[i], basis[j]); math.Abs(got-want) > 1e-9 {
				t.Fatalf("<q%d,q%d> = %v", i, j, got)
			}
		}
	}
	for _, v := range vs { // projecting a spanned vector gives it back
		p := make([]float64, D)
		for _, q := range basis {
			c := cinvDot(cinv, v, q)
			for k := range p {
				p[k] += c * q[k]
			}
		}
		for k := range p {
			if math.Abs(p[k]-v[k]) > 1e-9 {
				t.Fatalf("projection of a spanned vector differs: %v vs %v", p, v)
			}
		}
	}
}

// TestExactPerfusionMatchesCheapForOneConcept: with a single concept the
// exact multi-concept form is the same edit.
func TestExactPerfusionMatchesCheapForOneConcept(t *testing.T) {
	b := tinyBase(t)
	c, err := b.TrainConcept(context.Background(), TrainOptions{Method: Perfusion, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 5, Batch: 2, LR: 1e-2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen := func(exact bool) []uint8 {
		imgs, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a teddy* on a blue background", N: 1, Seed: 3, Steps: 4, Guidance: 3, ExactPerfusion: exact}, []ConceptUse{{Concept: c}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	cheap, exact := gen(false), gen(true)
	worst := 0
	for i := range cheap {
		d := int(cheap[i]) - int(exact[i])
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
	}
	if worst > 1 {
		t.Fatalf("exact and cheap forms differ by %d levels for one concept", worst)
	}
}

// TestExactPerfusionDiffersForTwoConcepts: two concepts with nearly the
// same i* are subtracted twice by the sum form, once by the exact form.
func TestExactPerfusionDiffersForTwoConcepts(t *testing.T) {
	b := tinyBase(t)
	var uses []ConceptUse
	for _, name := range []string{"teddy", "bear2"} {
		c, err := b.TrainConcept(context.Background(), TrainOptions{Method: Perfusion, Name: name, Class: "teddy bear", Data: newFixedData(b, name), Steps: 3, Batch: 2, LR: 1e-2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		uses = append(uses, ConceptUse{Concept: c})
	}
	gen := func(exact bool) []uint8 {
		imgs, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a teddy* on the left of a bear2*", N: 1, Seed: 3, Steps: 4, Guidance: 3, ExactPerfusion: exact}, uses, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	cheap, exact := gen(false), gen(true)
	same := true
	for i := range cheap {
		same = same && cheap[i] == exact[i]
	}
	if same {
		t.Fatal("the exact form changed nothing for two overlapping concepts")
	}
}

// TestGlobalLocking: keys from the class-word prompt change a Perfusion
// concept's image, and change nothing when no Perfusion concept is used
// (the second text pass then reads the same prompt).
func TestGlobalLocking(t *testing.T) {
	b := tinyBase(t)
	perf, err := b.TrainConcept(context.Background(), TrainOptions{Method: Perfusion, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 3, Batch: 2, LR: 1e-2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ti := &Concept{Name: "cup2", Class: "cup", Method: TI, BaseID: b.ID(), Tensors: map[string]Tensor{"emb": perf.Tensors["emb"]}}
	gen := func(c *Concept, prompt string, global bool) []uint8 {
		imgs, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: prompt, N: 1, Seed: 3, Steps: 4, Guidance: 3, GlobalLocking: global}, []ConceptUse{{Concept: c}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	equal := func(a, b []uint8) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if equal(gen(perf, "a teddy* on a red background", false), gen(perf, "a teddy* on a red background", true)) {
		t.Error("global locking changed nothing for a Perfusion concept")
	}
	if !equal(gen(ti, "a cup2* on a red background", false), gen(ti, "a cup2* on a red background", true)) {
		t.Error("global locking changed a prompt without Perfusion concepts")
	}
}
