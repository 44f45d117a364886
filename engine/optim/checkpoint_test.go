package optim

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"conceptstudio/engine/safetensors"
)

// TestCheckpointStateRoundTrip: moments, shadows and the random state come
// back exactly through a safetensors file, other tensors are left to the
// caller, and a resumed optimizer takes the very step an uninterrupted one
// takes.
func TestCheckpointStateRoundTrip(t *testing.T) {
	mk := func() []*Param {
		return []*Param{{Name: "a", Value: []float32{1, -2, 3}, Grad: []float32{0.5, 0.25, -1}}, {Name: "b", Value: []float32{4}, Grad: []float32{-0.125}}}
	}
	ps := mk()
	adam := NewAdamW(Group{LR: 0.1, WeightDecay: 0.01})
	ema, err := NewEMA(ps, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := adam.Step(ps); err != nil {
			t.Fatal(err)
		}
		if err := ema.Update(ps); err != nil {
			t.Fatal(err)
		}
	}
	pcg := rand.NewPCG(7, 9)
	rand.New(pcg).Uint64()
	rng, err := EncodeRNG(pcg)
	if err != nil {
		t.Fatal(err)
	}
	f := &safetensors.File{Tensors: []safetensors.Tensor{safetensors.F32Tensor("w/a", []int{3}, ps[0].Value)}}
	AppendState(f, adam, ema)
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	g, err := safetensors.Decode(buf.Bytes(), safetensors.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	as, es, rest, err := SplitState(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].Name != "w/a" {
		t.Errorf("rest = %v, want only w/a", rest)
	}
	if !reflect.DeepEqual(as, adam.State()) || !reflect.DeepEqual(es, ema.State()) {
		t.Fatal("moments or shadows changed on the way through the file")
	}
	adam2 := NewAdamW(Group{LR: 0.1, WeightDecay: 0.01})
	if err := adam2.Load(as, adam.StepCount()); err != nil {
		t.Fatal(err)
	}
	ps2 := mk()
	for i := range ps {
		copy(ps2[i].Value, ps[i].Value)
	}
	adam.Step(ps)
	adam2.Step(ps2)
	if !reflect.DeepEqual(ps[0].Value, ps2[0].Value) || !reflect.DeepEqual(ps[1].Value, ps2[1].Value) {
		t.Errorf("resumed step %v %v, uninterrupted %v %v", ps2[0].Value, ps2[1].Value, ps[0].Value, ps[1].Value)
	}
	pcg2 := rand.NewPCG(0, 0)
	if err := DecodeRNG(rng, pcg2); err != nil {
		t.Fatal(err)
	}
	if a, b := rand.New(pcg).Uint64(), rand.New(pcg2).Uint64(); a != b {
		t.Errorf("restored generator draws %d, the original %d", b, a)
	}
	if err := DecodeRNG("not base64!", pcg2); err == nil {
		t.Error("a corrupt random state was accepted")
	}
}
