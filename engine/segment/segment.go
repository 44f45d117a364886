// Package segment is the learned half of cutting a user's thing out of a
// photograph: a small U-Net that, given a picture squeezed to Size×Size,
// says for each pixel how likely it is to belong to the thing the picture
// was taken of. It is trained on the sprite world made photo-like
// (dataset.PhotoMaker: a sprite big near the middle over rooms, textures
// and clutter) and never on a photograph; the real photographs in
// engine/dataset/testdata/photos only measure it. Its answer is not the
// cut: GrabCut (dataset) takes it as a prior beside its colour models and
// the outline's barrier, and keeps deciding whether there is a thing at
// all (SetObjectPrior is how it reaches the cut).
//
// The shipped weights (F16, embedded) are written by Train; go generate
// runs gen_segmenter.go (52 minutes on 2 cores).
package segment

//go:generate go run gen_segmenter.go

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"

	"gorgonia.org/tensor"

	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/safetensors"
)

// Config is the network: a 3×3 convolution at full size, then per further
// entry of Channels a stride-2 convolution and a second convolution
// (GroupNorm and SiLU after each), then back up: upsample, join the skip
// of that size, a convolution; a last 3×3 convolution gives one logit a
// pixel. Two coordinate channels join the picture's three, so where a
// thing is (people photograph theirs near the middle) can be learnt.
type Config struct {
	Size     int   `json:"size"`
	Channels []int `json:"channels"`
	Groups   int   `json:"groups"`
}

// DefaultConfig: 64×64 → 4×4 at the bottom, so the deepest features see
// the whole picture.
func DefaultConfig() Config { return Config{Size: 64, Channels: []int{16, 32, 48, 64, 96}, Groups: 8} }

// TinyConfig is for tests.
func TinyConfig() Config { return Config{Size: 16, Channels: []int{4, 8}, Groups: 2} }

func (c Config) validate() error {
	if len(c.Channels) < 1 || c.Groups < 1 || c.Size < 4 || c.Size%(1<<(len(c.Channels)-1)) != 0 {
		return fmt.Errorf("segment: bad config %+v", c)
	}
	for _, ch := range c.Channels {
		if ch%c.Groups != 0 {
			return fmt.Errorf("segment: %d channels in %d groups", ch, c.Groups)
		}
	}
	return nil
}

// inChannels: R, G, B in [-1, 1], then x and y in [-1, 1].
const inChannels = 5

const (
	inPictures = "pictures"
	inTargets  = "targets"
	inWeights  = "weights"
	recordKey  = "conceptstudio.segmenter"
)

// net is one compiled graph for a batch: logits out, and with train the
// loss against targets.
type net struct {
	g      *nn.Graph
	prog   *ops.Program
	logits *ops.Node
	loss   *ops.Node
}

func buildNet(w *nn.Weights, c Config, batch int, train bool) (*net, error) {
	return ops.Retry(func() (*net, error) { return buildNetOnce(w, c, batch, train) })
}

// buildNetOnce is one try of buildNet.
func buildNetOnce(w *nn.Weights, c Config, batch int, train bool) (n *net, err error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("segment: building the network: %v", r)
		}
	}()
	g := nn.NewGraph(w, nil)
	b := g.B
	root := g.Root()
	S := c.Size
	block := func(s nn.Scope, h *ops.Node, ch, stride int) *ops.Node {
		return b.SiLU(s.Sub("norm").GroupNorm(s.Sub("conv").Conv(h, ch, 3, stride), c.Groups))
	}
	h := b.Input(inPictures, batch, S, S, inChannels)
	var skips []*ops.Node
	for i, ch := range c.Channels {
		s := root.Sub(fmt.Sprintf("down%d", i))
		if i == 0 {
			h = block(s.Sub("a"), h, ch, 1)
		} else {
			h = block(s.Sub("a"), h, ch, 2)
			h = block(s.Sub("b"), h, ch, 1)
		}
		skips = append(skips, h)
	}
	for i := len(c.Channels) - 2; i >= 0; i-- {
		h = b.Concat(b.Upsample2x(h), skips[i])
		h = block(root.Sub(fmt.Sprintf("up%d", i)), h, c.Channels[i], 1)
	}
	n = &net{g: g}
	n.logits = root.Sub("out").Conv(h, 1, 3, 1)
	if train {
		t := b.Input(inTargets, batch, S, S, 1)
		wt := b.Input(inWeights, batch, S, S, 1)
		n.loss = b.WeightedBCE(n.logits, t, wt)
		n.prog, err = b.Compile(n.loss, n.logits)
	} else {
		n.prog, err = b.Compile(nil, n.logits)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

func (n *net) set(name string, v []float32) {
	copy(n.g.B.InputValue(name).Data().([]float32), v)
}

// input writes one picture's network input (Size²×inChannels) from rgb
// (Size²×3 in [0, 1]).
func input(rgb []float32, size int, dst []float32) {
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			i := y*size + x
			d := dst[inChannels*i:]
			d[0], d[1], d[2] = 2*rgb[3*i]-1, 2*rgb[3*i+1]-1, 2*rgb[3*i+2]-1
			d[3] = float32(2*(float64(x)+0.5)/float64(size) - 1)
			d[4] = float32(2*(float64(y)+0.5)/float64(size) - 1)
		}
	}
}

// Record is what a segmenter file says of itself.
type Record struct {
	Config       Config  `json:"config"`
	Steps        int     `json:"steps"`
	Batch        int     `json:"batch"`
	Loss         float64 `json:"loss"`
	TrainSeconds float64 `json:"train_seconds"`
	Seed         uint64  `json:"seed"`
}

// ErrBadFile: a file that is not a segmenter Concept Studio wrote.
var ErrBadFile = errors.New("not a segmenter file Concept Studio wrote")

// Segmenter is a trained network. It is safe for concurrent use.
type Segmenter struct {
	Record Record
	mu     sync.Mutex
	n      *net
}

// Decode reads a segmenter file written by Train.
func Decode(data []byte) (*Segmenter, error) {
	f, err := safetensors.Decode(data, safetensors.ReadOptions{RejectNonFinite: true, MaxHeaderSize: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	var rec Record
	if err := json.Unmarshal([]byte(f.Metadata[recordKey]), &rec); err != nil {
		return nil, ErrBadFile
	}
	w := nn.NewWeights(tensor.Float32, 1)
	n, err := buildNet(w, rec.Config, 1, false)
	if err != nil {
		return nil, err
	}
	if err := w.LoadAll(f.Tensors, ""); err != nil {
		n.prog.Close()
		return nil, fmt.Errorf("%w: %w", ErrBadFile, err)
	}
	return &Segmenter{Record: rec, n: n}, nil
}

// Close frees the network.
func (s *Segmenter) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		return nil
	}
	err := s.n.prog.Close()
	s.n = nil
	return err
}

// Predict is the probability, for each pixel of a w×h grid over img, that
// it belongs to the thing photographed. The picture is squeezed to the
// network's square (as in training, whatever its shape), and the answer
// stretched back with bilinear interpolation.
func (s *Segmenter) Predict(img *image.NRGBA, w, h int) ([]float32, error) {
	if w < 1 || h < 1 || img.Rect.Empty() {
		return nil, fmt.Errorf("segment: nothing to predict (%dx%d over %v)", w, h, img.Rect)
	}
	S := s.Record.Config.Size
	rgb := squeeze(img, S)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		return nil, errors.New("segment: the segmenter is closed")
	}
	in := make([]float32, S*S*inChannels)
	input(rgb, S, in)
	s.n.set(inPictures, in)
	if err := s.n.prog.Run(); err != nil {
		return nil, err
	}
	lg := ops.Value(s.n.logits).Data().([]float32)
	p := make([]float32, S*S)
	for i, v := range lg {
		p[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return stretch(p, S, w, h), nil
}

// squeeze is img resized to size×size (area average), as RGB in [0, 1];
// transparent pixels count as what they cover, black.
func squeeze(img *image.NRGBA, size int) []float32 {
	W, H := img.Rect.Dx(), img.Rect.Dy()
	out := make([]float32, 3*size*size)
	cnt := make([]float32, size*size)
	for y := 0; y < H; y++ {
		ty := min(size-1, y*size/H)
		for x := 0; x < W; x++ {
			tx := min(size-1, x*size/W)
			p := img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y):]
			a := float32(p[3]) / 255
			i := ty*size + tx
			for c := 0; c < 3; c++ {
				out[3*i+c] += float32(p[c]) / 255 * a
			}
			cnt[i]++
		}
	}
	for i, c := range cnt {
		if c > 0 {
			for k := 0; k < 3; k++ {
				out[3*i+k] /= c
			}
		}
	}
	// A picture smaller than size leaves cells empty: take the nearest
	// source pixel's cell.
	if W < size || H < size {
		for ty := 0; ty < size; ty++ {
			for tx := 0; tx < size; tx++ {
				if cnt[ty*size+tx] > 0 {
					continue
				}
				sx, sy := min(W-1, tx*W/size), min(H-1, ty*H/size)
				src := min(size-1, sy*size/H)*size + min(size-1, sx*size/W)
				copy(out[3*(ty*size+tx):3*(ty*size+tx)+3], out[3*src:3*src+3])
			}
		}
	}
	return out
}

// stretch resizes a size×size map to w×h bilinearly (pixel centres).
func stretch(p []float32, size, w, h int) []float32 {
	out := make([]float32, w*h)
	at := func(x, y int) float32 { return p[min(size-1, max(0, y))*size+min(size-1, max(0, x))] }
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)*float64(size)/float64(h) - 0.5
		y0 := int(math.Floor(fy))
		ty := float32(fy - float64(y0))
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)*float64(size)/float64(w) - 0.5
			x0 := int(math.Floor(fx))
			tx := float32(fx - float64(x0))
			top := at(x0, y0)*(1-tx) + at(x0+1, y0)*tx
			bot := at(x0, y0+1)*(1-tx) + at(x0+1, y0+1)*tx
			out[y*w+x] = top*(1-ty) + bot*ty
		}
	}
	return out
}

// The shipped segmenter (Train, F16); empty until one is trained.
//
//go:embed segmenter.safetensors
var shipped []byte

var def struct {
	once sync.Once
	s    *Segmenter
	err  error
}

// ErrNone: this build ships no segmenter.
var ErrNone = errors.New("no segmenter is shipped with this build")

// Default is the shipped segmenter, decoded on first use.
func Default() (*Segmenter, error) {
	def.once.Do(func() {
		if len(shipped) == 0 {
			def.err = ErrNone
			return
		}
		def.s, def.err = Decode(shipped)
	})
	return def.s, def.err
}

// Prior is the shipped segmenter's Predict for dataset.SetObjectPrior,
// decoded on its first call; it answers nil (no prior) where this build
// ships none.
func Prior(img *image.NRGBA, w, h int) []float32 {
	s, err := Default()
	if err != nil {
		return nil
	}
	p, err := s.Predict(img, w, h)
	if err != nil {
		return nil
	}
	return p
}
