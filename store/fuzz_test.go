package store

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/safetensors"
)

// FuzzParseConcept fuzzes the concept import path (ParseConcept, which is
// what Library.Import runs on a file's bytes): concept files and textual
// inversion embeddings. It must never panic, must refuse with a one-line
// error, and what it accepts must satisfy the options and encode again.
func FuzzParseConcept(f *testing.F) {
	f.Add(encodeConcept(f, testConcept("teddy")))
	f.Add(encodeConcept(f, loraConcept("lora")))
	f.Add(embeddingFile(f, "<cat-toy>", 1, testWidth, safetensors.F32))
	f.Add(embeddingFile(f, "emb_params", 2, testWidth, safetensors.F16))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32bytes(1)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := ImportOptions{BaseID: testBase, TextWidth: testWidth, AverageVectors: len(data)%2 == 0}
		c, format, err := ParseConcept(data, "x.safetensors", opt)
		if err != nil {
			if c != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q with concept %v", err, c)
			}
			return
		}
		if engine.ValidName(c.Name) != nil || c.BaseID != testBase {
			t.Fatalf("accepted %q (base %q)", c.Name, c.BaseID)
		}
		if emb, ok := c.Tensors["emb"]; ok && emb.Shape[len(emb.Shape)-1] != testWidth {
			t.Fatalf("accepted an embedding of shape %v", emb.Shape)
		}
		var buf bytes.Buffer
		if err := c.Encode(&buf); err != nil {
			t.Fatalf("accepted (%s) but cannot encode: %v", format, err)
		}
		back, err := engine.DecodeConcept(buf.Bytes())
		if err != nil || back.Name != c.Name || len(back.Tensors) != len(c.Tensors) {
			t.Fatalf("re-encoded concept does not decode: %v", err)
		}
	})
}

// FuzzConceptMetadata fuzzes the JSON metadata of an otherwise valid
// concept file.
func FuzzConceptMetadata(f *testing.F) {
	f.Add(conceptMetaJSON(nil))
	f.Add(conceptMetaJSON(map[string]any{"method": "lora", "scores": map[string]any{"identity": 0.5}}))
	f.Add(conceptMetaJSON(map[string]any{"name": "Te/ddy"}))
	f.Add(`{"version":1,"name":"a","method":"ti","settings":{"rank":-1},"created":"x"}`)
	f.Add("[")
	f.Fuzz(func(t *testing.T, meta string) {
		data := rawSafetensors(conceptHeader(meta, embEntry("F32", "[1,8]", "[0,32]")), eightFloats)
		c, _, err := ParseConcept(data, "x.concept.safetensors", ImportOptions{TextWidth: testWidth})
		if err != nil {
			if !errors.Is(err, engine.ErrCorruptConcept) && !errors.Is(err, ErrWrongWidth) && !errors.Is(err, ErrBadName) {
				t.Fatalf("unexpected kind of error: %v", err)
			}
			return
		}
		if engine.ValidName(c.Name) != nil {
			t.Fatalf("accepted the name %q", c.Name)
		}
		for k, v := range c.Scores {
			if v != v {
				t.Fatalf("accepted a NaN score %q", k)
			}
		}
	})
}

// FuzzReadSettings fuzzes the generation settings reader.
func FuzzReadSettings(f *testing.F) {
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), sampleSettings().Meta())
	f.Add(buf.Bytes())
	f.Add(pngHeaderOnly(1, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSettings(data)
		if err != nil {
			return
		}
		for _, c := range s.Concepts {
			if engine.ValidName(c.Name) != nil {
				t.Fatalf("accepted concept name %q", c.Name)
			}
		}
		if s.Steps < 0 || s.Index < 0 || s.Guidance != s.Guidance {
			t.Fatalf("accepted %+v", s)
		}
	})
}

// FuzzDecodeImage fuzzes the image reader: never a panic, never an image
// over the caps.
func FuzzDecodeImage(f *testing.F) {
	f.Add(pngHeaderOnly(4, 4))
	f.Add(jpegFlat(8, 8, []uint8{1, 2, 3}, true))
	f.Add(jpegFlat(8, 8, []uint8{255, 0, 0, 255}, false))
	f.Add(webpLossless(3, 3, 1, 2, 3, 4))
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 9, 9)), nil)
	f.Add(withExifOrientation(b.Bytes(), 6))
	b.Reset()
	gif.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 3)), nil)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		img, _, err := DecodeImage(data)
		if err != nil {
			if !errors.Is(err, ErrNotAnImage) && !errors.Is(err, ErrImageTooLarge) {
				t.Fatalf("unexpected kind of error: %v", err)
			}
			return
		}
		if r := img.Bounds(); r.Dx() > MaxImageSide || r.Dy() > MaxImageSide || r.Empty() {
			t.Fatalf("accepted an image of %v", r)
		}
	})
}
