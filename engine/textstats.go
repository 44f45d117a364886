package engine

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
)

// textStats are per-base-model statistics of the text encoder that
// personalization needs: the inverse of the uncentred covariance C of
// encodings over the caption corpus (Perfusion's sim(e) = eᵀC⁻¹i*/(i*ᵀC⁻¹i*)).
type textStats struct {
	once sync.Once
	cinv []float64 // [D·D]
	err  error
}

var baseStats sync.Map // *Base → *textStats

// encoder returns a text-only net of the given batch over weights w.
func (b *Base) encoder(w *nn.Weights, batch int) (*model.Net, error) {
	return model.Build(w, b.Cfg, model.NetOptions{Batch: batch, TextOnly: true})
}

// Encodings runs the text encoder on token rows (each MaxLen ids with its
// length) over weights w (nil: the base's), returning [n, MaxLen, D].
func (b *Base) Encodings(w *nn.Weights, ids [][]int, lengths []int) ([]float32, error) {
	if w == nil {
		w = b.W
	}
	const batch = 32
	net, err := b.encoder(w, batch)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	L, D := b.Cfg.MaxLen, b.Cfg.TextDim
	out := make([]float32, 0, len(ids)*L*D)
	flat := make([]int, batch*L)
	lens := make([]int, batch)
	for lo := 0; lo < len(ids); lo += batch {
		hi := min(lo+batch, len(ids))
		for i := 0; i < batch; i++ {
			src, n := ids[min(lo+i, hi-1)], lengths[min(lo+i, hi-1)]
			copy(flat[i*L:(i+1)*L], src)
			lens[i] = n
		}
		if err := net.Set(nil, make([]float64, batch), flat, lens, nil, nil); err != nil {
			return nil, err
		}
		if err := net.Run(); err != nil {
			return nil, err
		}
		out = append(out, net.Encoding()[:(hi-lo)*L*D]...)
	}
	return out, nil
}

// CovInverse returns C⁻¹ [D·D] for the base model, computed once from the
// encodings of every token of 2048 training-distribution captions (with a
// small ridge so it is well conditioned).
func (b *Base) CovInverse() ([]float64, error) {
	v, _ := baseStats.LoadOrStore(b, &textStats{})
	st := v.(*textStats)
	st.once.Do(func() { st.cinv, st.err = b.computeCovInverse() })
	return st.cinv, st.err
}

func (b *Base) computeCovInverse() ([]float64, error) {
	atlas, err := dataset.LoadAtlas()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(2048, 1))
	const n = 2048
	ids := make([][]int, n)
	lengths := make([]int, n)
	for i := range ids {
		sc := atlas.RandomScene(rng, dataset.DefaultSceneOptions())
		if ids[i], lengths[i], err = b.Encode(dataset.Caption(atlas, sc, rng)); err != nil {
			return nil, err
		}
	}
	enc, err := b.Encodings(nil, ids, lengths)
	if err != nil {
		return nil, err
	}
	L, D := b.Cfg.MaxLen, b.Cfg.TextDim
	c := mat.NewSymDense(D, nil)
	count := 0
	for i := range ids {
		for p := 0; p < lengths[i]; p++ {
			e := enc[(i*L+p)*D : (i*L+p+1)*D]
			for r := 0; r < D; r++ {
				for q := r; q < D; q++ {
					c.SetSym(r, q, c.At(r, q)+float64(e[r])*float64(e[q]))
				}
			}
			count++
		}
	}
	var tr float64
	for r := 0; r < D; r++ {
		tr += c.At(r, r)
	}
	ridge := 1e-3 * tr / float64(D)
	for r := 0; r < D; r++ {
		for q := r; q < D; q++ {
			v := c.At(r, q) / float64(count)
			if r == q {
				v += ridge / float64(count)
			}
			c.SetSym(r, q, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(c) {
		return nil, fmt.Errorf("perfusion: the text covariance is not positive definite")
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, err
	}
	out := make([]float64, D*D)
	for r := 0; r < D; r++ {
		for q := 0; q < D; q++ {
			out[r*D+q] = inv.At(r, q)
		}
	}
	return out, nil
}

// ClassEncoding returns the encoding of the class words in "a CLASS" at the
// position of the last class word: Perfusion's i_super, and the start of
// i*. It also returns that position.
func (b *Base) ClassEncoding(w *nn.Weights, class string) ([]float32, int, error) {
	ids, n, err := b.Encode("a " + class)
	if err != nil {
		return nil, 0, fmt.Errorf("class %q: %w", class, err)
	}
	enc, err := b.Encodings(w, [][]int{ids}, []int{n})
	if err != nil {
		return nil, 0, err
	}
	pos := n - 2 // before <end>
	D := b.Cfg.TextDim
	return append([]float32(nil), enc[pos*D:(pos+1)*D]...), pos, nil
}
