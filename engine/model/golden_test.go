package model

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
)

// Golden tests: the engine in float64 against PyTorch in float64, on the
// reference values written by build/torch_golden.py (which uses the
// PyTorch twin of this model in build/bench_torch.py). Regenerate with
//
//	/usr/bin/python3 build/torch_golden.py

const goldenPath = "testdata/golden_tiny.json"

// goldenTol is the relative tolerance: max |go − torch| over a tensor must
// be within goldenTol·max |torch| of that tensor.
const goldenTol = 1e-5

// goldenQ is an exact dyadic tensor: offset + q·scale, q int8 (base64).
type goldenQ struct {
	Shape  []int   `json:"shape"`
	Offset float64 `json:"offset"`
	Scale  float64 `json:"scale"`
	Q      string  `json:"q"`
}

func (q goldenQ) values(t *testing.T) []float64 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(q.Q)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != goldenProd(q.Shape) {
		t.Fatalf("golden tensor %v has %d values", q.Shape, len(b))
	}
	out := make([]float64, len(b))
	for i, v := range b {
		out[i] = q.Offset + float64(int8(v))*q.Scale
	}
	return out
}

func (q goldenQ) dense(t *testing.T, dt tensor.Dtype) *tensor.Dense {
	if dt == tensor.Float32 {
		return tensor.New(tensor.WithShape(q.Shape...), tensor.WithBacking(q.float32s(t)))
	}
	return tensor.New(tensor.WithShape(q.Shape...), tensor.WithBacking(q.values(t)))
}

func (q goldenQ) float32s(t *testing.T) []float32 {
	v := q.values(t)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
		if float64(out[i]) != x {
			t.Fatalf("golden input %g is not exact in float32", x)
		}
	}
	return out
}

// goldenF is a float64 reference output.
type goldenF struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type goldenBlock struct {
	Scope    string             `json:"scope"`
	Out      int                `json:"out"`
	Heads    int                `json:"heads"`
	Groups   int                `json:"groups"`
	SelfAttn bool               `json:"self_attn"`
	Lengths  []int              `json:"lengths"`
	Weights  map[string]goldenQ `json:"weights"`
	X        goldenQ            `json:"x"`
	Temb     goldenQ            `json:"temb"`
	Ctx      goldenQ            `json:"ctx"`
	R        goldenQ            `json:"r"`
	Y        goldenF            `json:"y"`
	Grads    map[string]goldenF `json:"grads"`
}

type goldenData struct {
	ReferenceParams struct {
		Total, Text, Unet int
	} `json:"reference_params"`
	ResBlock    goldenBlock `json:"resblock"`
	Transformer goldenBlock `json:"transformer"`
	Model       struct {
		Batch     int                `json:"batch"`
		Weights   map[string]goldenQ `json:"weights"`
		X         goldenQ            `json:"x"`
		Target    goldenQ            `json:"target"`
		T         []float64          `json:"t"`
		IDs       []int              `json:"ids"`
		Lengths   []int              `json:"lengths"`
		Tsin      goldenF            `json:"tsin"`
		Enc       goldenF            `json:"enc"`
		Out       goldenF            `json:"out"`
		Loss      float64            `json:"loss"`
		Grads     map[string]goldenF `json:"grads"`
		GradNorms map[string]float64 `json:"grad_norms"`
	} `json:"model"`
	DDIM struct {
		T             int       `json:"T"`
		Steps         int       `json:"steps"`
		EpsScale      float64   `json:"eps_scale"`
		Timesteps     []int     `json:"timesteps"`
		AlphasCumprod []float64 `json:"alphas_cumprod"`
		StepScales    []float64 `json:"step_scales"`
	} `json:"ddim"`
}

func loadGolden(t *testing.T) *goldenData {
	t.Helper()
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (generate it with /usr/bin/python3 build/torch_golden.py)", err)
	}
	var g goldenData
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func goldenProd(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// goldenWeights is a store of dtype dt holding exactly the golden weights.
func goldenWeights(t *testing.T, ws map[string]goldenQ, dt tensor.Dtype) *nn.Weights {
	w := nn.NewWeights(dt, 1)
	for name, q := range ws {
		w.Set(name, q.dense(t, dt))
	}
	return w
}

// goldenCheckNoNewWeights fails when building created weights the golden file
// does not have (a name or scope mismatch with PyTorch).
func goldenCheckNoNewWeights(t *testing.T, w *nn.Weights, ws map[string]goldenQ) {
	t.Helper()
	var extra []string
	for _, n := range w.Names() {
		if _, ok := ws[n]; !ok {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		t.Errorf("the Go graph created weights PyTorch does not have: %v", extra)
	}
}

// goldenCheckUsedAll fails when a golden weight was not bound into the graph.
func goldenCheckUsedAll(t *testing.T, params []*ops.Param, ws map[string]goldenQ) {
	t.Helper()
	bound := map[string]bool{}
	for _, p := range params {
		bound[p.Name] = true
	}
	var unused []string
	for n := range ws {
		if !bound[n] {
			unused = append(unused, n)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("PyTorch weights the Go graph does not use: %v", unused)
	}
}

// compare checks got against the reference want (same shape) at
// goldenTol and reports the relative error max|got−want|/max|want|.
func goldenCompare(t *testing.T, what string, got []float64, gotShape []int, want goldenF) float64 {
	t.Helper()
	return goldenCompareTol(t, what, got, gotShape, want, goldenTol)
}

func goldenCompareTol(t *testing.T, what string, got []float64, gotShape []int, want goldenF, tol float64) float64 {
	t.Helper()
	if gotShape != nil && fmt.Sprint(gotShape) != fmt.Sprint(want.Shape) {
		t.Errorf("%s: shape %v, PyTorch %v", what, gotShape, want.Shape)
		return math.Inf(1)
	}
	if len(got) != len(want.Data) {
		t.Errorf("%s: %d values, PyTorch %d", what, len(got), len(want.Data))
		return math.Inf(1)
	}
	var maxRef, maxErr float64
	worst := 0
	for i, w := range want.Data {
		maxRef = max(maxRef, math.Abs(w))
		if d := math.Abs(got[i] - w); d > maxErr || math.IsNaN(d) {
			maxErr, worst = d, i
			if math.IsNaN(d) {
				maxErr = math.Inf(1)
			}
		}
	}
	rel := maxErr / max(maxRef, 1e-300)
	if !(rel <= tol) {
		t.Errorf("%s: relative error %.3g (max |diff| %.3g at %d: go %.10g, torch %.10g; max |torch| %.3g)",
			what, rel, maxErr, worst, got[worst], want.Data[worst], maxRef)
	} else if testing.Verbose() {
		t.Logf("%s: relative error %.2g", what, rel)
	}
	return rel
}

// f64 is a tensor's values as float64 (converted from float32).
func goldenF64(t *testing.T, d *tensor.Dense) []float64 {
	t.Helper()
	if d == nil {
		t.Fatal("no value")
	}
	switch v := d.Data().(type) {
	case []float64:
		return v
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	t.Fatalf("value is %T", d.Data())
	return nil
}

func goldenSetInput(b *ops.Builder, name string, v []float64) {
	copy(b.InputValue(name).Data().([]float64), v)
}

// goldenRunBlock builds one block through nn.Scope with the loss Σ y⊙r, runs it
// and compares y and every weight gradient.
func goldenRunBlock(t *testing.T, gb goldenBlock, build func(s nn.Scope, g *nn.Graph) *nn.Node) {
	w := goldenWeights(t, gb.Weights, tensor.Float64)
	g := nn.NewGraph(w, nil)
	var y *nn.Node
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("building: %v", r)
			}
		}()
		y = build(g.Root().Sub(gb.Scope), g)
	}()
	goldenCheckNoNewWeights(t, w, gb.Weights)
	goldenCheckUsedAll(t, g.B.Params(), gb.Weights)
	r := g.B.Input("r", gb.R.Shape...)
	goldenSetInput(g.B, "r", gb.R.values(t))
	prog, err := g.B.Compile(g.B.Dot(y, r), y)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	goldenCompare(t, "output", goldenF64(t, ops.Value(y)), []int(y.Shape()), gb.Y)
	for _, p := range g.B.Params() {
		want, ok := gb.Grads[p.Name]
		if !ok {
			t.Errorf("no PyTorch gradient for %s", p.Name)
			continue
		}
		gr := prog.Grad(p)
		if gr == nil {
			t.Errorf("%s: no gradient", p.Name)
			continue
		}
		goldenCompare(t, "grad "+p.Name, goldenF64(t, gr), []int(gr.Shape()), want)
	}
}

// TestGoldenResBlock: nn.Scope.ResBlock (4 → 8 channels, 1×1 skip) on a
// 3×4 image, forward and every weight gradient.
func TestGoldenResBlock(t *testing.T) {
	gb := loadGolden(t).ResBlock
	goldenRunBlock(t, gb, func(s nn.Scope, g *nn.Graph) *nn.Node {
		x := g.B.Input("x", gb.X.Shape...)
		temb := g.B.Input("temb", gb.Temb.Shape...)
		goldenSetInput(g.B, "x", gb.X.values(t))
		goldenSetInput(g.B, "temb", gb.Temb.values(t))
		return s.ResBlock(x, temb, gb.Out, gb.Groups)
	})
}

// TestGoldenSpatialTransformer: self- and cross-attention to a padded
// text (key lengths below the text length), forward and every weight
// gradient.
func TestGoldenSpatialTransformer(t *testing.T) {
	gb := loadGolden(t).Transformer
	goldenRunBlock(t, gb, func(s nn.Scope, g *nn.Graph) *nn.Node {
		x := g.B.Input("x", gb.X.Shape...)
		ctx := g.B.Input("ctx", gb.Ctx.Shape...)
		goldenSetInput(g.B, "x", gb.X.values(t))
		goldenSetInput(g.B, "ctx", gb.Ctx.values(t))
		g.TextLen.L = gb.Lengths
		return s.SpatialTransformer(x, ctx, gb.Heads, gb.Groups, gb.SelfAttn)
	})
}

// TestGoldenTinyModel: the whole Tiny() text encoder + UNet as a training
// Net in float64: text encoding, prediction, ε-MSE loss and weight
// gradients.
func TestGoldenTinyModel(t *testing.T) { goldenTinyModel(t, tensor.Float64, goldenTol) }

// TestGoldenTinyModelFloat32: the same in float32, the production dtype
// (fast exp, float32 GEMMs), against the float64 reference.
func TestGoldenTinyModelFloat32(t *testing.T) { goldenTinyModel(t, tensor.Float32, goldenTol32) }

// goldenTol32 is the float32 net's tolerance against float64 PyTorch.
const goldenTol32 = 3e-5

func goldenTinyModel(t *testing.T, dt tensor.Dtype, tol float64) {
	gd := loadGolden(t)
	gm := gd.Model
	c := Tiny()
	w := goldenWeights(t, gm.Weights, dt)
	n, err := Build(w, c, NetOptions{Batch: gm.Batch, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	goldenCheckNoNewWeights(t, w, gm.Weights)
	goldenCheckUsedAll(t, n.Params(), gm.Weights)
	if err := n.Set(gm.X.float32s(t), gm.T, gm.IDs, gm.Lengths, gm.Target.float32s(t), nil); err != nil {
		t.Fatal(err)
	}
	// Set's sinusoids are float32-rounded (kernels.TimestepEmbedding, then
	// the float32 Set API): check them at float32 precision, then (float64
	// net) put PyTorch's float64 ones in so that the rest compares in
	// float64.
	tsin := goldenF64(t, n.g.B.InputValue(inTime))
	for i, v := range gm.Tsin.Data {
		if d := math.Abs(tsin[i] - v); d > 1e-7 {
			t.Errorf("time embedding [%d]: %.9g, PyTorch %.9g", i, tsin[i], v)
			break
		}
	}
	if dt == tensor.Float64 {
		goldenSetInput(n.g.B, inTime, gm.Tsin.Data)
	}
	if err := n.Run(); err != nil {
		t.Fatal(err)
	}
	goldenCompareTol(t, "text encoding", goldenF64(t, ops.Value(n.enc)), []int(n.enc.Shape()), gm.Enc, tol)
	goldenCompareTol(t, "unet output", goldenF64(t, ops.Value(n.out)), []int(n.out.Shape()), gm.Out, tol)
	goldenCompareTol(t, "loss", []float64{n.Loss()}, nil, goldenF{Data: []float64{gm.Loss}}, tol)
	byName := map[string]*ops.Param{}
	for _, p := range n.Params() {
		byName[p.Name] = p
	}
	names := make([]string, 0, len(gm.Grads))
	for k := range gm.Grads {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		p := byName[name]
		if p == nil {
			t.Errorf("no weight %s in the net", name)
			continue
		}
		gr := n.Grad(p)
		if gr == nil {
			t.Errorf("%s: no gradient", name)
			continue
		}
		goldenCompareTol(t, "grad "+name, goldenF64(t, gr), []int(gr.Shape()), gm.Grads[name], tol)
	}
	// Every weight: the gradient's L2 norm.
	var bad []string
	worst := 0.0
	for _, p := range n.Params() {
		want, ok := gm.GradNorms[p.Name]
		if !ok {
			t.Errorf("no PyTorch gradient norm for %s", p.Name)
			continue
		}
		var got float64
		if gr := n.Grad(p); gr != nil {
			for _, v := range goldenF64(t, gr) {
				got += v * v
			}
		}
		got = math.Sqrt(got)
		rel := math.Abs(got-want) / max(want, 1e-12)
		worst = max(worst, rel)
		if !(rel <= tol) {
			bad = append(bad, fmt.Sprintf("%s: go %.10g torch %.10g", p.Name, got, want))
		}
	}
	if len(bad) > 0 {
		t.Errorf("gradient norms differ for %d of %d weights:\n  %s", len(bad), len(n.Params()), strings.Join(bad, "\n  "))
	} else if testing.Verbose() {
		t.Logf("gradient norms of all %d weights: worst relative error %.2g", len(n.Params()), worst)
	}
}

// TestGoldenParamCount: model.Reference() has as many weights as its
// PyTorch twin (the one build/bench_torch.py times).
func TestGoldenParamCount(t *testing.T) {
	gd := loadGolden(t)
	w := nn.NewWeights(tensor.Float32, 1)
	n, err := Build(w, Reference(), NetOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var text, unet int
	for _, name := range w.Names() {
		v, _ := w.Lookup(name)
		switch {
		case strings.HasPrefix(name, "text."):
			text += v.Shape().TotalSize()
		case strings.HasPrefix(name, "unet."):
			unet += v.Shape().TotalSize()
		default:
			t.Errorf("weight %s outside text. and unet.", name)
		}
	}
	t.Logf("Reference(): forward %.4g GFLOP per image (ops.Builder.FLOPs)", n.g.B.FLOPs()/1e9)
	t.Logf("Reference(): Go %d weights (text %d, unet %d); PyTorch %d (text %d, unet %d)",
		w.Count(), text, unet, gd.ReferenceParams.Total, gd.ReferenceParams.Text, gd.ReferenceParams.Unet)
	if w.Count() != gd.ReferenceParams.Total || text != gd.ReferenceParams.Text || unet != gd.ReferenceParams.Unet {
		t.Errorf("parameter counts differ: Go %d (text %d, unet %d), PyTorch %d (text %d, unet %d)",
			w.Count(), text, unet, gd.ReferenceParams.Total, gd.ReferenceParams.Text, gd.ReferenceParams.Unet)
	}
}

// TestGoldenDDIM: deterministic DDIM, 5 trailing steps on the cosine
// schedule, with the model ε̂ = 0.1·x. Each step is then x ← c_i·x, so
// every model input and the result are fixed multiples of the starting
// noise, which the test replays from the same seed (Sample draws it
// first, one NormFloat64 per value).
func TestGoldenDDIM(t *testing.T) {
	gd := loadGolden(t).DDIM
	s := diffusion.Cosine(gd.T)
	for i, ts := range gd.Timesteps {
		got := s.AlphasCumprod[ts]
		if math.Abs(got-gd.AlphasCumprod[i]) > goldenTol*gd.AlphasCumprod[i] {
			t.Errorf("ᾱ[%d] = %.10g, PyTorch %.10g", ts, got, gd.AlphasCumprod[i])
		}
	}
	ts, err := diffusion.Timesteps(gd.T, gd.Steps, diffusion.Trailing)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ts) != fmt.Sprint(gd.Timesteps) {
		t.Errorf("trailing timesteps %v, diffusers %v", ts, gd.Timesteps)
	}
	const batch, n = 2, 6
	var inputs [][]float32
	var steps []int
	model := func(x []float32, tt []int, b int) ([]float32, error) {
		inputs = append(inputs, append([]float32(nil), x...))
		steps = append(steps, tt[0])
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(gd.EpsScale * float64(v))
		}
		return out, nil
	}
	out, err := diffusion.Sample(context.Background(), s, diffusion.Epsilon, model, batch, n,
		rand.New(rand.NewPCG(7, 8)), diffusion.Options{Sampler: diffusion.DDIM, Steps: gd.Steps, Spacing: diffusion.Trailing})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(steps) != fmt.Sprint(gd.Timesteps) {
		t.Errorf("model called at %v, want %v", steps, gd.Timesteps)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	xT := make([]float64, batch*n)
	for i := range xT {
		xT[i] = rng.NormFloat64()
	}
	mult := 1.0
	for i := 0; i <= len(gd.StepScales); i++ {
		got, what := out, "result"
		if i < len(gd.StepScales) {
			if i >= len(inputs) {
				break
			}
			got, what = inputs[i], fmt.Sprintf("model input %d", i)
		}
		want := make([]float64, len(xT))
		g64 := make([]float64, len(xT))
		for j := range xT {
			want[j], g64[j] = mult*xT[j], float64(got[j])
		}
		// The model sees float32 values and ε̂ is float32-rounded; the
		// first step amplifies that rounding by 1/√ᾱ_999.
		goldenCompare(t, what, g64, nil, goldenF{Data: want})
		if i < len(gd.StepScales) {
			mult *= gd.StepScales[i]
		}
	}
	if len(inputs) != len(gd.StepScales) {
		t.Errorf("%d model calls, want %d", len(inputs), len(gd.StepScales))
	}
}
