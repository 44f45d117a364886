package model

import (
	"cmp"
	"fmt"

	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
)

// NetOptions choose what a Net computes.
type NetOptions struct {
	Batch  int
	Train  bool                   // add the loss and its backward pass
	Frozen func(name string) bool // weights that get no gradient (nil: none)
	KV     map[string]nn.KV       // cross-attention K/V overrides by layer path
	Linear map[string]nn.LinearHook
	// KeyText adds a second pass of the text encoder over key ids (set
	// with SetKeyIDs) whose encoding the K/V overrides may use for keys:
	// Perfusion's global locking.
	KeyText bool
	// TextOnly builds only the text encoder (for encodings: Perfusion's
	// statistics, class-word encodings).
	TextOnly bool
	// Unshared gives every buffer its own memory (tests that check the
	// memory plan).
	Unshared bool
	// PlaceGuide adds an input of per-token place maps [B, MaxLen, G·G]
	// (G the lowest level's grid; set with SetPlaceGuide, zero until then)
	// added to the image-to-text attention scores of every cross-attention
	// layer, on top of TextPlaces' own maps: layout guidance at sampling.
	PlaceGuide bool
	// Align adds representation alignment (REPA, Yu et al. 2024) to the
	// training loss: a two-layer MLP of the middle block's output predicts,
	// at each place of the lowest level's grid, Align features of the clean
	// image from another network (set with SetAlign, unit length per
	// place), and its squared error, times AlignScale², joins the loss (one
	// mean squared error over the prediction and the features together).
	// The MLP's weights live under AlignScope; they are training's only and
	// change nothing the network draws.
	Align      int
	AlignScale float64
	// Middle keeps the middle block's output for Middle (the E4T-style
	// encoder reads the frozen UNet's features of a noised picture).
	Middle bool
}

// AlignScope holds the alignment MLP's weights (NetOptions.Align); model
// files leave them out.
const AlignScope = "align"

// AlignHidden is the alignment MLP's hidden width.
const AlignHidden = 256

// Net is the text encoder and UNet compiled for one batch size. Fill its
// inputs with Set, Run it, read Output, Loss and Grad.
type Net struct {
	Cfg   Config
	Batch int
	g     *nn.Graph
	prog  *ops.Program

	ids, pos       *ops.TokenIDs
	out, loss, enc *nn.Node
	hasTarget      bool
	keyIDs         *ops.TokenIDs
	zeroIDs        *ops.TokenIDs // TextLayout, TextPooled: B zeros, to repeat the pooling query (pool)
	textOnly       bool
	guide          bool
	align          int
	mid            *nn.Node // kept with NetOptions.Middle
}

// Input names.
const (
	inGuide  = "place_guide"
	inX      = "x"
	inTime   = "tsin"
	inTarget = "target"
	inWeight = "loss_weight"
	inAlign  = "align_target"
	inFrames = "frames"
	inFrameW = "frame_words"
	inSelf   = "self_cond"
	inRefs   = "refs"
)

// Build compiles a Net over weights w (missing weights are created from
// w's seed). Shape mistakes come back as errors.
func Build(w *nn.Weights, c Config, opt NetOptions) (*Net, error) {
	return ops.Retry(func() (*Net, error) { return build(w, c, opt) })
}

// build is one try of Build.
func build(w *nn.Weights, c Config, opt NetOptions) (n *Net, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if opt.Batch < 1 {
		return nil, fmt.Errorf("model: batch %d", opt.Batch)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("model: building the network: %v", r)
		}
	}()
	g := nn.NewGraph(w, opt.Frozen)
	g.B.Unshared = opt.Unshared
	for k, v := range opt.KV {
		g.KV[k] = v
	}
	for k, v := range opt.Linear {
		g.Linear[k] = v
	}
	n = &Net{Cfg: c, Batch: opt.Batch, g: g, ids: &ops.TokenIDs{}, pos: &ops.TokenIDs{}}
	B, S, C := opt.Batch, c.latentSize(), c.latentChannels()
	n.pos.IDs = make([]int, B*c.MaxLen)
	for i := range n.pos.IDs {
		n.pos.IDs[i] = i % c.MaxLen
	}
	root := g.Root()
	n.enc = TextEncoder(root.Sub("text"), c, n.ids, n.pos, B)
	if opt.KeyText {
		n.keyIDs = &ops.TokenIDs{}
		g.KeyCtx = TextEncoder(root.Sub("text"), c, n.keyIDs, n.pos, B)
	}
	if opt.TextOnly {
		n.textOnly = true
		if n.prog, err = g.B.Compile(nil, n.enc); err != nil {
			return nil, err
		}
		return n, nil
	}
	x := g.B.Input(inX, B, S, S, C)
	tsin := g.B.Input(inTime, B, c.Channels[0])
	var layout *nn.Node
	var maps *nn.Node // [B, L, G·G] place maps added to cross-attention scores
	grid := c.GuideGrid()
	if opt.PlaceGuide {
		maps = g.B.Input(inGuide, B, c.MaxLen, grid*grid)
		n.guide = true
	}
	if c.TextLayout {
		d := grid * grid * LayoutDim
		ls := root.Sub(TextLayoutScope)
		rows := g.B.Embedding(ls.Param("words", []int{c.Vocab, d}, nn.Zeros), n.ids, B, c.MaxLen)
		if c.TextPlaces {
			ps := ls.Sub("places")
			h := g.B.GELU(ps.Sub("fc1").Linear(n.enc, PlacesHidden, true))
			learned := ps.Sub("fc2").LinearZero(h, grid*grid)
			if maps != nil {
				learned = g.B.Add(learned, maps)
			}
			maps = learned
		}
		layout = n.pool(ls, rows, d, B)
	}
	if maps != nil {
		spread := map[[2]int]*nn.Node{}
		g.PlaceBias = func(h, w int) *nn.Node {
			if spread[[2]int{h, w}] == nil {
				spread[[2]int{h, w}] = g.B.PlaceBias(maps, h, w)
			}
			return spread[[2]int{h, w}]
		}
	}
	var pooled *nn.Node
	if c.TextPooled {
		pooled = g.B.Reshape(n.pool(root.Sub(TextPooledScope), n.enc, c.TextDim, B), B, c.TextDim)
	}
	var mid *nn.Node
	var frames, parts *nn.Node
	if c.Frames {
		frames = g.B.Input(inFrames, B, S, S, c.FrameChannels())
		if c.FrameParts > 0 {
			parts = n.frameParts(root.Sub(FramePartsScope), frames, g.B.Input(inFrameW, B, FrameSlots, c.MaxLen), B)
		}
	}
	var selfCond *nn.Node
	if c.SelfCond {
		selfCond = g.B.Input(inSelf, B, S, S, C)
	}
	var refs *nn.Node
	if c.Refs {
		refs = g.B.Input(inRefs, B, S, S, c.RefChannels())
	}
	n.out, mid = unet(root.Sub("unet"), c, x, tsin, n.enc, layout, pooled, frames, parts, selfCond, refs)
	var cost *nn.Node
	if opt.Train {
		target := g.B.Input(inTarget, B, S, S, C)
		lw := g.B.Input(inWeight, B)
		pred, want := n.out, target
		if opt.Align > 0 {
			// One loss over the prediction and the alignment together: the
			// two joined per sample, the features scaled by AlignScale.
			as := root.Sub(AlignScope)
			head := as.Sub("fc2").LinearZero(g.B.SiLU(as.Sub("fc1").Linear(mid, AlignHidden, true)), opt.Align)
			feats := g.B.Input(inAlign, B, grid, grid, opt.Align)
			n1, n2 := S*S*C, grid*grid*opt.Align
			s := cmp.Or(opt.AlignScale, 1)
			pred = g.B.Concat(g.B.Reshape(n.out, B, n1), g.B.Reshape(g.B.Scale(head, s), B, n2))
			want = g.B.Concat(g.B.Reshape(target, B, n1), g.B.Reshape(g.B.Scale(feats, s), B, n2))
			n.align = opt.Align
		}
		n.loss = g.B.WeightedMSE(pred, want, lw)
		cost = n.loss
		n.hasTarget = true
	}
	keep := []*nn.Node{n.out, n.enc}
	if opt.Middle {
		n.mid = mid
		keep = append(keep, mid)
	}
	if n.prog, err = g.B.Compile(cost, keep...); err != nil {
		return nil, err
	}
	return n, nil
}

// Middle returns the middle block's output [B, G, G, Channels[last]] after
// Run (G the lowest level's grid); nil unless built with
// NetOptions.Middle.
func (n *Net) Middle() []float32 {
	if n.mid == nil {
		return nil
	}
	return toF32(ops.Value(n.mid))
}

// SetExtra fills an input that a K/V override or a linear hook added to
// the graph (by its name), with exactly its number of values.
func (n *Net) SetExtra(name string, src []float32) error {
	if n.g.B.InputNode(name) == nil {
		return fmt.Errorf("model: the network has no input %q", name)
	}
	if v := n.g.B.InputValue(name); v.Size() != len(src) {
		return fmt.Errorf("model: input %q takes %d values, got %d", name, v.Size(), len(src))
	}
	n.fillRaw(name, src)
	return nil
}

// Memory describes the net's planned buffers.
func (n *Net) Memory() ops.MemoryStats { return n.prog.Memory() }

// Close frees the compiled program.
func (n *Net) Close() error { return n.prog.Close() }

// Set fills the inputs: x [B, ImageSize, ImageSize, InChannels] (image
// space; unshuffled here when the config says so), timesteps t [B], token
// ids [B·MaxLen] with their unpadded lengths [B]; for training also the
// target (image space) and per-sample loss weights (nil: all 1).
func (n *Net) Set(x []float32, t []float64, ids, lengths []int, target []float32, weights []float32) error {
	c := n.Cfg
	B := n.Batch
	if len(t) != B || len(ids) != B*c.MaxLen || len(lengths) != B {
		return fmt.Errorf("model: inputs for batch %d: %d timesteps, %d ids, %d lengths", B, len(t), len(ids), len(lengths))
	}
	per := c.ImageSize * c.ImageSize * c.InChannels
	if len(x) != B*per && !n.textOnly {
		return fmt.Errorf("model: x has %d values, want %d", len(x), B*per)
	}
	for _, id := range ids {
		if id < 0 || id >= c.Vocab {
			return fmt.Errorf("model: token id %d outside the vocabulary of %d", id, c.Vocab)
		}
	}
	n.ids.IDs = ids
	n.g.TextLen.L = lengths
	if n.keyIDs != nil && len(n.keyIDs.IDs) != len(ids) {
		n.keyIDs.IDs = ids // keys from the prompt itself unless SetKeyIDs says otherwise
	}
	if n.textOnly {
		return nil
	}
	n.fill(inX, x)
	if c.SelfCond {
		n.fillRaw(inSelf, make([]float32, len(x))) // no estimate unless SetSelfCond says
	}
	if c.Refs {
		n.fillRaw(inRefs, make([]float32, B*c.ImageSize*c.ImageSize*RefPixelChannels)) // no references unless SetRefs says
	}
	if c.Frames {
		n.fillRaw(inFrames, make([]float32, n.Batch*c.latentSize()*c.latentSize()*c.FrameChannels())) // no frames unless SetFrames says
		if c.FrameParts > 0 {
			n.fillRaw(inFrameW, c.FrameWordBias(make([][FrameSlots]Frame, n.Batch)))
		}
	}
	sin := make([]float32, B*c.Channels[0])
	kernels.TimestepEmbedding(t, c.Channels[0], sin)
	n.fill(inTime, sin)
	if n.hasTarget {
		if len(target) != len(x) {
			return fmt.Errorf("model: target has %d values, want %d", len(target), len(x))
		}
		n.fill(inTarget, target)
		w := weights
		if w == nil {
			w = make([]float32, B)
			for i := range w {
				w[i] = 1
			}
		}
		if len(w) != B {
			return fmt.Errorf("model: %d loss weights for batch %d", len(w), B)
		}
		n.fillRaw(inWeight, w)
	}
	return nil
}

// SetAlign fills the alignment's features (NetOptions.Align): [B, G, G,
// Align], G the lowest level's grid, each place's vector of unit length.
func (n *Net) SetAlign(feats []float32) error {
	if n.align == 0 {
		return fmt.Errorf("model: the net was built without alignment")
	}
	g := n.Cfg.GuideGrid()
	if len(feats) != n.Batch*g*g*n.align {
		return fmt.Errorf("model: %d alignment features, want %d", len(feats), n.Batch*g*g*n.align)
	}
	n.fillRaw(inAlign, feats)
	return nil
}

// SetSelfCond fills the network's previous estimate of the clean
// pictures (Config.SelfCond), in image space like Set's x; call it after
// Set, which clears it. Zeros are "no estimate".
func (n *Net) SetSelfCond(x0 []float32) error {
	if !n.Cfg.SelfCond {
		return fmt.Errorf("model: the network takes no estimate of its own")
	}
	if per := n.Cfg.ImageSize * n.Cfg.ImageSize * n.Cfg.InChannels; len(x0) != n.Batch*per {
		return fmt.Errorf("model: %d estimate values, want %d", len(x0), n.Batch*per)
	}
	n.fill(inSelf, x0)
	return nil
}

// SetRefs fills each picture's reference pictures (Config.Refs): [B,
// ImageSize, ImageSize, RefPixelChannels] in image space, each pixel the
// reference's colour in [−1, 1] premultiplied by its alpha, then the
// alpha; call it after Set, which clears them. Zeros are "no reference".
func (n *Net) SetRefs(refs []float32) error {
	c := n.Cfg
	if !c.Refs {
		return fmt.Errorf("model: the network takes no reference pictures")
	}
	if per := c.ImageSize * c.ImageSize * RefPixelChannels; len(refs) != n.Batch*per {
		return fmt.Errorf("model: %d reference values, want %d", len(refs), n.Batch*per)
	}
	if c.Unshuffle {
		dst := make([]float32, len(refs))
		SpaceToDepth(n.Batch, c.ImageSize, RefPixelChannels, refs, dst)
		refs = dst
	}
	n.fillRaw(inRefs, refs)
	return nil
}

// SetFrames fills where each picture's objects go (Config.Frames), one
// set per picture of the batch; call it after Set, which clears them. A
// nil or zero set is a picture without frames.
func (n *Net) SetFrames(frames [][FrameSlots]Frame) error {
	if !n.Cfg.Frames {
		return fmt.Errorf("model: the network takes no frames")
	}
	if len(frames) != n.Batch {
		return fmt.Errorf("model: %d frame sets for batch %d", len(frames), n.Batch)
	}
	n.fillRaw(inFrames, n.Cfg.FrameMaps(frames))
	if n.Cfg.FrameParts > 0 {
		n.fillRaw(inFrameW, n.Cfg.FrameWordBias(frames))
	}
	return nil
}

// framePartsDim is the width of FrameParts' keys and values, and
// framePartsHeads its attention's heads.
const (
	framePartsDim   = 64
	framePartsHeads = 4
)

// frameParts builds Config.FrameParts' templates: [B, S, S, Channels[0]]
// to add after the first convolution (zero at the start). frames [B, S,
// S, FrameChannels]; bias [B, FrameSlots, MaxLen] (FrameWordBias).
func (n *Net) frameParts(s nn.Scope, frames, bias *nn.Node, B int) *nn.Node {
	c := n.Cfg
	b := s.G.B
	K, D := c.FrameParts, framePartsDim
	// Each slot's words pooled from the encodings (queries start at zero:
	// a plain mean of the slot's tokens).
	slotIDs := &ops.TokenIDs{IDs: make([]int, B*FrameSlots)}
	for i := range slotIDs.IDs {
		slotIDs.IDs[i] = i % FrameSlots
	}
	q := b.Embedding(s.Param("slot_query", []int{FrameSlots, c.TextDim}, nn.Zeros), slotIDs, B, FrameSlots)
	words := b.AttentionBiased(q, n.enc, n.enc, bias, 1, false, s.G.TextLen) // [B, FrameSlots, TextDim]
	// K values per slot: the template's parts.
	values := b.Reshape(s.Sub("values").Linear(words, K*D, true), B, FrameSlots*K, D)
	partIDs := &ops.TokenIDs{IDs: make([]int, B*FrameSlots*K)}
	for i := range partIDs.IDs {
		partIDs.IDs[i] = i % (FrameSlots * K)
	}
	keys := b.Embedding(s.Param("keys", []int{FrameSlots * K, D}, nn.Normal(1)), partIDs, B, FrameSlots*K)
	// Each place asks, by its frame features, which part of which thing it is.
	query := s.Sub("query").Linear(b.GELU(s.Sub("place").Linear(frames, D, true)), D, true)
	got := b.Attention(query, keys, values, framePartsHeads, false, nil)
	return s.Sub("out").LinearZero(got, c.Channels[0])
}

// fill copies an image-space tensor into a graph input, unshuffling when
// configured.
func (n *Net) fill(name string, src []float32) {
	if (name == inX || name == inTarget || name == inSelf) && n.Cfg.Unshuffle {
		dst := make([]float32, len(src))
		SpaceToDepth(n.Batch, n.Cfg.ImageSize, n.Cfg.InChannels, src, dst)
		src = dst
	}
	n.fillRaw(name, src)
}

func (n *Net) fillRaw(name string, src []float32) {
	nn.CopyFloat32(n.g.B.InputValue(name), src)
}

// Run computes the outputs (and, when training, the loss and gradients).
func (n *Net) Run() error { return n.prog.Run() }

// Output returns the prediction in image space after Run.
func (n *Net) Output() []float32 {
	raw := toF32(ops.Value(n.out))
	if !n.Cfg.Unshuffle {
		return raw
	}
	out := make([]float32, len(raw))
	DepthToSpace(n.Batch, n.Cfg.ImageSize, n.Cfg.InChannels, raw, out)
	return out
}

// Loss returns the loss after a training Run.
func (n *Net) Loss() float64 { return ops.ScalarValue(n.loss) }

// Encoding returns the text encoder's output [B, MaxLen, TextDim].
func (n *Net) Encoding() []float32 { return toF32(ops.Value(n.enc)) }

// Params lists the weights bound in this net, with whether they learn.
func (n *Net) Params() []*ops.Param { return n.g.B.Params() }

// Grad returns the last gradient of a learnable weight (nil if none).
func (n *Net) Grad(p *ops.Param) *tensor.Dense { return n.prog.Grad(p) }

func toF32(t *tensor.Dense) []float32 {
	switch d := t.Data().(type) {
	case []float32:
		return d
	case []float64:
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = float32(v)
		}
		return out
	}
	return nil
}

// SpaceToDepth moves each 2×2 pixel block into channels: [B,S,S,C] →
// [B,S/2,S/2,4C], channel order (dy, dx, c).
func SpaceToDepth(b, s, c int, src, dst []float32) {
	h := s / 2
	for n := 0; n < b; n++ {
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				o := ((n*h+y/2)*h+x/2)*4*c + ((y%2)*2+x%2)*c
				copy(dst[o:o+c], src[((n*s+y)*s+x)*c:][:c])
			}
		}
	}
}

// DepthToSpace inverts SpaceToDepth.
func DepthToSpace(b, s, c int, src, dst []float32) {
	h := s / 2
	for n := 0; n < b; n++ {
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				o := ((n*h+y/2)*h+x/2)*4*c + ((y%2)*2+x%2)*c
				copy(dst[((n*s+y)*s+x)*c:][:c], src[o:o+c])
			}
		}
	}
}

// FLOPs is the forward pass's matrix work for the whole batch.
func (n *Net) FLOPs() float64 { return n.g.B.FLOPs() }

// AddCrossAttention adds into dst[j] (one size×size map per token
// position j < MaxLen) where batch row r's image attended to token j in
// the last Run: the softmax weight of every query position, averaged over
// heads and over the cross-attention layers, each layer's map resized
// bilinearly from its feature map to size×size. The maps of one layer sum
// to 1 over tokens at every pixel.
func (n *Net) AddCrossAttention(r, size int, dst [][]float32) {
	sites := n.g.CrossAttn
	if len(sites) == 0 {
		return
	}
	wl := 1 / float32(len(sites))
	for _, site := range sites {
		probs, s, ok := ops.AttentionProbs(site.Node)
		if !ok || s.Lq != site.H*site.W {
			continue
		}
		// mean over heads: [Lq, Lk]
		m := make([]float32, s.Lq*s.Lk)
		wh := wl / float32(s.Heads)
		for h := 0; h < s.Heads; h++ {
			p := probs[((r*s.Heads+h)*s.Lq)*s.Lk:][:s.Lq*s.Lk]
			for i, v := range p {
				m[i] += v * wh
			}
		}
		for j := 0; j < s.Lk && j < len(dst); j++ {
			resizeAdd(m, j, s.Lk, site.H, site.W, size, dst[j])
		}
	}
}

// resizeAdd adds column j of m (an h×w map stored as [h·w, stride]) to
// dst (size×size), bilinearly with pixel centres aligned.
func resizeAdd(m []float32, j, stride, h, w, size int, dst []float32) {
	at := func(y, x int) float32 {
		y, x = min(max(y, 0), h-1), min(max(x, 0), w-1)
		return m[(y*w+x)*stride+j]
	}
	for py := 0; py < size; py++ {
		fy := (float64(py)+0.5)*float64(h)/float64(size) - 0.5
		y0 := int(fy)
		if fy < 0 {
			y0 = -1
		}
		ty := float32(fy - float64(y0))
		for px := 0; px < size; px++ {
			fx := (float64(px)+0.5)*float64(w)/float64(size) - 0.5
			x0 := int(fx)
			if fx < 0 {
				x0 = -1
			}
			tx := float32(fx - float64(x0))
			v := (1-ty)*((1-tx)*at(y0, x0)+tx*at(y0, x0+1)) + ty*((1-tx)*at(y0+1, x0)+tx*at(y0+1, x0+1))
			dst[py*size+px] += v
		}
	}
}

// GuideGrid is the side of the place maps' grid (SetPlaceGuide's G).
func (c Config) GuideGrid() int { return c.latentSize() >> (len(c.Channels) - 1) }

// SetPlaceGuide sets the place maps of a PlaceGuide net: [B, MaxLen,
// G·G] values added to each token's attention scores at the places of a
// G×G grid over the image (nil: all zero, no guidance).
func (n *Net) SetPlaceGuide(maps []float32) error {
	if !n.guide {
		return fmt.Errorf("model: this net has no place guide")
	}
	g := n.Cfg.GuideGrid()
	if maps == nil {
		maps = make([]float32, n.Batch*n.Cfg.MaxLen*g*g)
	}
	if len(maps) != n.Batch*n.Cfg.MaxLen*g*g {
		return fmt.Errorf("model: %d place-guide values for batch %d, want %d", len(maps), n.Batch, n.Batch*n.Cfg.MaxLen*g*g)
	}
	n.fillRaw(inGuide, maps)
	return nil
}

// SetKeyIDs sets the token ids whose encoding gives the keys (KeyText
// nets), one row per sample like Set's ids; call it after Set.
func (n *Net) SetKeyIDs(ids []int) error {
	if n.keyIDs == nil {
		return fmt.Errorf("model: this net has no key text")
	}
	if len(ids) != n.Batch*n.Cfg.MaxLen {
		return fmt.Errorf("model: %d key ids for batch %d", len(ids), n.Batch)
	}
	n.keyIDs.IDs = ids
	return nil
}

// pool pools rows [B, L, d] over each prompt's tokens by attention with a
// learned query (s's "query", zero at the start: a plain mean of the
// prompt's rows), giving [B, 1, d]. TextLayout's word maps and
// TextPooled's encodings are pooled so.
func (n *Net) pool(s nn.Scope, rows *nn.Node, d, B int) *nn.Node {
	if n.zeroIDs == nil {
		n.zeroIDs = &ops.TokenIDs{IDs: make([]int, B)}
	}
	q := s.G.B.Embedding(s.Param("query", []int{1, d}, nn.Zeros), n.zeroIDs, B, 1)
	return s.G.B.Attention(q, rows, rows, 1, false, s.G.TextLen)
}
