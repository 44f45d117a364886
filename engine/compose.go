package engine

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
)

// ConceptUse is a concept used in a prompt, with its generation-time knob.
type ConceptUse struct {
	Concept *Concept
	// Gate is the concept's gate, its meaning its method's (Perfusion's
	// β, a LoRA's multiplier; MethodInfo.Gate); 0: DefaultGate.
	Gate float64
	// Tau is Perfusion's gate temperature (0: the concept's own, or the
	// design's 0.15).
	Tau float64
}

// generate samples with the session's weights, overrides and tokenizer.
func (s *session) generate(ctx context.Context, opt GenerateOptions, progress func(step, total int)) ([]*image.NRGBA, error) {
	nets := map[netKey]*model.Net{}
	defer func() {
		for _, n := range nets {
			n.Close()
		}
	}()
	netFor := func(batch, replica int, guide bool) (*model.Net, error) {
		key := netKey{batch, replica, guide}
		if n, ok := nets[key]; ok {
			return n, nil
		}
		n, err := model.Build(s.w, s.b.Cfg, model.NetOptions{Batch: batch, KV: s.kv, Linear: s.linear, KeyText: s.keyMap != nil, PlaceGuide: guide})
		if err == nil {
			nets[key] = n
		}
		return n, err
	}
	var keyIDs func([]int) []int
	if s.keyMap != nil {
		keyIDs = s.keyIDs
	}
	return s.b.sample(ctx, opt, s.encode, netFor, keyIDs, progress)
}

// thumbnailColour is the mean colour of a concept thumbnail's object: its
// pixels unlike the border's median colour (the cut-out's plain
// background). ok is false when the thumbnail does not decode or shows
// no object.
func thumbnailColour(data []byte) (color.NRGBA, bool) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return color.NRGBA{}, false
	}
	b := img.Bounds()
	rgb := func(x, y int) [3]float64 {
		c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		return [3]float64{float64(c.R), float64(c.G), float64(c.B)}
	}
	var border [3][]float64
	for x := b.Min.X; x < b.Max.X; x++ {
		for _, y := range []int{b.Min.Y, b.Max.Y - 1} {
			p := rgb(x, y)
			for k := range 3 {
				border[k] = append(border[k], p[k])
			}
		}
	}
	var bg [3]float64
	for k := range 3 {
		slices.Sort(border[k])
		bg[k] = border[k][len(border[k])/2]
	}
	var sum [3]float64
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := rgb(x, y)
			if math.Abs(p[0]-bg[0])+math.Abs(p[1]-bg[1])+math.Abs(p[2]-bg[2]) > 60 {
				for k := range 3 {
					sum[k] += p[k]
				}
				n++
			}
		}
	}
	if n == 0 {
		return color.NRGBA{}, false
	}
	return color.NRGBA{uint8(sum[0] / float64(n)), uint8(sum[1] / float64(n)), uint8(sum[2] / float64(n)), 255}, true
}

// GenerateWith renders a prompt that uses learned concepts, mixing methods
// freely (each concept's pseudo-word is NAME*).
func (b *Base) GenerateWith(ctx context.Context, opt GenerateOptions, uses []ConceptUse, progress func(step, total int)) ([]*image.NRGBA, error) {
	if len(uses) == 0 {
		return b.Generate(ctx, opt, progress)
	}
	if b.Cfg.Refs {
		opt.thingRefs = map[string]dataset.Layer{}
		for _, u := range uses {
			if img, err := png.Decode(bytes.NewReader(u.Concept.Thumbnail)); err == nil {
				if l, ok := dataset.NewLayer(img); ok {
					opt.thingRefs[u.Concept.Name+"*"] = l
				}
			}
		}
	}
	if len(opt.Regions) > 0 {
		opt.thingColours = map[string]color.NRGBA{}
		for _, u := range uses {
			if c, ok := thumbnailColour(u.Concept.Thumbnail); ok {
				opt.thingColours[u.Concept.Name+"*"] = c
			}
		}
	}
	s, err := b.sessionFor(uses, opt.ExactPerfusion)
	if err != nil {
		return nil, err
	}
	if opt.GlobalLocking || usesGlobalLocking(uses) {
		if err := s.globalLocking(uses); err != nil {
			return nil, err
		}
	}
	return s.generate(ctx, opt, progress)
}

// CheckConcept says whether a concept can be used with this base model.
func (b *Base) CheckConcept(c *Concept) error {
	if c.BaseID != b.ID() {
		return fmt.Errorf("%w: %s* was trained on base model %s, this one is %s; retrain it on this model", ErrWrongBase, c.Name, c.BaseID, b.ID())
	}
	D := b.Cfg.TextDim
	if e, ok := c.Tensors["emb"]; !ok || len(e.Data) != D {
		return fmt.Errorf("%w: %s*: the embedding must have %d values", ErrCorruptConcept, c.Name, D)
	}
	impl, err := methodOf(c.Method)
	if err != nil {
		return err
	}
	return impl.check(b, c)
}

// sessionFor sets up the weights and overrides for a set of concepts.
func (b *Base) sessionFor(uses []ConceptUse, exact bool) (*session, error) {
	seen := map[string]bool{}
	var copies []string
	at := &attachment{lora: map[string]*loraLayer{}, count: map[Method]int{}}
	for _, u := range uses {
		c := u.Concept
		if seen[c.Name] {
			return nil, fmt.Errorf("two concepts are named %s*; rename one of them", c.Name)
		}
		seen[c.Name] = true
		if err := b.CheckConcept(c); err != nil {
			return nil, err
		}
		impl, _ := methodOf(c.Method) // CheckConcept knows it
		copies = append(copies, impl.copies(b, c)...)
		at.count[c.Method]++
	}
	s := b.newSession(copies...)
	D := b.Cfg.TextDim
	table, _ := s.w.Lookup(tokTable)
	td := table.Data().([]float32)
	for _, u := range uses {
		c := u.Concept
		id, err := s.tok.BindPseudoWord(c.Name)
		if err != nil {
			return nil, err
		}
		copy(td[id*D:(id+1)*D], c.Tensors["emb"].Data)
		impl, _ := methodOf(c.Method)
		gate := u.Gate
		if gate <= 0 {
			gate = impl.gate(c, at.count[c.Method])
		}
		if err := impl.attach(s, c, gate, u.Tau, at); err != nil {
			return nil, err
		}
	}
	at.done(s)
	if exact {
		if err := s.makeExact(at.perfs); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ConceptLoss is the mean diffusion loss of the base with the given
// concepts on `batches` batches of 8 samples from data, with noise and
// timesteps drawn from seed: a fixed yardstick to compare concepts (and the
// untrained starting point) on the same samples.
func (b *Base) ConceptLoss(ctx context.Context, uses []ConceptUse, data ConceptData, seed uint64, batches int) (float64, error) {
	s, err := b.sessionFor(uses, false)
	if err != nil {
		return 0, err
	}
	if usesGlobalLocking(uses) {
		if err := s.globalLocking(uses); err != nil {
			return 0, err
		}
	}
	const B = 8
	net, err := model.Build(s.w, b.Cfg, model.NetOptions{Batch: B, Train: true, Frozen: func(string) bool { return true }, KV: s.kv, Linear: s.linear, KeyText: s.keyMap != nil})
	if err != nil {
		return 0, err
	}
	defer net.Close()
	rng := rand.New(rand.NewPCG(seed, 0xE7A1))
	S, L := b.Cfg.ImageSize, b.Cfg.MaxLen
	per := S * S * b.Cfg.InChannels
	x0, noise := make([]float32, B*per), make([]float32, B*per)
	ids, lengths := make([]int, B*L), make([]int, B)
	refs, rper := b.refBuffer(B)
	total := 0.0
	for k := 0; k < batches; k++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		var frames [][model.FrameSlots]model.Frame
		for i := 0; i < B; i++ {
			caption, f := b.sampleFramed(data, rng, x0[i*per:(i+1)*per], refsOf(refs, i, rper))
			frames = append(frames, f)
			enc, n, err := s.encode(caption)
			if err != nil {
				return 0, err
			}
			copy(ids[i*L:(i+1)*L], enc)
			lengths[i] = n
		}
		nb, err := b.noiseBatch(rng, x0, noise, B, lossWeighting{})
		if err != nil {
			return 0, err
		}
		if err := net.Set(nb.xt, nb.t, ids, lengths, nb.target, nil); err != nil {
			return 0, err
		}
		if b.Cfg.Frames {
			if err := net.SetFrames(frames); err != nil {
				return 0, err
			}
		}
		if refs != nil {
			if err := net.SetRefs(refs); err != nil {
				return 0, err
			}
		}
		if s.keyMap != nil {
			if err := net.SetKeyIDs(s.keyIDs(ids)); err != nil {
				return 0, err
			}
		}
		if err := net.Run(); err != nil {
			return 0, err
		}
		total += net.Loss()
	}
	return total / float64(batches), nil
}

// usesGlobalLocking says whether a Perfusion concept among uses was
// trained with global locking (it is then used with it).
func usesGlobalLocking(uses []ConceptUse) bool {
	for _, u := range uses {
		if u.Concept.Method == Perfusion && u.Concept.Settings.GlobalLocking {
			return true
		}
	}
	return false
}

// keyIDs maps token ids to the ids whose encoding gives the keys under
// global locking: each Perfusion pseudo-word becomes its class word.
func (s *session) keyIDs(ids []int) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		if c, ok := s.keyMap[id]; ok {
			id = c
		}
		out[i] = id
	}
	return out
}

// globalLocking switches the session's Perfusion layers to global locking
// and maps each Perfusion concept's pseudo-word to its class's last word.
func (s *session) globalLocking(uses []ConceptUse) error {
	s.keyMap = map[int]int{}
	for _, u := range uses {
		c := u.Concept
		if c.Method != Perfusion {
			continue
		}
		id, cid, err := s.wordAndClass(c)
		if err != nil {
			return fmt.Errorf("global locking: %w", err)
		}
		s.keyMap[id] = cid
	}
	for _, kv := range s.kv {
		if pl, ok := kv.(*perfusionLayer); ok {
			pl.global = true
		}
	}
	return nil
}

// wordAndClass are a concept's pseudo-word's token and its class's last
// word's (the class word a concept starts from and is locked or scaled
// to), with plain errors when either is missing.
func (s *session) wordAndClass(c *Concept) (id, cid int, err error) {
	id, ok := s.tok.ID(c.Name + "*")
	words := dataset.Words(c.Class)
	if !ok || len(words) == 0 {
		return 0, 0, fmt.Errorf("%s* has no class word", c.Name)
	}
	if cid, ok = s.tok.ID(words[len(words)-1]); !ok {
		return 0, 0, fmt.Errorf("the model does not know the class word %q of %s*", words[len(words)-1], c.Name)
	}
	return id, cid, nil
}
