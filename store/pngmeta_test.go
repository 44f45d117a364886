package store

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestPNGMetaRoundTrip(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.NRGBA{200, 10, 20, 255})
	meta := map[string]string{"prompt": "a teddy* on a blue background", "seed": "42", "café": "naïve"}
	var buf bytes.Buffer
	if err := EncodePNG(&buf, img, meta); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPNGMeta(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if got[k] != v {
			t.Errorf("%s: got %q want %q", k, got[k], v)
		}
	}
	back, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("standard decoder refuses the file: %v", err)
	}
	if back.At(1, 1) != (color.NRGBA{200, 10, 20, 255}) {
		t.Fatalf("pixel changed: %v", back.At(1, 1))
	}
	var again bytes.Buffer
	EncodePNG(&again, img, meta)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("same image and metadata must give the same bytes")
	}
}

func TestPNGMetaBadInput(t *testing.T) {
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewNRGBA(image.Rect(0, 0, 1, 1)), map[string]string{"k": "v"})
	good := buf.Bytes()
	corrupt := append([]byte(nil), good...)
	corrupt[40] ^= 0xff // inside the tEXt chunk: CRC mismatch
	huge := append([]byte(nil), good[:33]...)
	huge = append(huge, 0x7f, 0xff, 0xff, 0xff, 't', 'E', 'X', 't')
	for name, data := range map[string][]byte{
		"empty": nil, "jpeg": {0xff, 0xd8, 0xff}, "truncated": good[:20],
		"bad crc": corrupt, "length past end": huge,
	} {
		if _, err := ReadPNGMeta(data); !errors.Is(err, ErrNotPNG) {
			t.Errorf("%s: want ErrNotPNG, got %v", name, err)
		}
	}
}

func FuzzReadPNGMeta(f *testing.F) {
	var buf bytes.Buffer
	EncodePNG(&buf, image.NewNRGBA(image.Rect(0, 0, 2, 2)), map[string]string{"prompt": "a dog"})
	f.Add(buf.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, err := ReadPNGMeta(data)
		if err == nil && meta == nil {
			t.Fatal("nil metadata without an error")
		}
	})
}
