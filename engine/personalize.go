package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/optim"
)

// ConceptData supplies a concept's training samples: it renders one image
// (NHWC, [-1, 1], the model's size) into dst and returns its caption, which
// names the concept as "NAME*".
type ConceptData interface {
	Sample(rng *rand.Rand, dst []float32) (caption string)
}

// sceneData is ConceptData that also says where its picture's objects
// are (dataset.ConceptSampler), which a frames base
// (model.Config.Frames) trains on.
type sceneData interface {
	SampleScene(rng *rand.Rand, dst []float32) (string, dataset.Scene)
}

// sampleFramed draws a sample of d into dst with its frames when the base
// takes frames and d knows them (else none); like pretraining, a share
// dropFrames goes without, so that the concept draws from the prompt
// alone too. A base that takes reference pictures (model.Config.Refs)
// gets them in refs (ImageSize²×RefPixelChannels, cleared first; nil
// when it takes none) as pretraining gives them: each thing's own
// picture (the concept's cut-out), moved a little, left out of dropRefs.
func (b *Base) sampleFramed(d ConceptData, rng *rand.Rand, dst, refs []float32) (string, [model.FrameSlots]model.Frame) {
	clear(refs)
	sd, ok := d.(sceneData)
	if !b.Cfg.Frames || !ok {
		return d.Sample(rng, dst), [model.FrameSlots]model.Frame{}
	}
	caption, sc := sd.SampleScene(rng, dst)
	var rd *dataset.Renderer
	if rr, ok := d.(interface{ Renderer() *dataset.Renderer }); ok {
		rd = rr.Renderer()
	}
	return caption, b.trainingFrames(rd, sc, caption, rng, refs)
}

// trainingFrames are a training scene's frames on a base that takes
// them, none for a share dropFrames; with frames, a base that takes
// reference pictures gets each thing's own picture (drawn by rd) in refs
// (trainingRefs), but for a share dropRefs. refs is left as it is when
// there are none to give (callers clear it).
func (b *Base) trainingFrames(rd *dataset.Renderer, sc dataset.Scene, caption string, rng *rand.Rand, refs []float32) [model.FrameSlots]model.Frame {
	if rng.Float64() < dropFrames {
		return [model.FrameSlots]model.Frame{}
	}
	if rd != nil && refs != nil && b.Cfg.Refs && rng.Float64() >= dropRefs {
		trainingRefs(rd, sc, b.Cfg.ImageSize, rng, nil, refs)
	}
	return captionedFrames(sc, caption)
}

// refBuffer is a batch's reference pictures for a base that takes them
// (model.Config.Refs), with the values per picture; nil otherwise.
func (b *Base) refBuffer(batch int) (refs []float32, per int) {
	per = b.Cfg.ImageSize * b.Cfg.ImageSize * model.RefPixelChannels
	if !b.Cfg.Refs {
		return nil, per
	}
	return make([]float32, batch*per), per
}

// refsOf is picture i's share of a refBuffer (nil for nil).
func refsOf(refs []float32, i, per int) []float32 {
	if refs == nil {
		return nil
	}
	return refs[i*per : (i+1)*per]
}

// setPlaces gives net pictures lo..hi's frames and reference pictures
// (each nil when the base takes none), as every training loop does
// after net.Set.
func setPlaces(net *model.Net, frames [][model.FrameSlots]model.Frame, refs []float32, rper, lo, hi int) error {
	if frames != nil {
		if err := net.SetFrames(frames[lo:hi]); err != nil {
			return err
		}
	}
	if refs != nil {
		return net.SetRefs(refs[lo*rper : hi*rper])
	}
	return nil
}

// TrainOptions configure TrainConcept. Zero values take Defaults(Method).
type TrainOptions struct {
	Method      Method
	Name, Class string
	Data        ConceptData
	Images      int // how many user images Data draws from (recorded)
	// Encoder predicts the pseudo-word's starting embedding from the
	// images (the e4t method; nil: the base model's, if it has one).
	Encoder *Encoder
	// InitFromEncoder starts another method's pseudo-word where the
	// encoder puts it (train -method perfusion -init e4t).
	InitFromEncoder bool
	Steps, Batch    int
	LR, EmbedLR     float64
	Rank            int
	Alpha           float64
	Seed            uint64
	PreviewEvery    int // steps between preview images (0: none)
	// Checkpoint is a file where the run's state is kept every few steps
	// and when it is cancelled; a run started with the same options and an
	// existing checkpoint continues from it. It is removed on success.
	Checkpoint string
	Replicas   int
	// GlobalLocking (Perfusion) takes every key from the caption with the
	// concept word replaced by its class word, instead of locking only
	// the concept word's own key (local locking, the default).
	GlobalLocking bool
	// TrainKeys (Perfusion) trains the key targets o*_K as well instead of
	// locking them to the class word's keys: the design's ablation, which
	// should buy a little identity for less prompt fidelity.
	TrainKeys bool
}

// TrainProgress is one report from TrainConcept.
type TrainProgress struct {
	Step, Total int
	Loss        float64
	Preview     *image.NRGBA
	Message     string
}

// ErrMethod marks a method this build cannot train.
var ErrMethod = errors.New("method not available")

const (
	tokTable   = "text.tok.emb"
	perfPrefix = "perfusion"
	loraPrefix = "lora"
)

// session is one concept's training or generation set-up over the base.
type session struct {
	keyMap map[int]int // global locking: pseudo-word id → class word id
	b      *Base
	w      *nn.Weights        // overlay: base weights shared, edited ones copied
	tok    *dataset.Tokenizer // a copy with the pseudo-words bound
	kv     map[string]nn.KV
	linear map[string]nn.LinearHook
	learn  func(name string) bool
}

func (b *Base) newSession(copies ...string) *session {
	tok, _ := dataset.NewTokenizerFromVocab(b.Tok.Vocab())
	return &session{b: b, w: b.W.Overlay(1, append([]string{tokTable}, copies...)...), tok: tok,
		kv: map[string]nn.KV{}, linear: map[string]nn.LinearHook{}}
}

// encode is Base.Encode with the session's tokenizer.
func (s *session) encode(prompt string) ([]int, int, error) {
	return s.b.encodeWith(s.tok, prompt)
}

// crossLayers lists the base model's cross-attention layer paths.
func (b *Base) crossLayers() []string {
	var out []string
	for _, n := range b.W.Names() {
		if strings.HasSuffix(n, ".attn2.k.w") && strings.HasPrefix(n, "unet.") {
			out = append(out, strings.TrimSuffix(n, ".k.w"))
		}
	}
	return out
}

// attnLinears lists the UNet's attention projections (q, k, v, out of
// every self- and cross-attention): where LoRA attaches.
func (b *Base) attnLinears() []string {
	var out []string
	for _, n := range b.W.Names() {
		if !strings.HasPrefix(n, "unet.") || !strings.HasSuffix(n, ".w") {
			continue
		}
		p := strings.TrimSuffix(n, ".w")
		for _, suf := range []string{".attn1.q", ".attn1.k", ".attn1.v", ".attn1.out", ".attn2.q", ".attn2.k", ".attn2.v", ".attn2.out"} {
			if strings.HasSuffix(p, suf) {
				out = append(out, p)
			}
		}
	}
	return out
}

// perfusionLayer is Perfusion's K/V override of one cross-attention layer:
// keys locked (targets o*_K = W_K·i_super, constant), values edited
// (targets o*_V, learnable in training), one edit per concept.
type perfusionLayer struct {
	kEdits, vEdits []*ops.RankOneEdit
	names          []string // concept names, for weight paths
	learnV         bool
	global         bool // keys from the class-word prompt (global locking)
}

func (p *perfusionLayer) KeysValues(s nn.Scope, ctx *nn.Node, dim int) (*nn.Node, *nn.Node) {
	D := lastDimOf(ctx)
	wk := s.Sub("k").Param("w", []int{D, dim}, nn.Zeros)
	wv := s.Sub("v").Param("w", []int{D, dim}, nn.Zeros)
	var kt, vt []*nn.Node
	for _, name := range p.names {
		ps := s.Sub(perfPrefix).Sub(name)
		kt = append(kt, ps.Param("o_k", []int{dim}, nn.Zeros))
		vt = append(vt, ps.Param("o_v", []int{dim}, nn.Zeros))
	}
	b := s.G.B
	if p.global && s.G.KeyCtx != nil {
		// Global locking: every key comes from the prompt with each
		// concept word replaced by its class word.
		return b.Linear(s.G.KeyCtx, wk, nil), b.RankOneEdits(ctx, wv, p.vEdits, vt)
	}
	return b.RankOneEdits(ctx, wk, p.kEdits, kt), b.RankOneEdits(ctx, wv, p.vEdits, vt)
}

func lastDimOf(n *nn.Node) int {
	s := []int(n.Shape())
	return s[len(s)-1]
}

// perfusionConcept holds one concept's Perfusion state during a session.
type perfusionConcept struct {
	name          string
	iStar, iSuper []float64
	cinv          []float64
	layers        []string
	kEdits        []*ops.RankOneEdit
	vEdits        []*ops.RankOneEdit
}

// refresh recomputes u = C⁻¹i*/(i*ᵀC⁻¹i*) and W·i* for every layer after
// i* moves (edits read these at every run).
func (pc *perfusionConcept) refresh(w *nn.Weights) {
	D := len(pc.iStar)
	ci := make([]float64, D)
	var denom float64
	for r := 0; r < D; r++ {
		var v float64
		for q := 0; q < D; q++ {
			v += pc.cinv[r*D+q] * pc.iStar[q]
		}
		ci[r] = v
		denom += v * pc.iStar[r]
	}
	for i, layer := range pc.layers {
		for j, e := range []*ops.RankOneEdit{pc.kEdits[i], pc.vEdits[i]} {
			for r := range ci {
				e.U[r] = ci[r] / denom
			}
			wname := layer + ".k.w"
			if j == 1 {
				wname = layer + ".v.w"
			}
			wt, _ := w.Lookup(wname)
			wd := wt.Data().([]float32)
			C := len(e.IW)
			for c := 0; c < C; c++ {
				var v float64
				for r := 0; r < D; r++ {
					v += pc.iStar[r] * float64(wd[r*C+c])
				}
				e.IW[c] = v
			}
		}
	}
}

// addPerfusion installs a concept's edits into the session's K/V overrides
// and sets its targets: o*_K from oK (nil: locked, W_K·i_super), o*_V from
// oV (nil: W_V·i_super).
func (s *session) addPerfusion(name string, iStar, iSuper []float64, oK, oV map[string][]float32, beta, tau float64, learnV bool) (*perfusionConcept, error) {
	cinv, err := s.b.CovInverse()
	if err != nil {
		return nil, err
	}
	pc := &perfusionConcept{name: name, iStar: iStar, iSuper: iSuper, cinv: cinv, layers: s.b.crossLayers()}
	for _, layer := range pc.layers {
		wk, _ := s.w.Lookup(layer + ".k.w")
		C := wk.Shape()[1]
		D := len(iStar)
		ke := &ops.RankOneEdit{U: make([]float64, D), IW: make([]float64, C), Beta: beta, Tau: tau}
		ve := &ops.RankOneEdit{U: make([]float64, D), IW: make([]float64, C), Beta: beta, Tau: tau}
		pc.kEdits, pc.vEdits = append(pc.kEdits, ke), append(pc.vEdits, ve)
		pl, ok := s.kv[layer].(*perfusionLayer)
		if !ok {
			pl = &perfusionLayer{}
			s.kv[layer] = pl
		}
		pl.kEdits, pl.vEdits, pl.names = append(pl.kEdits, ke), append(pl.vEdits, ve), append(pl.names, name)
		pl.learnV = pl.learnV || learnV
		// Targets live in the session's weights.
		ok2 := s.w.Get(layer+"."+perfPrefix+"."+name+".o_k", []int{C}, nn.Zeros).Data().([]float32)
		ov := s.w.Get(layer+"."+perfPrefix+"."+name+".o_v", []int{C}, nn.Zeros).Data().([]float32)
		wv, _ := s.w.Lookup(layer + ".v.w")
		if k, ok := oK[layer]; ok && len(k) == C {
			copy(ok2, k)
		} else {
			project(iSuper, wk.Data().([]float32), C, ok2)
		}
		if v, ok := oV[layer]; ok && len(v) == C {
			copy(ov, v)
		} else {
			project(iSuper, wv.Data().([]float32), C, ov)
		}
	}
	pc.refresh(s.w)
	return pc, nil
}

// project writes eᵀW for W [D, C] into out.
func project(e []float64, w []float32, C int, out []float32) {
	for c := 0; c < C; c++ {
		var v float64
		for r := range e {
			v += e[r] * float64(w[r*C+c])
		}
		out[c] = float32(v)
	}
}

// loraHook adds scale·(x·A)·B for the named adapters of one layer.
func loraHook(names []string, scales []float64, rank int) nn.LinearHook {
	return func(s nn.Scope, x, plain *nn.Node) *nn.Node {
		in, out := lastDimOf(x), lastDimOf(plain)
		y := plain
		for i, name := range names {
			ls := s.Sub(loraPrefix).Sub(name)
			a := ls.Param("down", []int{in, rank}, nn.FanIn(in))
			b := ls.Param("up", []int{rank, out}, nn.Zeros)
			y = s.G.B.Add(y, s.G.B.Scale(s.G.B.Linear(s.G.B.Linear(x, a, nil), b, nil), scales[i]))
		}
		return y
	}
}

// TrainConcept learns a new concept from opt.Data with the chosen method.
// Cancelling ctx stops it with ctx.Err() and returns no concept.
func (b *Base) TrainConcept(ctx context.Context, opt TrainOptions, progress func(TrainProgress)) (*Concept, error) {
	if err := ValidName(opt.Name); err != nil {
		return nil, err
	}
	if opt.Data == nil {
		return nil, errors.New("no training images")
	}
	impl, err := methodOf(opt.Method)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be trained", ErrMethod, opt.Method)
	}
	d := impl.defaults()
	if opt.Steps == 0 {
		opt.Steps = d.Steps
	}
	if opt.Batch == 0 {
		opt.Batch = d.Batch
	}
	if opt.LR == 0 {
		opt.LR = d.LR
	}
	if opt.EmbedLR == 0 {
		opt.EmbedLR = d.EmbedLR
	}
	if opt.Rank == 0 {
		opt.Rank = d.Rank
	}
	if opt.Alpha == 0 {
		opt.Alpha = d.Alpha
	}
	if progress == nil {
		progress = func(TrainProgress) {}
	}
	start := time.Now()
	copies := impl.copies(b, nil)
	s := b.newSession(copies...)
	id, err := s.tok.BindPseudoWord(opt.Name)
	if err != nil {
		return nil, err
	}
	D := b.Cfg.TextDim
	// Start the pseudo-word's embedding at the class word's (the last word).
	classWords := dataset.Words(opt.Class)
	if len(classWords) == 0 {
		return nil, fmt.Errorf("the class (super-category) is empty")
	}
	classID, ok := s.tok.ID(classWords[len(classWords)-1])
	if !ok {
		return nil, fmt.Errorf("the model does not know the class word %q", classWords[len(classWords)-1])
	}
	table, _ := s.w.Lookup(tokTable)
	td := table.Data().([]float32)
	copy(td[id*D:(id+1)*D], td[classID*D:(classID+1)*D])

	tr := &training{b: b, s: s, word: id, opt: opt, d: d, learn: map[string]bool{tokTable: true}, copies: copies}
	if err := impl.prepare(ctx, tr); err != nil {
		return nil, err
	}
	if opt.InitFromEncoder && opt.Method != E4T {
		if err := startFromEncoder(tr); err != nil {
			return nil, err
		}
	}
	learnNames, pc, prior := tr.learn, tr.pc, tr.prior
	if opt.TrainKeys && opt.Method != Perfusion {
		return nil, fmt.Errorf("trained keys are a Perfusion ablation; %s has no key targets", opt.Method)
	}
	if opt.GlobalLocking {
		if opt.Method != Perfusion {
			return nil, fmt.Errorf("global locking is a Perfusion option; %s does not lock keys", opt.Method)
		}
		if opt.TrainKeys {
			return nil, errors.New("global locking and trained keys exclude each other: trained keys are not locked")
		}
		if err := s.globalLocking([]ConceptUse{{Concept: &Concept{Name: opt.Name, Class: opt.Class, Method: Perfusion}}}); err != nil {
			return nil, err
		}
	}
	frozen := func(name string) bool { return !learnNames[name] }
	reps, err := newReplicas(s.w, b.Cfg, opt.Batch, opt.Replicas, model.NetOptions{Frozen: frozen, KV: s.kv, Linear: s.linear, KeyText: s.keyMap != nil}, nil)
	if err != nil {
		return nil, err
	}
	defer reps.Close()

	// The optimizer sees the embedding row only, and the method's weights.
	var params []*optim.Param
	var embParam, embFull *optim.Param
	for _, p := range reps.Params {
		if p.Name == tokTable {
			embFull = p
			embParam = &optim.Param{Name: "emb", Value: p.Value[id*D : (id+1)*D], Group: 1}
			params = append(params, embParam)
			continue
		}
		params = append(params, p)
	}
	adam := optim.NewAdamW(optim.Group{LR: opt.LR}, optim.Group{LR: opt.EmbedLR})

	pcg := rand.NewPCG(opt.Seed, 0xC0C0)
	rng := rand.New(pcg)
	first := 0
	ck := conceptCheckpoint{path: opt.Checkpoint, opt: opt, params: params, adam: adam, pcg: pcg, pc: pc, start: start}
	if opt.Checkpoint != "" {
		if first, err = ck.load(s.w); err != nil {
			return nil, err
		}
		if first > 0 {
			progress(TrainProgress{Step: first, Total: opt.Steps, Message: fmt.Sprintf("resumed at step %d", first)})
		}
	}
	B, S, C := opt.Batch, b.Cfg.ImageSize, b.Cfg.InChannels
	per := S * S * C
	L := b.Cfg.MaxLen
	x0 := make([]float32, B*per)
	// On a latent base the samples are pictures at the autoencoder's size
	// (opt.Data renders at PictureSize), trained on as their latents.
	P := b.PictureSize()
	var pix []float32
	if b.AE != nil {
		pix = make([]float32, B*P*P*3)
	}
	noise := make([]float32, B*per)
	ids := make([]int, B*L)
	lengths := make([]int, B)
	var frames [][model.FrameSlots]model.Frame
	if b.Cfg.Frames {
		frames = make([][model.FrameSlots]model.Frame, B)
	}
	refs, rper := b.refBuffer(B)
	var loss float64
	loop := &optim.Loop{
		Params: params, Adam: adam,
		Grads: func(int) (float64, error) {
			for i := 0; i < B; i++ {
				var caption string
				dst := x0[i*per : (i+1)*per]
				if pix != nil {
					dst = pix[i*P*P*3 : (i+1)*P*P*3]
				}
				var f [model.FrameSlots]model.Frame
				if prior != nil && i%2 == 1 {
					caption = prior.sample(rng, dst) // generated: where it put things is not kept
					clear(refsOf(refs, i, rper))
				} else {
					caption, f = b.sampleFramed(opt.Data, rng, dst, refsOf(refs, i, rper))
				}
				if frames != nil {
					frames[i] = f
				}
				enc, n, err := s.encode(caption)
				if err != nil {
					return 0, fmt.Errorf("training caption %q: %w", caption, err)
				}
				copy(ids[i*L:(i+1)*L], enc)
				lengths[i] = n
			}
			if pix != nil {
				z, err := b.encodePictures(pix, B)
				if err != nil {
					return 0, err
				}
				copy(x0, z)
			}
			nb, err := b.noiseBatch(rng, x0, noise, B, lossWeighting{minSNR: d.MinSNR})
			if err != nil {
				return 0, err
			}
			var keys []int
			if s.keyMap != nil {
				keys = s.keyIDs(ids)
			}
			loss, err = reps.run(func(net *model.Net, lo, hi int) error {
				if err := net.Set(nb.xt[lo*per:hi*per], nb.t[lo:hi], ids[lo*L:hi*L], lengths[lo:hi], nb.target[lo*per:hi*per], nb.weights[lo:hi]); err != nil {
					return err
				}
				if err := setPlaces(net, frames, refs, rper, lo, hi); err != nil {
					return err
				}
				if keys != nil {
					return net.SetKeyIDs(keys[lo*L : hi*L])
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
			embParam.Grad = embFull.Grad[id*D : (id+1)*D]
			return loss, nil
		},
		After: func(done int, _ bool) error {
			if pc != nil {
				pc.updateIStar(reps, ids, id, L, D)
				pc.refresh(s.w)
			}
			p := TrainProgress{Step: done, Total: opt.Steps, Loss: loss}
			if opt.PreviewEvery > 0 && done%opt.PreviewEvery == 0 {
				imgs, err := s.generate(ctx, GenerateOptions{Prompt: "a " + opt.Name + "*", N: 1, Seed: 1, Steps: 15, Guidance: DefaultGuidance}, nil)
				if err == nil {
					p.Preview = imgs[0]
				}
			}
			progress(p)
			return nil
		},
	}
	if opt.Checkpoint != "" {
		loop.Save, loop.SaveSteps = ck.save, 25
	}
	if _, err := loop.Run(ctx, first, opt.Steps); err != nil {
		return nil, err
	}
	if opt.Checkpoint != "" {
		defer os.Remove(opt.Checkpoint)
	}
	c := &Concept{Name: opt.Name, Class: opt.Class, Method: opt.Method, BaseID: b.ID(), Created: time.Now().UTC(),
		Tensors:  map[string]Tensor{"emb": {Shape: []int{1, D}, Data: append([]float32(nil), embParam.Value...)}},
		Settings: ConceptSettings{Steps: opt.Steps, Images: opt.Images, TrainSeconds: ck.prior + time.Since(start).Seconds()}}
	impl.finish(tr, c)
	return c, nil
}

// updateIStar moves i* towards the mean encoding of the concept token in
// this batch (EMA, decay 0.99).
func (pc *perfusionConcept) updateIStar(reps *replicas, ids []int, id, L, D int) {
	mean := make([]float64, D)
	n := 0
	for r, net := range reps.nets {
		enc := net.Encoding()
		for i := 0; i < reps.per; i++ {
			row := ids[(r*reps.per+i)*L : (r*reps.per+i+1)*L]
			for p, t := range row {
				if t == id {
					for k := 0; k < D; k++ {
						mean[k] += float64(enc[(i*L+p)*D+k])
					}
					n++
				}
			}
		}
	}
	if n == 0 {
		return
	}
	for k := range pc.iStar {
		pc.iStar[k] = 0.99*pc.iStar[k] + 0.01*mean[k]/float64(n)
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func toF32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// priorSet holds DreamBooth's class images, generated by the frozen model.
type priorSet struct {
	images   [][]float32
	captions []string
}

func (p *priorSet) sample(rng *rand.Rand, dst []float32) string {
	i := rng.IntN(len(p.images))
	copy(dst, p.images[i])
	return p.captions[i]
}

// makePrior generates n images of "a CLASS" with the base model.
func (b *Base) makePrior(ctx context.Context, class string, n int, seed uint64) (*priorSet, error) {
	imgs, err := b.Generate(ctx, GenerateOptions{Prompt: "a " + class, N: n, Seed: seed ^ 0x9E37, Steps: 20, Guidance: DefaultGuidance}, nil)
	if err != nil {
		return nil, fmt.Errorf("generating class images for prior preservation: %w", err)
	}
	p := &priorSet{}
	S := b.PictureSize()
	for _, img := range imgs {
		p.images = append(p.images, FromImage(img, S))
		p.captions = append(p.captions, "a "+class)
	}
	return p, nil
}

// FromImage converts an S×S image to NHWC floats in [-1, 1].
func FromImage(img image.Image, S int) []float32 {
	out := make([]float32, S*S*3)
	for y := 0; y < S; y++ {
		for x := 0; x < S; x++ {
			r, g, bb, _ := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
			o := (y*S + x) * 3
			out[o], out[o+1], out[o+2] = float32(r)/32767.5-1, float32(g)/32767.5-1, float32(bb)/32767.5-1
		}
	}
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
