package safetensors_test

import (
	"fmt"
	"log"

	"conceptstudio/engine/safetensors"
)

func Example() {
	// Write a file with an F32 and an F16 tensor and some metadata.
	in := &safetensors.File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: []safetensors.Tensor{
			safetensors.F32Tensor("weight", []int{2, 2}, []float32{1, 2, 3, 4}),
			safetensors.F16Tensor("bias", []int{2}, []float32{0.5, 0.1}),
		},
	}
	b, err := safetensors.EncodeBytes(in)
	if err != nil {
		log.Fatal(err)
	}

	// Read it back, refusing NaN and Inf values.
	f, err := safetensors.Decode(b, safetensors.ReadOptions{RejectNonFinite: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("format:", f.Metadata["format"])
	for _, t := range f.Tensors {
		vals, err := t.Float32()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.Name, t.DType, t.Shape, vals)
	}
	// Output:
	// format: pt
	// bias F16 [2] [0.5 0.099975586]
	// weight F32 [2 2] [1 2 3 4]
}
