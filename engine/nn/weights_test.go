package nn

import (
	"strings"
	"testing"

	"conceptstudio/engine/safetensors"

	"gorgonia.org/tensor"
)

// TestLoadPrefixed: a checkpoint's "w/" tensors land in the weights of the
// same name; other tensors are ignored; a tensor for a weight the model
// lacks, or of another size, is refused.
func TestLoadPrefixed(t *testing.T) {
	w := NewWeights(tensor.Float32, 1)
	a := w.Get("a", []int{2, 2}, Zeros)
	w.Get("b", []int{3}, Zeros)
	tensors := []safetensors.Tensor{
		safetensors.F32Tensor("w/a", []int{4}, []float32{1, 2, 3, 4}),
		safetensors.F32Tensor("adam/m/a", []int{4}, []float32{9, 9, 9, 9}),
	}
	loaded, err := w.LoadPrefixed(tensors, "w/")
	if err != nil {
		t.Fatal(err)
	}
	if !loaded["a"] || loaded["b"] || len(loaded) != 1 {
		t.Errorf("loaded %v, want only a", loaded)
	}
	if got := a.Data().([]float32); got[0] != 1 || got[3] != 4 {
		t.Errorf("a = %v", got)
	}
	if _, err := w.LoadPrefixed([]safetensors.Tensor{safetensors.F32Tensor("w/c", []int{1}, []float32{1})}, "w/"); err == nil || !strings.Contains(err.Error(), "c is not in this model") {
		t.Errorf("unknown weight: %v", err)
	}
	if _, err := w.LoadPrefixed([]safetensors.Tensor{safetensors.F32Tensor("w/b", []int{2}, []float32{1, 2})}, "w/"); err == nil || !strings.Contains(err.Error(), "2 values") {
		t.Errorf("wrong size: %v", err)
	}
	w64 := NewWeights(tensor.Float64, 1)
	b := w64.Get("b", []int{3}, Zeros)
	if _, err := w64.LoadPrefixed([]safetensors.Tensor{safetensors.F32Tensor("w/b", []int{3}, []float32{1, 2, 3})}, "w/"); err != nil {
		t.Fatal(err)
	}
	if got := b.Data().([]float64); got[2] != 3 {
		t.Errorf("float64 weights: %v", got)
	}
}
