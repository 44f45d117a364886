package engine

import (
	"fmt"
	"math"
	"math/rand/v2"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
)

// E4T's two other halves for the encoder (encoder.go): the frozen UNet's
// reading of the picture as a second input, and a value head.

// encoderFeatureT is the timestep a picture is noised to before the
// frozen UNet reads it (of 1000: a quarter of the way, where the
// picture's shape is still plain and the network is already at work).
const encoderFeatureT = 250

// unetReader reads the frozen base's middle-block features of pictures,
// E4T's second input to the encoder: each picture noised to the config's
// timestep, given to the UNet once under "a big CLASS" with its frame and
// itself as its reference (on a base that takes them), the middle block's
// output averaged over its places and scaled to unit mean square.
type unetReader struct {
	b       *Base
	s       *session
	net     *model.Net
	t       int
	x0, pix []float32
	refs    []float32
	rper    int
	ids     []int
	lengths []int
	frames  [][model.FrameSlots]model.Frame
}

func (b *Base) newUNetReader(s *session, batch, t int) (*unetReader, error) {
	net, err := model.Build(s.w, b.Cfg, model.NetOptions{Batch: batch, Middle: true})
	if err != nil {
		return nil, err
	}
	S, C := b.Cfg.ImageSize, b.Cfg.InChannels
	r := &unetReader{b: b, s: s, net: net, t: t, x0: make([]float32, batch*S*S*C),
		ids: make([]int, batch*b.Cfg.MaxLen), lengths: make([]int, batch)}
	if b.AE != nil {
		P := b.PictureSize()
		r.pix = make([]float32, batch*P*P*3)
	}
	if b.Cfg.Frames {
		r.frames = make([][model.FrameSlots]model.Frame, batch)
	}
	r.refs, r.rper = b.refBuffer(batch)
	return r, nil
}

func (r *unetReader) Close() { r.net.Close() }

// set draws picture i: scene sc by rd, read under "a big CLASS".
func (r *unetReader) set(i int, rd *dataset.Renderer, sc dataset.Scene, class string) error {
	b := r.b
	if r.pix != nil {
		P := b.PictureSize()
		rd.Render(sc, P, r.pix[i*P*P*3:(i+1)*P*P*3])
	} else {
		per := len(r.x0) / r.net.Batch
		rd.Render(sc, b.Cfg.ImageSize, r.x0[i*per:(i+1)*per])
	}
	caption := "a big " + class
	e, n, err := r.s.encode(caption)
	if err != nil {
		return fmt.Errorf("the class %q: %w", class, err)
	}
	L := b.Cfg.MaxLen
	copy(r.ids[i*L:(i+1)*L], e)
	r.lengths[i] = n
	if r.frames != nil {
		r.frames[i] = captionedFrames(sc, caption)
		if r.refs != nil {
			refs := refsOf(r.refs, i, r.rper)
			clear(refs)
			trainingRefs(rd, sc, b.Cfg.ImageSize, rand.New(rand.NewPCG(0, 0)), nil, refs)
		}
	}
	return nil
}

// read returns every picture's features (batch × width), the noise drawn
// from rng.
func (r *unetReader) read(rng *rand.Rand) ([]float32, error) {
	b, B := r.b, r.net.Batch
	if r.pix != nil {
		z, err := b.encodePictures(r.pix, B)
		if err != nil {
			return nil, err
		}
		copy(r.x0, z)
	}
	noise := make([]float32, len(r.x0))
	diffusion.FillNormal(rng, noise)
	ts := make([]int, B)
	tf := make([]float64, B)
	for i := range ts {
		ts[i], tf[i] = r.t, float64(r.t)
	}
	xt, err := b.Sched.AddNoise(r.x0, noise, ts)
	if err != nil {
		return nil, err
	}
	if err := r.net.Set(xt, tf, r.ids, r.lengths, nil, nil); err != nil {
		return nil, err
	}
	if err := setPlaces(r.net, r.frames, r.refs, r.rper, 0, B); err != nil {
		return nil, err
	}
	if err := r.net.Run(); err != nil {
		return nil, err
	}
	mid := r.net.Middle()
	W := unetFeatureWidth(b.Cfg)
	places := len(mid) / (B * W)
	out := make([]float32, B*W)
	for i := 0; i < B; i++ {
		f := out[i*W : (i+1)*W]
		for p := 0; p < places; p++ {
			for c, v := range mid[(i*places+p)*W : (i*places+p+1)*W] {
				f[c] += v
			}
		}
		var ss float64
		for c := range f {
			f[c] /= float32(places)
			ss += float64(f[c]) * float64(f[c])
		}
		if rms := math.Sqrt(ss / float64(W)); rms > 0 {
			for c := range f {
				f[c] /= float32(rms)
			}
		}
	}
	return out, nil
}

// unetFeatureWidth is the middle block's width: the UNet features' length.
func unetFeatureWidth(c model.Config) int { return c.Channels[len(c.Channels)-1] }

// valueWidth is the cross-attention layers' value widths summed: the
// value head's length.
func (b *Base) valueWidth() int {
	n := 0
	for _, l := range b.crossLayers() {
		wv, _ := b.W.Lookup(l + ".v.w")
		n += wv.Shape()[1]
	}
	return n
}

// encSlotsInput marks each picture's slot word for the value head:
// [pictures·MaxLen, batch], 1 where row (i, p) is picture i's slot word,
// in the column of its picture in the whole batch.
const encSlotsInput = "enc_slots"

// slotValues is the value head in encoder training: every cross-attention
// layer's values get, at picture i's slot word, that picture's predicted
// offset — a weight "e4t_dv" [batch, width] per layer, set from the
// encoder each step, whose gradient is the head's upstream.
type slotValues struct{ batch int }

func (sv slotValues) KeysValues(s nn.Scope, ctx *nn.Node, dim int) (*nn.Node, *nn.Node) {
	k, v := nn.DefaultKV{}.KeysValues(s, ctx, dim)
	b := s.G.B
	cs := []int(ctx.Shape())
	n, L := cs[0], cs[1]
	m := b.InputNode(encSlotsInput)
	if m == nil {
		m = b.Input(encSlotsInput, n*L, sv.batch)
	}
	dv := s.Param(slotValueWeight, []int{sv.batch, dim}, nn.Zeros)
	return k, b.Add(v, b.Reshape(b.Linear(m, dv, nil), n, L, dim))
}

const slotValueWeight = "e4t_dv"

// slotMask is the encSlotsInput of pictures lo..hi of a batch.
func slotMask(ids, slots []int, L, lo, hi int) []float32 {
	B := len(slots)
	m := make([]float32, (hi-lo)*L*B)
	for i := lo; i < hi; i++ {
		for p := 0; p < L; p++ {
			if ids[i*L+p] == slots[i] {
				m[((i-lo)*L+p)*B+i] = 1
			}
		}
	}
	return m
}
