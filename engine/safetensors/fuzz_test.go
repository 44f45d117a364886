package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add(fixture())
	for _, c := range badCases() {
		if len(c.in) <= 4096 { // skip the huge nesting inputs: slow to mutate
			f.Add(c.in)
		}
	}
	for _, file := range []*File{
		{},
		{Metadata: map[string]string{"format": "pt", "x": "\"\n"}},
		{Tensors: []Tensor{
			F32Tensor("w", []int{2, 2}, []float32{1, 2, 3, 4}),
			F16Tensor("h", []int{3}, []float32{0.5, -1, 65504}),
			{Name: "bf", DType: BF16, Shape: []int{1}, Data: []byte{0x80, 0x3F}},
			{Name: "z", DType: I32, Shape: []int{0, 5}},
		}},
	} {
		b, err := EncodeBytes(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b, ReadOptions{})
		_, strictErr := Decode(b, ReadOptions{RejectNonFinite: true})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrHeaderTooLarge) && !errors.Is(err, ErrUnsupportedDType) {
				t.Fatalf("unclassified error: %v", err)
			}
			if strictErr == nil {
				t.Fatalf("RejectNonFinite accepted what the default rejected: %v", err)
			}
			return
		}
		if strictErr != nil && !errors.Is(strictErr, ErrNonFinite) {
			t.Fatalf("RejectNonFinite failed with %v", strictErr)
		}
		for _, tn := range file.Tensors {
			v, err := tn.Float32()
			switch tn.DType {
			case F32, F16, BF16, F64:
				if err != nil {
					t.Fatalf("tensor %q: Float32: %v", tn.Name, err)
				}
				if n, _ := tn.NumElements(); len(v) != n {
					t.Fatalf("tensor %q: %d values for %d elements", tn.Name, len(v), n)
				}
			default:
				if !errors.Is(err, ErrUnsupportedDType) {
					t.Fatalf("tensor %q (%s): Float32 error %v", tn.Name, tn.DType, err)
				}
			}
		}
		enc, err := EncodeBytes(file)
		if err != nil {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
		again, err := Decode(enc, ReadOptions{})
		if err != nil {
			t.Fatalf("decoding a re-encoded file: %v", err)
		}
		if !sameFile(file, again) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v", file, again)
		}
		enc2, err := EncodeBytes(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point (err %v)", err)
		}
	})
}

func sameFile(a, b *File) bool {
	if len(a.Metadata) != len(b.Metadata) || (len(a.Metadata) > 0 && !maps.Equal(a.Metadata, b.Metadata)) {
		return false
	}
	return slices.EqualFunc(a.Tensors, b.Tensors, func(x, y Tensor) bool {
		return x.Name == y.Name && x.DType == y.DType && slices.Equal(x.Shape, y.Shape) && bytes.Equal(x.Data, y.Data)
	})
}
