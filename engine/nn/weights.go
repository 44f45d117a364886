package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"conceptstudio/engine/safetensors"

	"gorgonia.org/tensor"
)

// Init says how a weight starts.
type Init struct {
	kind  int // 0 zeros, 1 ones, 2 uniform(±bound), 3 normal(std)
	scale float64
}

var (
	// Zeros starts a weight at 0 (biases, output layers of residual branches).
	Zeros = Init{kind: 0}
	// Ones starts a weight at 1 (norm scales).
	Ones = Init{kind: 1}
)

// Uniform starts a weight uniformly in [-bound, bound].
func Uniform(bound float64) Init { return Init{kind: 2, scale: bound} }

// Normal starts a weight from N(0, std²).
func Normal(std float64) Init { return Init{kind: 3, scale: std} }

// FanIn is PyTorch's default for linear and conv weights: U(±1/√fanIn).
func FanIn(fanIn int) Init { return Uniform(1 / math.Sqrt(float64(fanIn))) }

// Weights is a named set of tensors. Missing weights are created on first
// use from a seeded generator, so building the same model twice from the
// same seed gives the same weights.
type Weights struct {
	dt  tensor.Dtype
	t   map[string]*tensor.Dense
	rng *rand.Rand
}

// NewWeights makes an empty store of dtype dt whose new weights come from
// seed.
func NewWeights(dt tensor.Dtype, seed uint64) *Weights {
	return &Weights{dt: dt, t: map[string]*tensor.Dense{}, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// Dtype is the store's element type.
func (w *Weights) Dtype() tensor.Dtype { return w.dt }

// Get returns the weight called name, creating it with init if missing.
// An existing weight of another shape is a programmer error.
func (w *Weights) Get(name string, shape []int, init Init) *tensor.Dense {
	if t, ok := w.t[name]; ok {
		if !t.Shape().Eq(tensor.Shape(shape)) {
			panic(fmt.Sprintf("nn: weight %q has shape %v, wanted %v", name, t.Shape(), shape))
		}
		return t
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	vals := make([]float64, n)
	for i := range vals {
		switch init.kind {
		case 1:
			vals[i] = 1
		case 2:
			vals[i] = (w.rng.Float64()*2 - 1) * init.scale
		case 3:
			vals[i] = w.rng.NormFloat64() * init.scale
		}
	}
	var t *tensor.Dense
	if w.dt == tensor.Float32 {
		f := make([]float32, n)
		for i, v := range vals {
			f[i] = float32(v)
		}
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	} else {
		t = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
	}
	w.t[name] = t
	return t
}

// Set stores a tensor under name (loading weights from a file).
func (w *Weights) Set(name string, t *tensor.Dense) { w.t[name] = t }

// Lookup returns a weight without creating it.
func (w *Weights) Lookup(name string) (*tensor.Dense, bool) {
	t, ok := w.t[name]
	return t, ok
}

// Names lists the weights in sorted order.
func (w *Weights) Names() []string {
	out := make([]string, 0, len(w.t))
	for n := range w.t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Count is the number of scalars in all weights.
func (w *Weights) Count() int {
	n := 0
	for _, t := range w.t {
		n += t.Shape().TotalSize()
	}
	return n
}

// Overlay returns a store that shares every tensor of w except the named
// ones, which it copies: a training session edits the copies (a
// pseudo-word's embedding row) and adds its own weights, leaving w as it
// was. New weights come from seed.
func (w *Weights) Overlay(seed uint64, copies ...string) *Weights {
	o := NewWeights(w.dt, seed)
	for n, t := range w.t {
		o.t[n] = t
	}
	for _, n := range copies {
		if t, ok := w.t[n]; ok {
			o.t[n] = t.Clone().(*tensor.Dense)
		}
	}
	return o
}

// LoadPrefixed copies the tensors named prefix+NAME (a checkpoint's
// weights) into the weights of the same NAME, each checked against its
// size, and returns the names it loaded; a tensor for a weight that does
// not exist, or of another size, is an error (another architecture).
// Tensors without the prefix are left alone.
func (w *Weights) LoadPrefixed(tensors []safetensors.Tensor, prefix string) (map[string]bool, error) {
	loaded := map[string]bool{}
	for _, t := range tensors {
		name, ok := strings.CutPrefix(t.Name, prefix)
		if !ok {
			continue
		}
		dst, ok := w.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("weight %s is not in this model", name)
		}
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("weight %s: %w", name, err)
		}
		if len(v) != dst.Shape().TotalSize() {
			return nil, fmt.Errorf("weight %s has %d values, this model's %d", name, len(v), dst.Shape().TotalSize())
		}
		CopyFloat32(dst, v)
		loaded[name] = true
	}
	return loaded, nil
}

// Tensors returns the (float32) weights as safetensors tensors named
// prefix + name, in name order: F16 when half, else F32.
func (w *Weights) Tensors(prefix string, half bool) []safetensors.Tensor {
	ts := make([]safetensors.Tensor, 0, len(w.t))
	for _, name := range w.Names() {
		t, _ := w.Lookup(name)
		data := t.Data().([]float32)
		if half {
			ts = append(ts, safetensors.F16Tensor(prefix+name, []int(t.Shape()), data))
		} else {
			ts = append(ts, safetensors.F32Tensor(prefix+name, []int(t.Shape()), data))
		}
	}
	return ts
}

// LoadAll is LoadPrefixed that also requires every weight to be loaded.
func (w *Weights) LoadAll(tensors []safetensors.Tensor, prefix string) error {
	got, err := w.LoadPrefixed(tensors, prefix)
	if err != nil {
		return err
	}
	if len(got) != len(w.Names()) {
		for _, name := range w.Names() {
			if !got[name] {
				return fmt.Errorf("the file holds %d of the %d weights (%s is missing)", len(got), len(w.Names()), name)
			}
		}
	}
	return nil
}

// CopyFloat32 copies src into t's data, float32 or float64 (converted).
func CopyFloat32(t tensor.Tensor, src []float32) {
	switch d := t.Data().(type) {
	case []float32:
		copy(d, src)
	case []float64:
		for i, v := range src {
			d[i] = float64(v)
		}
	}
}
