// Package autoenc is the latent design's autoencoder (issue "Pictures a
// person recognises", design B): a small convolutional encoder that turns
// a 64×64 render into a 16×16×4 latent (f = 4, as Stable Diffusion's VAE
// does at f = 8) and a decoder that draws it back, trained first on the
// world's renders so that a UNet of today's cost can then be trained on
// its latents and draw 64-pixel pictures whose edges the decoder draws.
//
// Encoder: per level a 3×3 convolution (stride 2 from the second level
// on) and a second 3×3 convolution, each followed by GroupNorm and SiLU,
// then a 1×1 convolution to the latent's channels. Decoder: a 3×3
// convolution from the latent, then per level (coarsest first) two 3×3
// convolutions with GroupNorm and SiLU and a nearest-neighbour ×2
// upsampling between levels, then a 3×3 convolution to RGB. The loss is
// the mean squared error of the reconstruction.
package autoenc

import (
	"fmt"

	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
)

// Config is the autoencoder's shape.
type Config struct {
	ImageSize int   `json:"image_size"` // pixels per side of the pictures
	Latent    int   `json:"latent"`     // channels of the latent
	Channels  []int `json:"channels"`   // per level, finest first; each level after the first halves the side
	Groups    int   `json:"groups"`     // GroupNorm groups
}

// Default is design B's autoencoder: 64×64×3 ↔ 16×16×4, 32/64/128
// channels.
func Default() Config {
	return Config{ImageSize: 64, Latent: 4, Channels: []int{32, 64, 128}, Groups: 8}
}

// Tiny is a test-sized autoencoder: 16×16×3 ↔ 8×8×2.
func Tiny() Config { return Config{ImageSize: 16, Latent: 2, Channels: []int{8, 8}, Groups: 4} }

// Factor is how many pixels one latent place stands for, per side.
func (c Config) Factor() int { return 1 << (len(c.Channels) - 1) }

// LatentSize is the latent's side.
func (c Config) LatentSize() int { return c.ImageSize / c.Factor() }

// Validate says what is wrong with a configuration.
func (c Config) Validate() error {
	switch {
	case c.ImageSize < 4 || c.Latent < 1 || len(c.Channels) < 1 || c.Groups < 1:
		return fmt.Errorf("autoenc: bad config %+v", c)
	case c.ImageSize%c.Factor() != 0:
		return fmt.Errorf("autoenc: %d pixels do not halve %d times", c.ImageSize, len(c.Channels)-1)
	}
	for _, ch := range c.Channels {
		if ch%c.Groups != 0 {
			return fmt.Errorf("autoenc: %d channels do not split into %d groups", ch, c.Groups)
		}
	}
	return nil
}

// Kind says which graph Build makes.
type Kind int

const (
	Training Kind = iota // encoder, decoder and the loss, with gradients
	Encoding             // pictures to latents
	Decoding             // latents to pictures
)

const (
	inImages = "images"
	inLatent = "latent"
	inWeight = "weight"
)

// Net is one compiled graph of the autoencoder for a batch size.
type Net struct {
	Cfg   Config
	Batch int
	Kind  Kind
	g     *nn.Graph
	prog  *ops.Program
	out   *ops.Node // latents (Encode) or pictures (Train, Decode)
	loss  *ops.Node
}

// Build compiles a graph over the weights w (created on first use).
func Build(w *nn.Weights, c Config, batch int, kind Kind) (*Net, error) {
	return ops.Retry(func() (*Net, error) { return build(w, c, batch, kind) })
}

// build is one try of Build.
func build(w *nn.Weights, c Config, batch int, kind Kind) (n *Net, err error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("autoenc: building the graph: %v", r)
		}
	}()
	var frozen func(string) bool
	if kind != Training {
		frozen = func(string) bool { return true }
	}
	g := nn.NewGraph(w, frozen)
	b := g.B
	root := g.Root()
	n = &Net{Cfg: c, Batch: batch, Kind: kind, g: g}
	S, L := c.ImageSize, c.LatentSize()
	block := func(s nn.Scope, h *ops.Node, ch, stride int) *ops.Node {
		return b.SiLU(s.Sub("norm").GroupNorm(s.Sub("conv").Conv(h, ch, 3, stride), c.Groups))
	}
	encode := func(x *ops.Node) *ops.Node {
		enc := root.Sub("enc")
		h := x
		for i, ch := range c.Channels {
			stride := 2
			if i == 0 {
				stride = 1
			}
			h = block(enc.Sub(fmt.Sprintf("l%d.a", i)), h, ch, stride)
			h = block(enc.Sub(fmt.Sprintf("l%d.b", i)), h, ch, 1)
		}
		return enc.Sub("out").Conv(h, c.Latent, 1, 1)
	}
	decode := func(z *ops.Node) *ops.Node {
		dec := root.Sub("dec")
		top := len(c.Channels) - 1
		h := dec.Sub("in").Conv(z, c.Channels[top], 3, 1)
		for i := top; i >= 0; i-- {
			h = block(dec.Sub(fmt.Sprintf("l%d.a", i)), h, c.Channels[i], 1)
			h = block(dec.Sub(fmt.Sprintf("l%d.b", i)), h, c.Channels[i], 1)
			if i > 0 {
				h = b.Upsample2x(h)
			}
		}
		return dec.Sub("out").Conv(h, 3, 3, 1)
	}
	switch kind {
	case Training:
		x := b.Input(inImages, batch, S, S, 3)
		n.out = decode(encode(x))
		n.loss = b.WeightedMSE(n.out, x, b.Input(inWeight, batch))
	case Encoding:
		n.out = encode(b.Input(inImages, batch, S, S, 3))
	case Decoding:
		n.out = decode(b.Input(inLatent, batch, L, L, c.Latent))
	default:
		return nil, fmt.Errorf("autoenc: unknown graph kind %d", kind)
	}
	if n.prog, err = b.Compile(n.loss, n.out); err != nil {
		return nil, err
	}
	return n, nil
}

// Close frees the graph.
func (n *Net) Close() { n.prog.Close() }

// Run sets the input (pictures NHWC in [−1, 1] for Training and Encoding,
// latents for Decoding), runs the graph and returns its output (a copy).
func (n *Net) Run(in []float32) ([]float32, error) {
	name := inImages
	if n.Kind == Decoding {
		name = inLatent
	}
	dst := n.g.B.InputValue(name).Data().([]float32)
	if len(in) != len(dst) {
		return nil, fmt.Errorf("autoenc: %d input values for a graph of %d", len(in), len(dst))
	}
	copy(dst, in)
	if n.Kind == Training {
		ones := n.g.B.InputValue(inWeight).Data().([]float32)
		for i := range ones {
			ones[i] = 1
		}
	}
	if err := n.prog.Run(); err != nil {
		return nil, err
	}
	return append([]float32(nil), ops.Value(n.out).Data().([]float32)...), nil
}

// Loss is the last Training run's mean squared error.
func (n *Net) Loss() float64 { return ops.ScalarValue(n.loss) }

// Params are the graph's weights; Grad a learnable one's last gradient.
func (n *Net) Params() []*ops.Param { return n.g.B.Params() }

// Grad returns the last gradient of a weight (nil if none).
func (n *Net) Grad(p *ops.Param) []float32 {
	if g := n.prog.Grad(p); g != nil {
		return g.Data().([]float32)
	}
	return nil
}
