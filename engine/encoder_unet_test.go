package engine

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/internal/numgrad"
)

// TestSlotValuesGradient checks the value head's path into the UNet in
// float64: the loss's gradient with respect to each layer's slot offsets
// (the head's upstream in encoder training) against central differences,
// and that picture i's offsets reach picture i's slot word only (an
// offset row whose word is absent has no gradient; moving picture 1's
// row leaves picture 0's loss share as it was).
func TestSlotValuesGradient(t *testing.T) {
	c := model.Tiny()
	const B = 2
	probe := nn.NewWeights(tensor.Float64, 1)
	if _, err := model.Build(probe, c, model.NetOptions{Batch: B, Train: true}); err != nil {
		t.Fatal(err)
	}
	kv := map[string]nn.KV{}
	var layers []string
	for _, n := range probe.Names() {
		if l, ok := strings.CutSuffix(n, ".attn2.k.w"); ok {
			layers = append(layers, l+".attn2")
			kv[l+".attn2"] = slotValues{batch: 3} // a batch wider than this net's: the row of another replica's picture
		}
	}
	if len(layers) == 0 {
		t.Fatal("the tiny model has no cross-attention")
	}
	w := nn.NewWeights(tensor.Float64, 1)
	frozen := func(n string) bool { return !strings.HasSuffix(n, "."+slotValueWeight) }
	net, err := model.Build(w, c, model.NetOptions{Batch: B, Train: true, KV: kv, Frozen: frozen})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	randomize64(w, 2)
	r := rand.New(rand.NewPCG(4, 4))
	per := c.ImageSize * c.ImageSize * c.InChannels
	x, target := make([]float32, B*per), make([]float32, B*per)
	for i := range x {
		x[i], target[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	L := c.MaxLen
	ids := make([]int, B*L)
	for i := range ids {
		ids[i] = 1 + r.IntN(c.Vocab-2)
	}
	slots := []int{c.Vocab - 1, c.Vocab - 1, c.Vocab - 1}
	ids[0*L+2] = slots[0] // picture 0's word at place 2, picture 1's at place 1
	ids[1*L+1] = slots[1]
	lengths := []int{L, 3}
	set := func(weights []float32) {
		if err := net.Set(x, []float64{300, 700}, ids, lengths, target, weights); err != nil {
			t.Fatal(err)
		}
		if err := net.SetExtra(encSlotsInput, slotMask(append(slices.Clone(ids), make([]int, L)...), slots, L, 0, B)); err != nil {
			t.Fatal(err)
		}
	}
	// The mask as the batch of three sees its first two pictures: columns
	// of the whole batch.
	m := slotMask(append(slices.Clone(ids), make([]int, L)...), slots, L, 0, B)
	if len(m) != B*L*3 || m[(0*L+2)*3+0] != 1 || m[(1*L+1)*3+1] != 1 || slices.Index(m, 1) != (0*L+2)*3 {
		t.Fatalf("slot mask %v", m)
	}
	if err := net.SetExtra(encSlotsInput, m); err != nil {
		t.Fatal(err)
	}
	if err := net.SetExtra("no such input", m); err == nil {
		t.Fatal("SetExtra took an input the network does not have")
	}
	set(nil)
	loss := func() float64 {
		if err := net.Run(); err != nil {
			t.Fatal(err)
		}
		return net.Loss()
	}
	loss()
	checked := 0
	for _, p := range net.Params() {
		if !strings.HasSuffix(p.Name, slotValueWeight) {
			continue
		}
		g := slices.Clone(net.Grad(p).Data().([]float64))
		x := p.Value.Data().([]float64)
		C := len(x) / 3
		for _, k := range []int{0, C - 1, C + 1, 2*C - 1, 2 * C} {
			num := numgrad.CentralDifference(x, k, 1e-6, loss)
			if d := math.Abs(num - g[k]); d > 1e-8 && d > 1e-5*math.Abs(num) {
				t.Errorf("%s[%d]: gradient %.9g, central difference %.9g", p.Name, k, g[k], num)
			}
			if k < 2*C && g[k] == 0 {
				t.Errorf("%s[%d]: no gradient at a picture's slot", p.Name, k)
			}
			if k >= 2*C && g[k] != 0 {
				t.Errorf("%s[%d]: gradient %g for a picture not in this net", p.Name, k, g[k])
			}
			checked++
		}
	}
	if checked < 5*len(layers) {
		t.Fatalf("checked %d values over %d layers", checked, len(layers))
	}
	// Picture 0's share of the loss (weights 1, 0) does not move with
	// picture 1's offsets.
	set([]float32{1, 0})
	before := loss()
	for _, p := range net.Params() {
		if strings.HasSuffix(p.Name, slotValueWeight) {
			x := p.Value.Data().([]float64)
			C := len(x) / 3
			for c := C; c < 2*C; c++ {
				x[c] += 0.5
			}
		}
	}
	if after := loss(); after != before {
		t.Fatalf("picture 0's loss %v became %v when picture 1's offsets moved", before, after)
	}
}

func randomize64(w *nn.Weights, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 9))
	for _, name := range w.Names() {
		t, _ := w.Lookup(name)
		d := t.Data().([]float64)
		for i := range d {
			d[i] = (r.Float64()*2 - 1) * 0.5
		}
	}
}

// TestEncoderWithValuesAndUNet pretrains a tiny encoder with both of
// E4T's other halves on the tiny base: it resumes exactly, predicts the
// word and every layer's value offset, reads the UNet; its e4t concept
// from one picture is Perfusion-shaped (value targets off W_V·i_super by
// the encoder's offsets and the tuning), round-trips bit-exact, attaches
// with a gate and draws the same image twice from one seed.
func TestEncoderWithValuesAndUNet(t *testing.T) {
	b := tinyBase(t)
	opt := EncoderTrainOptions{Config: TinyEncoderConfig(b.Cfg.TextDim), Steps: 6, Batch: 4, LR: 3e-3, ValueHead: true, UNetInput: true}
	ctx := context.Background()
	e1, e2 := straightAndResumed(t, b, opt, 4, nil)
	if name := encoderDiff(e1, e2); name != "" {
		t.Fatalf("%s differs between the unbroken run and the resumed one", name)
	}
	cfg := e1.Record.Config
	widths := 0
	for _, l := range b.crossLayers() {
		wv, _ := b.W.Lookup(l + ".v.w")
		widths += wv.Shape()[1]
	}
	if cfg.Values != widths || cfg.UNet != unetFeatureWidth(b.Cfg) || cfg.FeatureT != encoderFeatureT {
		t.Fatalf("config %+v: want %d values and %d UNet features", cfg, widths, unetFeatureWidth(b.Cfg))
	}
	head, _ := e1.w.Lookup("enc.head.w")
	hd := head.Data().([]float32)
	moved := false
	for r := 0; r < cfg.Feature; r++ {
		for c := cfg.TextDim; c < cfg.TextDim+cfg.Values; c++ {
			moved = moved || hd[r*(cfg.TextDim+cfg.Values)+c] != 0
		}
	}
	if !moved {
		t.Fatal("the value head did not learn")
	}
	S := cfg.ImageSize
	pic := make([]float32, S*S*3)
	if _, err := e1.Predict([][]float32{pic}, nil); err == nil {
		t.Fatal("an encoder that reads the UNet predicted without its features")
	}

	cs := onePictureConcept(t, "../examples/teddy/1.png", "teddy", "teddy bear")
	data := cs.Sampler(b.PictureSize(), dataset.DefaultConceptSceneOptions())
	c, err := b.TrainConcept(ctx, TrainOptions{Method: E4T, Encoder: e1, Name: "teddy", Class: "teddy bear", Data: data, Images: 1, Batch: 4, Seed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !perfusionShaped(c) || c.Settings.Beta == 0 {
		t.Fatalf("an e4t concept from a value head holds %v, β %v", slices.Sorted(maps.Keys(c.Tensors)), c.Settings.Beta)
	}
	if err := (e4tMethod{}).check(b, c); err != nil {
		t.Fatal(err)
	}
	iSuper := toF64(c.Tensors["i_super"].Data)
	for _, l := range b.crossLayers() {
		wv, _ := b.W.Lookup(l + ".v.w")
		C := wv.Shape()[1]
		base := make([]float32, C)
		project(iSuper, wv.Data().([]float32), C, base)
		if slices.Equal(base, c.Tensors["o_v/"+l].Data) {
			t.Fatalf("%s: the value target is the class word's", l)
		}
	}
	path := filepath.Join(t.TempDir(), "teddy.concept.safetensors")
	if err := WriteConceptFile(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := ReadConceptFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, tn := range c.Tensors {
		if !slices.Equal(tn.Data, back.Tensors[name].Data) {
			t.Fatalf("%s changed in the file", name)
		}
	}
	if g := (e4tMethod{}).gate(back, 1); g != 1 || back.Settings.Beta != perfusionBeta {
		t.Fatalf("strength %v, β %v", g, back.Settings.Beta)
	}
	gen := func() []byte {
		imgs, err := b.GenerateWith(ctx, GenerateOptions{Prompt: "a teddy*", N: 1, Seed: 5, Steps: 3, Guidance: 3}, []ConceptUse{{Concept: back}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs[0].Pix
	}
	if a, z := gen(), gen(); !slices.Equal(a, z) {
		t.Fatal("the same seed drew two images")
	}
}

// TestE4TStrength: an instant concept's gate is its strength, the share
// of its departure from the class word it is drawn with: at 0.5 the
// word's row sits halfway between the class word's and the trained one,
// at 1 (the default) it is the trained one; a Perfusion-shaped one's
// value targets move the same way (at Perfusion's β).
func TestE4TStrength(t *testing.T) {
	b := tinyBase(t)
	D := b.Cfg.TextDim
	words := dataset.Words("teddy bear")
	cid, _ := b.Tok.ID(words[len(words)-1])
	cls := b.classEmbedding(cid)
	emb := make([]float32, D)
	for j := range emb {
		emb[j] = cls[j] + float32(math.Sin(float64(j)))*0.3
	}
	c := &Concept{Name: "toy", Class: "teddy bear", Method: E4T, BaseID: b.ID(), Tensors: map[string]Tensor{"emb": {Shape: []int{1, D}, Data: emb}}}
	row := func(gate float64) []float32 {
		s, err := b.sessionFor([]ConceptUse{{Concept: c, Gate: gate}}, false)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := s.tok.ID("toy*")
		table, _ := s.w.Lookup(tokTable)
		return slices.Clone(table.Data().([]float32)[id*D : (id+1)*D])
	}
	if got := row(0); !slices.Equal(got, emb) {
		t.Fatal("at its default strength the word is not the trained one")
	}
	half := row(0.5)
	for j := range half {
		if d := half[j] - (cls[j]+emb[j])/2; d*d > 1e-10 {
			t.Fatalf("strength 0.5: element %d is %v, want %v", j, half[j], (cls[j]+emb[j])/2)
		}
	}
	if g := Gates([]ConceptUse{{Concept: c}}); g[0] != 1 {
		t.Fatalf("default gate %v", g)
	}
	info, _ := LookupMethod(string(E4T))
	if info.Gate == nil || info.Gate.Check(0.5) != nil || info.Gate.Check(0) == nil {
		t.Fatalf("the method's gate %+v", info.Gate)
	}
	// Perfusion-shaped: the value targets at W_V·i_super + 0.5·(o_v − W_V·i_super).
	iSuper, _, err := b.ClassEncoding(b.W, "teddy bear")
	if err != nil {
		t.Fatal(err)
	}
	c.Tensors["i_star"] = Tensor{Shape: []int{D}, Data: slices.Clone(iSuper)}
	c.Tensors["i_super"] = Tensor{Shape: []int{D}, Data: slices.Clone(iSuper)}
	l := b.crossLayers()[0]
	for _, layer := range b.crossLayers() {
		wv, _ := b.W.Lookup(layer + ".v.w")
		C := wv.Shape()[1]
		base := make([]float32, C)
		project(toF64(iSuper), wv.Data().([]float32), C, base)
		for j := range base {
			base[j] += 1
		}
		c.Tensors["o_v/"+layer] = Tensor{Shape: []int{C}, Data: base}
	}
	s, err := b.sessionFor([]ConceptUse{{Concept: c, Gate: 0.5}}, false)
	if err != nil {
		t.Fatal(err)
	}
	ov, ok := s.w.Lookup(l + "." + perfPrefix + ".toy.o_v")
	if !ok {
		t.Fatal("a Perfusion-shaped instant concept attached no value targets")
	}
	wv, _ := b.W.Lookup(l + ".v.w")
	want := make([]float32, wv.Shape()[1])
	project(toF64(iSuper), wv.Data().([]float32), len(want), want)
	for j, v := range ov.Data().([]float32) {
		if d := v - (want[j] + 0.5); d*d > 1e-8 {
			t.Fatalf("value target %d is %v, want %v", j, v, want[j]+0.5)
		}
	}
	if orig := c.Tensors["o_v/"+l].Data[0]; orig != want[0]+1 {
		t.Fatalf("attaching at a strength changed the concept's own tensors (%v)", orig)
	}
}
