package engine

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func sampleConcept() *Concept {
	return &Concept{
		Name: "teddy", Class: "teddy bear", Method: Perfusion, BaseID: "abc123",
		Settings:  ConceptSettings{Beta: 0.7, Tau: 0.15, Steps: 200},
		Scores:    map[string]float64{"identity": 0.81},
		Created:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Thumbnail: []byte("\x89PNG fake"),
		Tensors: map[string]Tensor{
			"emb":     {Shape: []int{1, 4}, Data: []float32{1, 2, 3, 4}},
			"o_v/l.0": {Shape: []int{2}, Data: []float32{-1, 0.5}},
		},
	}
}

func TestConceptRoundTripBitExact(t *testing.T) {
	c := sampleConcept()
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeConcept(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, back) {
		t.Fatalf("round trip differs:\n%+v\n%+v", c, back)
	}
	var again bytes.Buffer
	back.Encode(&again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("re-encoding changed the bytes")
	}
}

func TestConceptRejectsBadFiles(t *testing.T) {
	good := sampleConcept()
	var buf bytes.Buffer
	good.Encode(&buf)
	nan := sampleConcept()
	nan.Tensors["emb"] = Tensor{Shape: []int{1}, Data: []float32{float32(math.NaN())}}
	var nanBuf bytes.Buffer
	nan.Encode(&nanBuf)
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": buf.Bytes()[:buf.Len()/2],
		"nan":       nanBuf.Bytes(),
	}
	for name, data := range cases {
		if _, err := DecodeConcept(data); !errors.Is(err, ErrCorruptConcept) {
			t.Errorf("%s: want ErrCorruptConcept, got %v", name, err)
		}
	}
	bad := sampleConcept()
	bad.Name = "Teddy/../x"
	if err := bad.Encode(&bytes.Buffer{}); err == nil {
		t.Error("an invalid name must not be written")
	}
}
