package eval

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sync"

	"gorgonia.org/tensor"

	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
	"conceptstudio/engine/safetensors"
)

// The shipped oracle: trained once by TrainOracle (go generate runs
// gen_oracle.go) and stored as F16.
//
//go:embed oracle.safetensors
var oracleFile []byte

// ErrBadOracle: an oracle file is not one this package wrote.
var ErrBadOracle = errors.New("not an oracle classifier file")

// oracleMetaKey is the metadata entry holding the oracle's record.
const oracleMetaKey = "conceptstudio.oracle"

// OracleConfig is the oracle's architecture: a 3×3 convolution at full
// resolution, then one stride-2 3×3 convolution per further entry of
// Channels (each followed by GroupNorm and SiLU), the last feature map
// flattened into a Linear to Feature values (the identity features), SiLU,
// and a Linear to one logit per class.
type OracleConfig struct {
	ImageSize int   `json:"image_size"`
	Channels  []int `json:"channels"`
	Groups    int   `json:"groups"`
	Feature   int   `json:"feature"`
	// Blocks is the convolutions per resolution (0 or 1: one; each more
	// is a stride-1 3×3 convolution with GroupNorm and SiLU).
	Blocks int `json:"blocks,omitempty"`
	// Input is what the network sees: "" the RGB image (the oracle),
	// InputShape its colour-blind form (the shape judge, shapeInput).
	Input string `json:"input,omitempty"`
}

// DefaultOracleConfig is the shipped oracle's architecture: 32×32 → 32 ch
// → 16×16×64 → 8×8×128 → 4×4×128 → 128 features → classes (about 0.56M
// weights, 1.1 MB as F16).
func DefaultOracleConfig() OracleConfig {
	return OracleConfig{ImageSize: 32, Channels: []int{32, 64, 128, 128}, Groups: 8, Feature: 128}
}

func (c OracleConfig) validate() error {
	if c.ImageSize < 4 || len(c.Channels) < 1 || c.Groups < 1 || c.Feature < 1 || c.Blocks < 0 || c.Blocks > 8 {
		return fmt.Errorf("eval: bad oracle config %+v", c)
	}
	if c.Input != "" && c.Input != InputShape {
		return fmt.Errorf("eval: oracle config: unknown input %q", c.Input)
	}
	side := c.ImageSize
	for i, ch := range c.Channels {
		if ch%c.Groups != 0 {
			return fmt.Errorf("eval: oracle config: %d channels in %d groups", ch, c.Groups)
		}
		if i > 0 {
			side = (side + 1) / 2
		}
	}
	return nil
}

// finalSide is the side of the last feature map.
func (c OracleConfig) finalSide() int {
	side := c.ImageSize
	for range c.Channels[1:] {
		side = (side + 1) / 2
	}
	return side
}

// OracleRecord is the metadata an oracle file carries.
type OracleRecord struct {
	Version      int          `json:"version"`
	Classes      []string     `json:"classes"`
	Config       OracleConfig `json:"config"`
	Steps        int          `json:"steps"`
	Batch        int          `json:"batch"`
	TrainSeconds float64      `json:"train_seconds"`
	// HeldOutTop1 is Classify's top-1 accuracy on 1000 fresh single-object
	// renders (the base model's distribution), HeldOutTop1Raw the
	// network's on the images alone (no object view).
	HeldOutTop1    float64 `json:"held_out_top1"`
	HeldOutTop1Raw float64 `json:"held_out_top1_raw"`
	Seed           uint64  `json:"seed"`
}

// Oracle is the sprite-world classifier the evaluation measures with. It is
// safe for concurrent use (calls are serialised).
type Oracle struct {
	Record OracleRecord
	w      *nn.Weights

	mu   sync.Mutex
	nets map[int]*oracleNet // inference graphs by batch size
}

// oracleNet is one compiled graph of the oracle.
type oracleNet struct {
	g            *nn.Graph
	prog         *ops.Program
	batch        int
	feat, logits *ops.Node
	places       *ops.Node // the last feature map [batch, side, side, channels]
	loss         *ops.Node // training graphs only
}

const (
	inImages = "images"
	inLabels = "labels"
)

// buildOracleNet compiles the oracle for a batch; with train, the
// cross-entropy loss against the "labels" input and its backward pass.
func buildOracleNet(w *nn.Weights, c OracleConfig, classes, batch int, train bool) (*oracleNet, error) {
	return ops.Retry(func() (*oracleNet, error) { return buildOracleNetOnce(w, c, classes, batch, train) })
}

// buildOracleNetOnce is one try of buildOracleNet.
func buildOracleNetOnce(w *nn.Weights, c OracleConfig, classes, batch int, train bool) (n *oracleNet, err error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("eval: building the oracle: %v", r)
		}
	}()
	g := nn.NewGraph(w, nil)
	b := g.B
	root := g.Root()
	h := b.Input(inImages, batch, c.ImageSize, c.ImageSize, 3)
	for i, ch := range c.Channels {
		stride := 2
		if i == 0 {
			stride = 1
		}
		h = root.Sub(fmt.Sprintf("conv%d", i)).Conv(h, ch, 3, stride)
		h = b.SiLU(root.Sub(fmt.Sprintf("norm%d", i)).GroupNorm(h, c.Groups))
		for k := 1; k < c.Blocks; k++ {
			h = root.Sub(fmt.Sprintf("conv%d_%d", i, k)).Conv(h, ch, 3, 1)
			h = b.SiLU(root.Sub(fmt.Sprintf("norm%d_%d", i, k)).GroupNorm(h, c.Groups))
		}
	}
	side := c.finalSide()
	n = &oracleNet{g: g, batch: batch, places: h}
	h = b.Reshape(h, batch, side*side*c.Channels[len(c.Channels)-1])
	n.feat = root.Sub("feat").Linear(h, c.Feature, true)
	n.logits = root.Sub("head").Linear(b.SiLU(n.feat), classes, true)
	if train {
		y := b.Input(inLabels, batch, classes)
		if n.loss, err = softmaxCE(b, n.logits, y); err != nil {
			return nil, err
		}
	}
	if n.prog, err = b.Compile(n.loss, n.logits, n.feat, n.places); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *oracleNet) close() { n.prog.Close() }

// set copies images (NHWC, [-1, 1]) into the input.
func (n *oracleNet) set(name string, v []float32) {
	copy(n.g.B.InputValue(name).Data().([]float32), v)
}

// LoadOracle reads the oracle shipped with the package.
func LoadOracle() (*Oracle, error) { return DecodeOracle(oracleFile) }

// DecodeOracle reads an oracle file written by TrainOracle.
func DecodeOracle(data []byte) (*Oracle, error) {
	f, err := safetensors.Decode(data, safetensors.ReadOptions{RejectNonFinite: true, MaxHeaderSize: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOracle, err)
	}
	raw, ok := f.Metadata[oracleMetaKey]
	if !ok {
		return nil, fmt.Errorf("%w: no %s record", ErrBadOracle, oracleMetaKey)
	}
	var rec OracleRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return nil, fmt.Errorf("%w: record: %w", ErrBadOracle, err)
	}
	if rec.Version != 1 || len(rec.Classes) < 2 {
		return nil, fmt.Errorf("%w: version %d with %d classes", ErrBadOracle, rec.Version, len(rec.Classes))
	}
	if err := rec.Config.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOracle, err)
	}
	w := nn.NewWeights(tensor.Float32, 0)
	for _, t := range f.Tensors {
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadOracle, t.Name, err)
		}
		w.Set(t.Name, tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(slices.Clone(v))))
	}
	o := &Oracle{Record: rec, w: w, nets: map[int]*oracleNet{}}
	// Building a graph checks that every weight is there with its shape.
	want := len(w.Names())
	n, err := o.net(1)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOracle, err)
	}
	_ = n
	if got := len(w.Names()); got != want {
		return nil, fmt.Errorf("%w: %d weights missing", ErrBadOracle, got-want)
	}
	return o, nil
}

// Classes lists the class names (the dataset's sprite names) in logit
// order.
func (o *Oracle) Classes() []string { return slices.Clone(o.Record.Classes) }

// Close frees the compiled graphs.
func (o *Oracle) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.nets {
		n.close()
	}
	clear(o.nets)
}

// oracleBatch is the largest batch one inference graph runs.
const oracleBatch = 32

// net returns (building once) the inference graph for a batch size. The
// caller holds o.mu or owns o.
func (o *Oracle) net(batch int) (*oracleNet, error) {
	if n, ok := o.nets[batch]; ok {
		return n, nil
	}
	n, err := buildOracleNet(o.w, o.Record.Config, len(o.Record.Classes), batch, false)
	if err != nil {
		return nil, err
	}
	o.nets[batch] = n
	return n, nil
}

// batches runs the oracle over NHWC images x (count×S×S×3) in batches
// of at most oracleBatch and hands each run net to read with the range
// [lo, hi) of the images it held (the net's first hi−lo rows).
func (o *Oracle) batches(x []float32, count int, read func(n *oracleNet, lo, hi int)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.Record.Config
	per := c.ImageSize * c.ImageSize * 3
	for lo := 0; lo < count; lo += oracleBatch {
		hi := min(count, lo+oracleBatch)
		n, err := o.net(min(count, oracleBatch))
		if err != nil {
			return err
		}
		in := n.g.B.InputValue(inImages).Data().([]float32)
		clear(in)
		copy(in, x[lo*per:hi*per])
		if err := n.prog.Run(); err != nil {
			return err
		}
		read(n, lo, hi)
	}
	return nil
}

// run computes logits and features for NHWC images (count×S×S×3).
func (o *Oracle) run(x []float32, count int) (logits, feats [][]float32, err error) {
	k, f := len(o.Record.Classes), o.Record.Config.Feature
	err = o.batches(x, count, func(n *oracleNet, lo, hi int) {
		lg := ops.Value(n.logits).Data().([]float32)
		ft := ops.Value(n.feat).Data().([]float32)
		for i := 0; i < hi-lo; i++ {
			logits = append(logits, slices.Clone(lg[i*k:(i+1)*k]))
			feats = append(feats, slices.Clone(ft[i*f:(i+1)*f]))
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return logits, feats, nil
}

// PlaceFeatures returns the oracle's last feature map for NHWC images x
// (count×S×S×3 in [-1, 1], S = ImageSize) as [count, side, side,
// channels], each place's vector scaled to unit length: what a diffusion
// model's middle block is aligned to while it trains (representation
// alignment). Side and channels are the map's.
func (o *Oracle) PlaceFeatures(x []float32, count int) (feats []float32, side, channels int, err error) {
	c := o.Record.Config
	per := c.ImageSize * c.ImageSize * 3
	if count < 1 || len(x) != count*per {
		return nil, 0, 0, fmt.Errorf("eval: %d values for %d images of %d×%d", len(x), count, c.ImageSize, c.ImageSize)
	}
	side, channels = c.finalSide(), c.Channels[len(c.Channels)-1]
	in := x
	if c.Input == InputShape {
		in = slices.Clone(x) // the caller's pictures stay as they are
		for i := 0; i < count; i++ {
			shapeInput(in[i*per:(i+1)*per], c.ImageSize)
		}
	}
	fper := side * side * channels
	feats = make([]float32, count*fper)
	err = o.batches(in, count, func(n *oracleNet, lo, hi int) {
		copy(feats[lo*fper:hi*fper], ops.Value(n.places).Data().([]float32)[:(hi-lo)*fper])
	})
	if err != nil {
		return nil, 0, 0, err
	}
	for p := 0; p < count*side*side; p++ {
		normalise(feats[p*channels : (p+1)*channels])
	}
	return feats, side, channels, nil
}

// objectViewExtent is the extent (longest side, as a share of the image
// side) at which objectView redraws the object.
const objectViewExtent = 0.75

// inputs converts images to the oracle's input: for each image two views,
// the image itself and its object view (objectView).
func (o *Oracle) inputs(imgs []image.Image) []float32 {
	s := o.Record.Config.ImageSize
	per := s * s * 3
	x := make([]float32, 2*len(imgs)*per)
	for i, img := range imgs {
		v := x[2*i*per : (2*i+1)*per]
		toModelInput(img, s, v)
		ov := x[(2*i+1)*per : (2*i+2)*per]
		objectView(v, s, ov)
		if o.Record.Config.Input == InputShape {
			shapeInput(v, s)
			shapeInput(ov, s)
		}
	}
	return x
}

// objectView finds the object in an NHWC image src (size×size, [-1, 1])
// by its foreground mask and redraws it into dst, centred, its box's
// longest side at objectViewExtent of the image, on the background's plain
// colour (bilinear resampling). It normalises away position and scale,
// which a small object at 32×32 leaves the oracle little of; the oracle
// averages its answers on both views. Without a foreground, dst is src.
func objectView(src []float32, size int, dst []float32) {
	r := toRGB(FromNHWC(src, size))
	bgName, _ := backgroundColour(r)
	m := foregroundMask(r, bgName)
	b := m.Bounds()
	if b.Empty() {
		copy(dst, src)
		return
	}
	bm, _ := modelByName(bgName)
	for i := 0; i < size*size; i++ {
		for c := 0; c < 3; c++ {
			dst[3*i+c] = float32(2*bm.c[c] - 1)
		}
	}
	// The box grown by half a pixel each side, scaled to the extent.
	x0, y0 := float64(b.Min.X)-0.5, float64(b.Min.Y)-0.5
	w, h := float64(b.Dx())+1, float64(b.Dy())+1
	n := float64(size)
	sc := objectViewExtent * n / math.Max(w, h)
	ox, oy := (n-w*sc)/2, (n-h*sc)/2
	at := func(x, y, c int) float64 {
		x, y = max(0, min(size-1, x)), max(0, min(size-1, y))
		return float64(src[3*(y*size+x)+c])
	}
	for y := 0; y < size; y++ {
		cy := float64(y) + 0.5
		if cy < oy || cy > oy+h*sc {
			continue
		}
		v := (cy-oy)/sc + y0 - 0.5
		yi := int(math.Floor(v))
		fy := v - float64(yi)
		for x := 0; x < size; x++ {
			cx := float64(x) + 0.5
			if cx < ox || cx > ox+w*sc {
				continue
			}
			u := (cx-ox)/sc + x0 - 0.5
			xi := int(math.Floor(u))
			fx := u - float64(xi)
			for c := 0; c < 3; c++ {
				val := (1-fx)*(1-fy)*at(xi, yi, c) + fx*(1-fy)*at(xi+1, yi, c) +
					(1-fx)*fy*at(xi, yi+1, c) + fx*fy*at(xi+1, yi+1, c)
				dst[3*(y*size+x)+c] = float32(val)
			}
		}
	}
}

// Classify names the object in each image (the top class) and gives every
// class's probability, in Classes order: the mean of the oracle's softmax
// on the image and on its object view (the object found by its foreground
// mask, redrawn centred at a fixed size). Images of another size than the
// oracle's are resized with an area filter first.
func (o *Oracle) Classify(imgs []image.Image) (labels []string, probs [][]float32, err error) {
	logits, _, err := o.run(o.inputs(imgs), 2*len(imgs))
	if err != nil {
		return nil, nil, err
	}
	return o.labels(logits)
}

// labels averages the softmax of each pair of views.
func (o *Oracle) labels(logits [][]float32) ([]string, [][]float32, error) {
	n := len(logits) / 2
	labels := make([]string, n)
	probs := make([][]float32, n)
	for i := 0; i < n; i++ {
		p, q := softmax(logits[2*i]), softmax(logits[2*i+1])
		for k := range p {
			p[k] = (p[k] + q[k]) / 2
		}
		probs[i] = p
		labels[i] = o.Record.Classes[argmax(p)]
	}
	return labels, probs, nil
}

// Features returns each image's identity features: the oracle's
// penultimate layer (before the activation that feeds the class logits)
// on the image and on its object view, each L2-normalised, averaged and
// normalised again, so the dot product of two is their cosine similarity.
func (o *Oracle) Features(imgs []image.Image) ([][]float32, error) {
	_, feats, err := o.run(o.inputs(imgs), 2*len(imgs))
	if err != nil {
		return nil, err
	}
	return pairFeatures(feats), nil
}

// pairFeatures combines each image's two views' features (run's order)
// as Features describes.
func pairFeatures(feats [][]float32) [][]float32 {
	out := make([][]float32, len(feats)/2)
	for i := range out {
		f, g := feats[2*i], feats[2*i+1]
		normalise(f)
		normalise(g)
		for k := range f {
			f[k] += g[k]
		}
		normalise(f)
		out[i] = f
	}
	return out
}

// Identity is the mean cosine similarity over all pairs (one from a, one
// from b) of feature vectors; with L2-normalised features (Features) it is
// the mean dot product. It is NaN when either set is empty.
func Identity(a, b [][]float32) float64 {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN()
	}
	var s float64
	for _, u := range a {
		for _, v := range b {
			s += cosine(u, v)
		}
	}
	return s / float64(len(a)*len(b))
}

func cosine(u, v []float32) float64 {
	var d, nu, nv float64
	for i := range u {
		d += float64(u[i]) * float64(v[i])
		nu += float64(u[i]) * float64(u[i])
		nv += float64(v[i]) * float64(v[i])
	}
	if nu == 0 || nv == 0 {
		return 0
	}
	return d / math.Sqrt(nu*nv)
}

func normalise(f []float32) {
	var s float64
	for _, v := range f {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i := range f {
		f[i] = float32(float64(f[i]) * inv)
	}
}

func softmax(z []float32) []float32 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	p := make([]float32, len(z))
	var s float64
	for i, v := range z {
		e := math.Exp(float64(v) - m)
		p[i] = float32(e)
		s += e
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
	}
	return p
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}
