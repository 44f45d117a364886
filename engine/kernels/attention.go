package kernels

import (
	"fmt"
	"math"
	"runtime"
)

// AttnShape describes multi-head scaled dot-product attention: B batches,
// Lq queries and Lk keys per batch, Heads heads of Dh channels each
// (rows of q, k, v and out hold Heads·Dh values, head h in columns
// [h·Dh, (h+1)·Dh)). Causal masks key j for query i when j > i.
type AttnShape struct {
	B, Lq, Lk, Heads, Dh int
	Causal               bool
}

// Width is Heads·Dh, the row length of q, k, v and out.
func (s AttnShape) Width() int { return s.Heads * s.Dh }

// ProbsLen is the length of the saved probabilities, B·Heads·Lq·Lk.
func (s AttnShape) ProbsLen() int { return s.B * s.Heads * s.Lq * s.Lk }

func (s AttnShape) check(kernel string) {
	if s.B < 0 || s.Lq < 0 || s.Lk < 0 || s.Heads < 0 || s.Dh <= 0 {
		panic(fmt.Sprintf("kernels: %s: bad shape %+v", kernel, s))
	}
}

// attnSerialMACs is the per-(batch, head) GEMM size (multiply-adds) above
// which heads are processed one at a time, leaving the parallelism to
// the threaded BLAS instead of oversubscribing the cores.
const attnSerialMACs = 1 << 22

// Attention computes softmax(q·kᵀ/√Dh)·v for every batch and head:
// q [B, Lq, H·Dh], k, v [B, Lk, H·Dh] → out [B, Lq, H·Dh] (overwritten).
// probs [B, H, Lq, Lk] is overwritten with the attention probabilities,
// saved for AttentionBackward. keyLen, when non-nil (length B), masks
// padding keys: key j of batch b is used only when j < keyLen[b]. With
// s.Causal key j is also masked for query i when j > i. Queries with no
// allowed key get all-zero probabilities and a zero output row.
//
// Each (batch, head) is two strided GEMMs (lda = H·Dh) around a
// max-subtracted softmax; (batch, head) pairs run in parallel.
func Attention[T Float](s AttnShape, q, k, v []T, keyLen []int, probs, out []T) {
	AttentionBiased(s, q, k, v, nil, keyLen, probs, out)
}

// AttentionBiased is Attention with bias [B, Lq, Lk] (nil: none) added to
// every head's scaled scores before the softmax: softmax(q·kᵀ/√Dh + bias)·v.
// The bias of masked keys is ignored.
func AttentionBiased[T Float](s AttnShape, q, k, v, bias []T, keyLen []int, probs, out []T) {
	s.check("Attention")
	w := s.Width()
	needLen("Attention", "q", len(q), s.B*s.Lq*w)
	needLen("Attention", "k", len(k), s.B*s.Lk*w)
	needLen("Attention", "v", len(v), s.B*s.Lk*w)
	needLen("Attention", "probs", len(probs), s.ProbsLen())
	needLen("Attention", "out", len(out), s.B*s.Lq*w)
	if keyLen != nil {
		needLen("Attention", "keyLen", len(keyLen), s.B)
	}
	if bias != nil {
		needLen("Attention", "bias", len(bias), s.B*s.Lq*s.Lk)
	}
	if s.Lk == 0 {
		clear(out[:s.B*s.Lq*w]) // no keys: every query is fully masked
		return
	}
	scale := T(1 / math.Sqrt(float64(s.Dh)))
	units, per := s.B*s.Heads, s.Lq*s.Lk
	if units == 0 || per == 0 {
		return
	}
	big := per*s.Dh >= attnSerialMACs
	if big || runsInline(units, 1) {
		attnForwardRange(0, units, s, scale, big, q, k, v, bias, keyLen, probs, out)
		return
	}
	Parallel(units, 1, func(lo, hi int) { attnForwardRange(lo, hi, s, scale, false, q, k, v, bias, keyLen, probs, out) })
}

// attnForwardRange is Attention for the (batch, head) pairs [lo, hi),
// numbered batch·Heads + head. rowsParallel spreads each head's softmax
// rows over workers (for heads big enough to be run one at a time).
func attnForwardRange[T Float](lo, hi int, s AttnShape, scale T, rowsParallel bool, q, k, v, bias []T, keyLen []int, probs, out []T) {
	w, per := s.Width(), s.Lq*s.Lk
	for u := lo; u < hi; u++ {
		b, h := u/s.Heads, u%s.Heads
		qb := q[b*s.Lq*w+h*s.Dh:]
		kb := k[b*s.Lk*w+h*s.Dh:]
		vb := v[b*s.Lk*w+h*s.Dh:]
		ob := out[b*s.Lq*w+h*s.Dh:]
		p := probs[u*per : (u+1)*per]
		kl := s.Lk
		if keyLen != nil {
			kl = min(kl, max(keyLen[b], 0))
		}
		// Scores for the kl usable keys; softmaxRow zeroes the rest.
		Gemm(false, true, s.Lq, kl, s.Dh, scale, qb, w, kb, w, 0, p, s.Lk)
		if bias != nil {
			bb := bias[b*per : (b+1)*per]
			for i := 0; i < s.Lq; i++ {
				row, br := p[i*s.Lk:i*s.Lk+kl], bb[i*s.Lk:i*s.Lk+kl]
				for j := range row {
					row[j] += br[j]
				}
			}
		}
		if minRows := max(1, elemMinPerWorker/s.Lk); rowsParallel && !runsInline(s.Lq, minRows) {
			Parallel(s.Lq, minRows, func(lo, hi int) { attnSoftmaxRows(p, s.Lk, kl, s.Causal, lo, hi) })
		} else {
			attnSoftmaxRows(p, s.Lk, kl, s.Causal, 0, s.Lq)
		}
		// Probabilities of masked keys are zero: only kl keys contribute.
		Gemm(false, false, s.Lq, s.Dh, kl, 1, p, s.Lk, vb, w, 0, ob, w)
	}
}

// attnSoftmaxRows applies the masked softmax in place to rows [lo, hi) of
// one head's scores p [Lq, lk]: kl usable keys, and j ≤ i when causal.
func attnSoftmaxRows[T Float](p []T, lk, kl int, causal bool, lo, hi int) {
	for i := lo; i < hi; i++ {
		n := kl
		if causal {
			n = min(n, i+1)
		}
		row := p[i*lk : (i+1)*lk]
		softmaxRow(row, row, n)
	}
}

// attnSoftmaxBackRows overwrites rows [lo, hi) of dp [Lq, lk] with the
// softmax gradient p ⊙ (dp − rowsum(p ⊙ dp)).
func attnSoftmaxBackRows[T Float](p, dp []T, lk, lo, hi int) {
	for i := lo; i < hi; i++ {
		row := dp[i*lk : (i+1)*lk]
		softmaxRowBackward(p[i*lk:(i+1)*lk], row, row)
	}
}

// AttnWorkspace holds AttentionBackward's scratch: one Lq×Lk buffer per
// concurrent worker. The zero value is ready to use; buffers grow as
// needed and are reused, so steady-state calls do not allocate. Not safe
// for concurrent use by several calls.
type AttnWorkspace[T Float] struct {
	buf   []T
	slots chan int // indices of free per-worker buffers in buf
}

// reserve grows buf to hold per elements for each of workers workers and,
// when slots is true, makes the free list of their indices.
func (ws *AttnWorkspace[T]) reserve(per, workers int, slots bool) {
	if cap(ws.buf) < per*workers {
		ws.buf = make([]T, per*workers)
	}
	ws.buf = ws.buf[:cap(ws.buf)]
	if slots && cap(ws.slots) != workers {
		ws.slots = make(chan int, workers)
		for i := range workers {
			ws.slots <- i
		}
	}
}

// AttentionBackward overwrites dq, dk and dv (shaped as q, k and v) with
// the gradients of Attention given its inputs, the saved probs and the
// output gradient dout. Masking needs no arguments: masked probabilities
// are zero, so masked keys get zero gradients. ws may be nil (scratch is
// then allocated for this call).
//
// Per (batch, head), with P the probabilities and dO the output gradient:
// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)),
// dQ = dS·K/√Dh, dK = dSᵀ·Q/√Dh.
func AttentionBackward[T Float](s AttnShape, q, k, v, probs, dout []T, dq, dk, dv []T, ws *AttnWorkspace[T]) {
	AttentionBackwardBiased(s, q, k, v, probs, dout, dq, dk, dv, nil, ws)
}

// AttentionBackwardBiased is AttentionBackward for AttentionBiased: when
// dbias [B, Lq, Lk] is not nil it is overwritten with the bias's gradient,
// the heads' dS summed (zero for masked keys).
func AttentionBackwardBiased[T Float](s AttnShape, q, k, v, probs, dout []T, dq, dk, dv, dbias []T, ws *AttnWorkspace[T]) {
	s.check("AttentionBackward")
	w := s.Width()
	needLen("AttentionBackward", "q", len(q), s.B*s.Lq*w)
	needLen("AttentionBackward", "k", len(k), s.B*s.Lk*w)
	needLen("AttentionBackward", "v", len(v), s.B*s.Lk*w)
	needLen("AttentionBackward", "probs", len(probs), s.ProbsLen())
	needLen("AttentionBackward", "dout", len(dout), s.B*s.Lq*w)
	needLen("AttentionBackward", "dq", len(dq), s.B*s.Lq*w)
	needLen("AttentionBackward", "dk", len(dk), s.B*s.Lk*w)
	needLen("AttentionBackward", "dv", len(dv), s.B*s.Lk*w)
	if dbias != nil {
		needLen("AttentionBackward", "dbias", len(dbias), s.B*s.Lq*s.Lk)
		clear(dbias[:s.B*s.Lq*s.Lk])
	}
	if s.Lq == 0 || s.Lk == 0 {
		// No query-key pairs: nothing flows between inputs and output.
		clear(dq[:s.B*s.Lq*w])
		clear(dk[:s.B*s.Lk*w])
		clear(dv[:s.B*s.Lk*w])
		return
	}
	if ws == nil {
		ws = new(AttnWorkspace[T])
	}
	scale := T(1 / math.Sqrt(float64(s.Dh)))
	units, per := s.B*s.Heads, s.Lq*s.Lk
	if dbias != nil {
		// A batch's heads add into the same bias gradient: one worker
		// takes all the heads of a batch item.
		ws.reserve(per, 1, false)
		for u := 0; u < units; u++ {
			attnBackwardRange(u, u+1, s, scale, false, q, k, v, probs, dout, dq, dk, dv, ws.buf[:per])
			db := dbias[(u/s.Heads)*per : (u/s.Heads+1)*per]
			for i, g := range ws.buf[:per] {
				db[i] += g
			}
		}
		return
	}
	big := per*s.Dh >= attnSerialMACs
	inline := big || runsInline(units, 1)
	workers := 1
	if !inline {
		workers = max(1, runtime.GOMAXPROCS(0))
	}
	ws.reserve(per, workers, !inline)
	if inline {
		attnBackwardRange(0, units, s, scale, big, q, k, v, probs, dout, dq, dk, dv, ws.buf[:per])
		return
	}
	Parallel(units, 1, func(lo, hi int) {
		slot := <-ws.slots
		defer func() { ws.slots <- slot }()
		attnBackwardRange(lo, hi, s, scale, false, q, k, v, probs, dout, dq, dk, dv, ws.buf[slot*per:(slot+1)*per])
	})
}

// attnBackwardRange is AttentionBackward for the (batch, head) pairs
// [lo, hi), with dp [Lq, Lk] as scratch.
func attnBackwardRange[T Float](lo, hi int, s AttnShape, scale T, rowsParallel bool, q, k, v, probs, dout, dq, dk, dv, dp []T) {
	w, per := s.Width(), s.Lq*s.Lk
	for u := lo; u < hi; u++ {
		b, h := u/s.Heads, u%s.Heads
		qo, ko := b*s.Lq*w+h*s.Dh, b*s.Lk*w+h*s.Dh
		p := probs[u*per : (u+1)*per]
		// dV = Pᵀ·dO
		Gemm(true, false, s.Lk, s.Dh, s.Lq, 1, p, s.Lk, dout[qo:], w, 0, dv[ko:], w)
		// dP = dO·Vᵀ
		Gemm(false, true, s.Lq, s.Lk, s.Dh, 1, dout[qo:], w, v[ko:], w, 0, dp, s.Lk)
		// dS = P ⊙ (dP − rowsum(P ⊙ dP)), in place
		if minRows := max(1, elemMinPerWorker/s.Lk); rowsParallel && !runsInline(s.Lq, minRows) {
			Parallel(s.Lq, minRows, func(lo, hi int) { attnSoftmaxBackRows(p, dp, s.Lk, lo, hi) })
		} else {
			attnSoftmaxBackRows(p, dp, s.Lk, 0, s.Lq)
		}
		// dQ = dS·K·scale, dK = dSᵀ·Q·scale
		Gemm(false, false, s.Lq, s.Dh, s.Lk, scale, dp, s.Lk, k[ko:], w, 0, dq[qo:], w)
		Gemm(true, false, s.Lk, s.Dh, s.Lq, scale, dp, s.Lk, q[qo:], w, 0, dk[ko:], w)
	}
}
