package kernels

import (
	"fmt"
	"math"
	"testing"
)

func TestAttentionHandValues(t *testing.T) {
	// One query [1 0], keys [1 0] and [0 1], values [1 2] and [3 4], Dh=2:
	// scores [1/√2, 0], p0 = σ(1/√2).
	s := AttnShape{B: 1, Lq: 1, Lk: 2, Heads: 1, Dh: 2}
	q, k, v := []float64{1, 0}, []float64{1, 0, 0, 1}, []float64{1, 2, 3, 4}
	const p0, p1 = 0.6697615493266569, 0.3302384506733431
	probs, out := gcNaN(2), gcNaN(2)
	Attention(s, q, k, v, nil, probs, out)
	gcClose(t, "probs", probs, []float64{p0, p1}, 0, 1e-15)
	gcClose(t, "out", out, []float64{p0 + 3*p1, 2*p0 + 4*p1}, 0, 1e-15)

	probs32, out32 := make([]float32, 2), make([]float32, 2)
	Attention(s, gcTo32(q), gcTo32(k), gcTo32(v), nil, probs32, out32)
	gcClose(t, "out32", out32, []float64{1.6604769013466862, 2.6604769013466862}, 0, 1e-7)

	// keyLen 1: only the first key; keyLen 0: nothing to attend to.
	Attention(s, q, k, v, []int{1}, probs, out)
	gcClose(t, "probs(keyLen=1)", probs, []float64{1, 0}, 0, 0)
	gcClose(t, "out(keyLen=1)", out, []float64{1, 2}, 0, 0)
	probs, out = gcNaN(2), gcNaN(2)
	Attention(s, q, k, v, []int{0}, probs, out)
	gcClose(t, "probs(keyLen=0)", probs, []float64{0, 0}, 0, 0)
	gcClose(t, "out(keyLen=0)", out, []float64{0, 0}, 0, 0)
}

// refAttention is a direct float64 multi-head attention.
func refAttention(s AttnShape, q, k, v []float64, keyLen []int) (probs, out []float64) {
	return refAttentionBiased(s, q, k, v, nil, keyLen)
}

// refAttentionBiased is refAttention with bias [B, Lq, Lk] (nil: none)
// added to the scaled scores.
func refAttentionBiased(s AttnShape, q, k, v, bias []float64, keyLen []int) (probs, out []float64) {
	w := s.Heads * s.Dh
	probs, out = make([]float64, s.ProbsLen()), make([]float64, s.B*s.Lq*w)
	scale := 1 / math.Sqrt(float64(s.Dh))
	for b := range s.B {
		for h := range s.Heads {
			for i := range s.Lq {
				p := probs[((b*s.Heads+h)*s.Lq+i)*s.Lk:][:s.Lk]
				m := math.Inf(-1)
				for j := range s.Lk {
					if (keyLen != nil && j >= keyLen[b]) || (s.Causal && j > i) {
						p[j] = math.Inf(-1)
						continue
					}
					var d float64
					for e := range s.Dh {
						d += q[(b*s.Lq+i)*w+h*s.Dh+e] * k[(b*s.Lk+j)*w+h*s.Dh+e]
					}
					p[j] = d * scale
					if bias != nil {
						p[j] += bias[(b*s.Lq+i)*s.Lk+j]
					}
					m = max(m, p[j])
				}
				var z float64
				for j := range p {
					if math.IsInf(p[j], -1) {
						p[j] = 0
						continue
					}
					p[j] = math.Exp(p[j] - m)
					z += p[j]
				}
				for j := range p {
					if z > 0 {
						p[j] /= z
					}
					for e := range s.Dh {
						out[(b*s.Lq+i)*w+h*s.Dh+e] += p[j] * v[(b*s.Lk+j)*w+h*s.Dh+e]
					}
				}
			}
		}
	}
	return probs, out
}

type attnCase struct {
	s      AttnShape
	keyLen []int
}

var attnCases = []attnCase{
	{AttnShape{B: 2, Lq: 3, Lk: 4, Heads: 2, Dh: 3}, []int{4, 2}},                  // cross, padded keys
	{AttnShape{B: 2, Lq: 4, Lk: 4, Heads: 2, Dh: 3, Causal: true}, nil},            // causal self
	{AttnShape{B: 3, Lq: 4, Lk: 4, Heads: 1, Dh: 2, Causal: true}, []int{4, 3, 0}}, // causal + padding + empty batch
	{AttnShape{B: 1, Lq: 5, Lk: 3, Heads: 3, Dh: 4}, nil},                          // Lq > Lk
}

func TestAttentionMatchesReference(t *testing.T) {
	for _, tc := range attnCases {
		t.Run(fmt.Sprintf("%+v/%v", tc.s, tc.keyLen), func(t *testing.T) {
			s, w := tc.s, tc.s.Width()
			q, k, v := gcRand(71, s.B*s.Lq*w), gcRand(72, s.B*s.Lk*w), gcRand(73, s.B*s.Lk*w)
			for i := range q {
				q[i] *= 3
			}
			wantP, wantO := refAttention(s, q, k, v, tc.keyLen)
			probs, out := gcNaN(s.ProbsLen()), gcNaN(s.B*s.Lq*w)
			Attention(s, q, k, v, tc.keyLen, probs, out)
			gcClose(t, "probs", probs, wantP, 1e-15, 1e-13)
			gcClose(t, "out", out, wantO, 1e-15, 1e-13)

			p32, o32 := make([]float32, s.ProbsLen()), make([]float32, s.B*s.Lq*w)
			Attention(s, gcTo32(q), gcTo32(k), gcTo32(v), tc.keyLen, p32, o32)
			gcClose(t, "probs32", p32, wantP, 1e-6, 1e-5)
			gcClose(t, "out32", o32, wantO, 1e-6, 1e-5)
		})
	}
}

func TestAttentionGradients(t *testing.T) {
	for _, tc := range attnCases {
		t.Run(fmt.Sprintf("%+v/%v", tc.s, tc.keyLen), func(t *testing.T) {
			s, w := tc.s, tc.s.Width()
			q, k, v := gcRand(81, s.B*s.Lq*w), gcRand(82, s.B*s.Lk*w), gcRand(83, s.B*s.Lk*w)
			for i := range q {
				q[i] *= 2
			}
			r := gcRand(84, s.B*s.Lq*w)
			probs, out := make([]float64, s.ProbsLen()), make([]float64, s.B*s.Lq*w)
			loss := func() float64 {
				Attention(s, q, k, v, tc.keyLen, probs, out)
				return gcDot(out, r)
			}
			loss()
			dq, dk, dv := gcNaN(len(q)), gcNaN(len(k)), gcNaN(len(v))
			var ws AttnWorkspace[float64]
			AttentionBackward(s, q, k, v, probs, r, dq, dk, dv, &ws)
			checkGrad(t, "Attention dq", q, loss, dq)
			checkGrad(t, "Attention dk", k, loss, dk)
			checkGrad(t, "Attention dv", v, loss, dv)
			// Padding keys get exactly zero gradient.
			for b := range s.B {
				for j := range s.Lk {
					if tc.keyLen != nil && j >= tc.keyLen[b] {
						for e := range w {
							if i := (b*s.Lk+j)*w + e; dk[i] != 0 || dv[i] != 0 {
								t.Fatalf("padding key %d of batch %d: dk %g, dv %g", j, b, dk[i], dv[i])
							}
						}
					}
				}
			}
		})
	}
}

// TestAttentionBiasedGradients: a bias on the scores gives the reference's
// probabilities and output, and AttentionBackwardBiased's gradients
// (the bias's included, summed over heads) match finite differences;
// masked keys' bias gets zero gradient. A nil dbias gives the same dq, dk,
// dv as AttentionBackward.
func TestAttentionBiasedGradients(t *testing.T) {
	for _, tc := range attnCases {
		t.Run(fmt.Sprintf("%+v/%v", tc.s, tc.keyLen), func(t *testing.T) {
			s, w := tc.s, tc.s.Width()
			q, k, v := gcRand(91, s.B*s.Lq*w), gcRand(92, s.B*s.Lk*w), gcRand(93, s.B*s.Lk*w)
			bias := gcRand(94, s.B*s.Lq*s.Lk)
			for i := range bias {
				bias[i] *= 3
			}
			wantP, wantO := refAttentionBiased(s, q, k, v, bias, tc.keyLen)
			probs, out := gcNaN(s.ProbsLen()), gcNaN(s.B*s.Lq*w)
			AttentionBiased(s, q, k, v, bias, tc.keyLen, probs, out)
			gcClose(t, "probs", probs, wantP, 1e-15, 1e-13)
			gcClose(t, "out", out, wantO, 1e-15, 1e-13)
			r := gcRand(95, s.B*s.Lq*w)
			loss := func() float64 {
				AttentionBiased(s, q, k, v, bias, tc.keyLen, probs, out)
				return gcDot(out, r)
			}
			loss()
			dq, dk, dv, db := gcNaN(len(q)), gcNaN(len(k)), gcNaN(len(v)), gcNaN(len(bias))
			var ws AttnWorkspace[float64]
			AttentionBackwardBiased(s, q, k, v, probs, r, dq, dk, dv, db, &ws)
			checkGrad(t, "biased dq", q, loss, dq)
			checkGrad(t, "biased dk", k, loss, dk)
			checkGrad(t, "biased dv", v, loss, dv)
			checkGrad(t, "biased dbias", bias, loss, db)
			for b := range s.B {
				for i := range s.Lq {
					for j := range s.Lk {
						if masked := (tc.keyLen != nil && j >= tc.keyLen[b]) || (s.Causal && j > i); masked && db[(b*s.Lq+i)*s.Lk+j] != 0 {
							t.Fatalf("masked key %d of query %d, batch %d: dbias %g", j, i, b, db[(b*s.Lq+i)*s.Lk+j])
						}
					}
				}
			}
			loss() // the probabilities at the unperturbed inputs again
			AttentionBackwardBiased(s, q, k, v, probs, r, dq, dk, dv, db, &ws)
			dq2, dk2, dv2 := gcNaN(len(q)), gcNaN(len(k)), gcNaN(len(v))
			AttentionBackward(s, q, k, v, probs, r, dq2, dk2, dv2, &ws)
			gcClose(t, "dq without dbias", dq2, dq, 0, 0)
			gcClose(t, "dk without dbias", dk2, dk, 0, 0)
			gcClose(t, "dv without dbias", dv2, dv, 0, 0)
		})
	}
}

func TestAttentionBackwardFloat32AndReuse(t *testing.T) {
	// Float32 against float64 on a shape with many (batch, head) units,
	// reusing one workspace across shapes.
	var ws32 AttnWorkspace[float32]
	var ws64 AttnWorkspace[float64]
	for _, s := range []AttnShape{
		{B: 4, Lq: 16, Lk: 16, Heads: 4, Dh: 8, Causal: true},
		{B: 3, Lq: 20, Lk: 6, Heads: 2, Dh: 4},
		{B: 4, Lq: 16, Lk: 16, Heads: 4, Dh: 8, Causal: true},
	} {
		w := s.Width()
		q, k, v := gcRand(91, s.B*s.Lq*w), gcRand(92, s.B*s.Lk*w), gcRand(93, s.B*s.Lk*w)
		dout := gcRand(94, s.B*s.Lq*w)
		probs, out := make([]float64, s.ProbsLen()), make([]float64, s.B*s.Lq*w)
		Attention(s, q, k, v, nil, probs, out)
		dq, dk, dv := make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
		AttentionBackward(s, q, k, v, probs, dout, dq, dk, dv, &ws64)

		q32, k32, v32 := gcTo32(q), gcTo32(k), gcTo32(v)
		p32, o32 := make([]float32, s.ProbsLen()), make([]float32, s.B*s.Lq*w)
		Attention(s, q32, k32, v32, nil, p32, o32)
		dq32, dk32, dv32 := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
		AttentionBackward(s, q32, k32, v32, p32, gcTo32(dout), dq32, dk32, dv32, &ws32)
		for _, c := range []struct {
			name string
			got  []float32
			want []float64
		}{{"out", o32, out}, {"dq", dq32, dq}, {"dk", dk32, dk}, {"dv", dv32, dv}} {
			if e := gcMaxRel(c.got, c.want); !(e < 2e-6) {
				t.Errorf("%+v: float32 %s relative error %.2g", s, c.name, e)
			}
		}
	}
}

func TestAttentionBigHeads(t *testing.T) {
	// Heads of ≥ attnSerialMACs multiply-adds run one at a time with their
	// softmax rows spread over workers; results must equal the per-head
	// path (and the reference).
	s := AttnShape{B: 1, Lq: 512, Lk: 512, Heads: 2, Dh: 16, Causal: true}
	if s.Lq*s.Lk*s.Dh < attnSerialMACs {
		t.Fatal("shape too small for the serial-heads path")
	}
	w := s.Width()
	keyLen := []int{400}
	q, k, v := gcRand(111, s.B*s.Lq*w), gcRand(112, s.B*s.Lk*w), gcRand(113, s.B*s.Lk*w)
	dout := gcRand(114, s.B*s.Lq*w)
	_, wantO := refAttention(s, q, k, v, keyLen)
	probs, out := gcNaN(s.ProbsLen()), gcNaN(len(q))
	Attention(s, q, k, v, keyLen, probs, out)
	gcClose(t, "out", out, wantO, 1e-14, 1e-12)
	dq, dk, dv := gcNaN(len(q)), gcNaN(len(k)), gcNaN(len(v))
	AttentionBackward(s, q, k, v, probs, dout, dq, dk, dv, nil)

	scale := 1 / math.Sqrt(float64(s.Dh))
	p2, o2 := gcNaN(s.ProbsLen()), gcNaN(len(q))
	attnForwardRange(0, s.B*s.Heads, s, scale, false, q, k, v, nil, keyLen, p2, o2)
	dq2, dk2, dv2 := gcNaN(len(q)), gcNaN(len(k)), gcNaN(len(v))
	attnBackwardRange(0, s.B*s.Heads, s, scale, false, q, k, v, p2, dout, dq2, dk2, dv2, make([]float64, s.Lq*s.Lk))
	for _, c := range []struct {
		name      string
		got, want []float64
	}{{"probs", probs, p2}, {"out", out, o2}, {"dq", dq, dq2}, {"dk", dk, dk2}, {"dv", dv, dv2}} {
		if e := gcMaxRel(c.got, c.want); !(e < 1e-14) {
			t.Errorf("%s: serial-heads path differs from per-head path by %.2g", c.name, e)
		}
	}
}

func TestAttentionNoKeysOrQueries(t *testing.T) {
	s := AttnShape{B: 2, Lq: 3, Lk: 0, Heads: 2, Dh: 2}
	out := gcNaN(2 * 3 * 4)
	Attention(s, gcRand(1, 24), nil, nil, nil, nil, out)
	gcClose(t, "out", out, make([]float64, 24), 0, 0)
	dq := gcNaN(24)
	AttentionBackward(s, gcRand(1, 24), nil, nil, nil, gcRand(2, 24), dq, nil, nil, nil)
	gcClose(t, "dq", dq, make([]float64, 24), 0, 0)
}

type attnBench struct {
	s                         AttnShape
	q, k, v, probs, out, dout []float32
	dq, dk, dv                []float32
	ws                        AttnWorkspace[float32]
}

func newAttnBench(s AttnShape) *attnBench {
	w := s.Width()
	a := &attnBench{s: s,
		q: gcTo32(gcRand(1, s.B*s.Lq*w)), k: gcTo32(gcRand(2, s.B*s.Lk*w)), v: gcTo32(gcRand(3, s.B*s.Lk*w)),
		probs: make([]float32, s.ProbsLen()), out: make([]float32, s.B*s.Lq*w), dout: gcTo32(gcRand(4, s.B*s.Lq*w)),
		dq: make([]float32, s.B*s.Lq*w), dk: make([]float32, s.B*s.Lk*w), dv: make([]float32, s.B*s.Lk*w)}
	return a
}

func (a *attnBench) fwd() { Attention(a.s, a.q, a.k, a.v, nil, a.probs, a.out) }
func (a *attnBench) bwd() {
	AttentionBackward(a.s, a.q, a.k, a.v, a.probs, a.dout, a.dq, a.dk, a.dv, &a.ws)
}

func BenchmarkAttention(b *testing.B) {
	for _, bc := range []struct {
		name string
		s    AttnShape
	}{
		{"self_B32_L64_H4_D32", AttnShape{B: 32, Lq: 64, Lk: 64, Heads: 4, Dh: 32}},
		{"selfcausal_B32_L64_H4_D32", AttnShape{B: 32, Lq: 64, Lk: 64, Heads: 4, Dh: 32, Causal: true}},
		{"cross_B32_Lq256_Lk16_H4_D32", AttnShape{B: 32, Lq: 256, Lk: 16, Heads: 4, Dh: 32}},
	} {
		a := newAttnBench(bc.s)
		for _, ph := range []struct {
			name string
			f    func()
		}{{"fwd", a.fwd}, {"bwd", a.bwd}, {"fwd+bwd", func() { a.fwd(); a.bwd() }}} {
			b.Run(bc.name+"/"+ph.name, func(b *testing.B) {
				a.fwd()
				a.bwd()
				b.ReportAllocs()
				for b.Loop() {
					ph.f()
				}
			})
		}
	}
}
