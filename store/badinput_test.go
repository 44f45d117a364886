package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/safetensors"

	"golang.org/x/image/bmp"
)

// conceptMetaJSON is valid concept metadata, with fields replaced by edits
// (a nil value deletes the field).
func conceptMetaJSON(edits map[string]any) string {
	m := map[string]any{"version": 1, "name": "evil", "token": "evil*", "class": "thing", "method": "ti",
		"base_model": testBase, "settings": map[string]any{}, "created": "2026-01-01T00:00:00Z"}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// conceptHeader is a safetensors header with concept metadata and the
// given tensor entries (JSON text).
func conceptHeader(meta string, tensors string) string {
	q, _ := json.Marshal(meta)
	h := `{"__metadata__":{"conceptstudio.concept":` + string(q) + `}`
	if tensors != "" {
		h += "," + tensors
	}
	return h + "}"
}

// rawConcept is a concept file with an "emb" [1, 8] F32 tensor entry
// written as given, over data.
func rawConcept(entries string, data []byte) []byte {
	return rawSafetensors(conceptHeader(conceptMetaJSON(nil), entries), data)
}

func embEntry(dtype, shape, offsets string) string {
	return fmt.Sprintf(`"emb":{"dtype":%q,"shape":%s,"data_offsets":%s}`, dtype, shape, offsets)
}

var eightFloats = f32bytes(1, 2, 3, 4, 5, 6, 7, 8)

func withMeta(edits map[string]any) []byte {
	return rawSafetensors(conceptHeader(conceptMetaJSON(edits), embEntry("F32", "[1,8]", "[0,32]")), eightFloats)
}

func nested(depth int) any {
	var v any = 1
	for i := 0; i < depth; i++ {
		v = []any{v}
	}
	return v
}

// patchJPEGSize rewrites the frame size in a JPEG's SOF marker.
func patchJPEGSize(jpg []byte, w, h int) []byte {
	out := append([]byte(nil), jpg...)
	for i := 2; i+9 < len(out); i++ {
		if out[i] == 0xff && (out[i+1] == 0xc0 || out[i+1] == 0xc2) {
			binary.BigEndian.PutUint16(out[i+5:], uint16(h))
			binary.BigEndian.PutUint16(out[i+7:], uint16(w))
			return out
		}
	}
	panic("no SOF marker")
}

type badInput struct {
	name string
	// make writes the input into dir (outside the library) and returns its path.
	make func(t *testing.T, dir string) string
	// run feeds it to the store; nil means Import with the library's options.
	run  func(l *Library, path string) error
	want error
}

func file(name string, data func(t *testing.T) []byte) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string { return writeFile(t, dir, name, data(t)) }
}

func bytesOf(b []byte) func(t *testing.T) []byte { return func(*testing.T) []byte { return b } }

func runLoadImage(_ *Library, path string) error {
	_, err := LoadImage(path)
	return err
}

func sparse(name string, size int64) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		p := writeFile(t, dir, name, []byte("\x89PNG"))
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func badInputs(t *testing.T) []badInput {
	good := encodeConcept(t, testConcept("evil"))
	goodPNG := pngOf(t, image.NewNRGBA(image.Rect(0, 0, 16, 16)))
	var goodJPEG bytes.Buffer
	jpeg.Encode(&goodJPEG, image.NewRGBA(image.Rect(0, 0, 32, 32)), nil)
	var gif1 bytes.Buffer
	gif.Encode(&gif1, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}), nil)
	var bmp1 bytes.Buffer
	bmp.Encode(&bmp1, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	nan := testConcept("evil")
	nan.Tensors["emb"] = engine.Tensor{Shape: []int{1, 8}, Data: []float32{0, 0, float32(math.NaN()), 0, 0, 0, 0, 0}}
	inf := testConcept("evil")
	inf.Tensors["o_v/x"] = engine.Tensor{Shape: []int{1}, Data: []float32{float32(math.Inf(-1))}}
	headerPastEnd := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(headerPastEnd, uint64(len(good)))
	hugeHeader := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(hugeHeader, 100<<20)
	i64emb, _ := safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{
		{Name: "<x>", DType: safetensors.I64, Shape: []int{1, 8}, Data: make([]byte, 64)}}})
	nanEmb, _ := safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{
		safetensors.F32Tensor("<x>", []int{1, 8}, []float32{1, float32(math.NaN()), 0, 0, 0, 0, 0, 0})}})
	threeD, _ := safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{
		safetensors.F32Tensor("<x>", []int{1, 1, 8}, make([]float32, 8))}})
	model, _ := safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{
		safetensors.F32Tensor("a.weight", []int{2}, []float32{1, 2}), safetensors.F32Tensor("b.weight", []int{1}, []float32{3}),
		safetensors.F32Tensor("c.bias", []int{1}, []float32{3})}})
	gifHuge := append([]byte(nil), gif1.Bytes()...)
	binary.LittleEndian.PutUint16(gifHuge[6:], 60000)
	binary.LittleEndian.PutUint16(gifHuge[8:], 60000)
	bmpHuge := append([]byte(nil), bmp1.Bytes()...)
	binary.LittleEndian.PutUint32(bmpHuge[18:], 50000)
	binary.LittleEndian.PutUint32(bmpHuge[22:], 50000)
	webp := webpLossless(4, 4, 1, 2, 3, 4)

	conc := func(name string, data []byte, want error) badInput {
		return badInput{name: name, make: file("in.concept.safetensors", bytesOf(data)), want: want}
	}
	img := func(name, file string, data []byte, want error) badInput {
		return badInput{name: name, make: func(t *testing.T, dir string) string { return writeFile(t, dir, file, data) }, run: runLoadImage, want: want}
	}
	corrupt := engine.ErrCorruptConcept
	return []badInput{
		// Concept files.
		conc("zero-byte file", nil, corrupt),
		conc("seven bytes", good[:7], corrupt),
		conc("truncated concept", good[:len(good)/2], corrupt),
		conc("truncated inside the header", good[:20], corrupt),
		conc("header length past the end", headerPastEnd, corrupt),
		conc("100 MB header claim", hugeHeader, corrupt),
		conc("header is not JSON", rawSafetensors("{not json}", nil), corrupt),
		conc("header is not UTF-8", rawSafetensors("{\"\xff\":1}", nil), corrupt),
		conc("overlapping offsets", rawConcept(embEntry("F32", "[1,8]", "[0,32]")+`,"o_v/x":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}`, eightFloats), corrupt),
		conc("negative offset", rawConcept(embEntry("F32", "[1,8]", "[-4,28]"), eightFloats), corrupt),
		conc("reversed offsets", rawConcept(embEntry("F32", "[1,8]", "[32,0]"), eightFloats), corrupt),
		conc("gap before the data", rawConcept(embEntry("F32", "[1,7]", "[4,32]"), eightFloats), corrupt),
		conc("trailing bytes", rawConcept(embEntry("F32", "[1,8]", "[0,32]"), append(eightFloats, 1, 2, 3, 4)), corrupt),
		conc("shape and size disagree", rawConcept(embEntry("F32", "[1,4]", "[0,32]"), eightFloats), corrupt),
		conc("negative dimension", rawConcept(embEntry("F32", "[-1,8]", "[0,32]"), eightFloats), corrupt),
		conc("overflowing shape", rawConcept(embEntry("F32", "[4611686018427387904,4]", "[0,32]"), eightFloats), corrupt),
		conc("wrong dtype (I32 weights)", rawConcept(embEntry("I32", "[1,8]", "[0,32]"), eightFloats), corrupt),
		conc("unknown dtype", rawConcept(embEntry("F17", "[1,8]", "[0,32]"), eightFloats), corrupt),
		conc("NaN weights", encodeConcept(t, nan), corrupt),
		conc("infinite weights", encodeConcept(t, inf), corrupt),
		conc("duplicate tensor name", rawConcept(embEntry("F32", "[1,4]", "[0,16]")+","+embEntry("F32", "[1,4]", "[16,32]"), eightFloats), corrupt),
		conc("deeply nested JSON metadata", withMeta(map[string]any{"extra": nested(20000)}), corrupt),
		conc("deeply nested tensor entry", rawConcept(embEntry("F32", "[1,8]", "[0,32]")[:len(embEntry("F32", "[1,8]", "[0,32]"))-1]+`,"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+"}", eightFloats), corrupt),
		conc("metadata is not JSON", rawSafetensors(conceptHeader("{", embEntry("F32", "[1,8]", "[0,32]")), eightFloats), corrupt),
		conc("unsupported format version", withMeta(map[string]any{"version": 2}), corrupt),
		conc("path in the concept name", withMeta(map[string]any{"name": "../../etc/passwd"}), corrupt),
		conc("control character in the name", withMeta(map[string]any{"name": "te\x00ddy"}), corrupt),
		conc("unknown method", withMeta(map[string]any{"method": "magic"}), corrupt),
		conc("wrong base model", good, engine.ErrWrongBase),
		conc("a model, not a concept", model, corrupt),
		{name: "duplicate of a library concept", make: file("teddy.concept.safetensors", func(t *testing.T) []byte { return encodeConcept(t, testConcept("teddy")) }), want: ErrExists,
			run: func(l *Library, p string) error { _, err := l.Import(p, ImportOptions{BaseID: testBase}); return err }},
		{name: "a folder instead of a file", make: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "folder.concept.safetensors")
			os.Mkdir(p, 0o755)
			return p
		}, want: corrupt},
		{name: "a 600 MB file", make: sparse("huge.concept.safetensors", 600<<20), want: corrupt},
		{name: "invalid name asked for", make: file("ok.concept.safetensors", bytesOf(encodeConcept(t, testConcept("fine")))), want: ErrBadName,
			run: func(l *Library, p string) error {
				_, err := l.Import(p, ImportOptions{BaseID: testBase, Name: "Bad/Name"})
				return err
			}},
		// Textual inversion embeddings.
		conc("embedding of the wrong width", embeddingFile(t, "<teddy>", 1, 768, safetensors.F32), ErrWrongWidth),
		{name: "A1111 embedding of the wrong width", make: file("teddy.safetensors", func(t *testing.T) []byte { return embeddingFile(t, "emb_params", 1, 1024, safetensors.F16) }), want: ErrWrongWidth},
		conc("multi-vector embedding", embeddingFile(t, "<teddy>", 4, testWidth, safetensors.F32), ErrMultiVector),
		conc("3-D embedding", threeD, corrupt),
		conc("integer embedding", i64emb, corrupt),
		conc("NaN embedding", nanEmb, corrupt),
		conc("token that makes no name", embeddingFile(t, "<日本>", 1, testWidth, safetensors.F32), ErrBadName),
		// Images.
		img("PNG claiming 100000×100000", "bomb.png", pngHeaderOnly(100000, 100000), ErrImageTooLarge),
		img("PNG of 8000×8000 (64 MP)", "big.png", pngHeaderOnly(8000, 8000), ErrImageTooLarge),
		img("PNG 0×0", "empty-dims.png", pngHeaderOnly(0, 0), ErrNotAnImage),
		img("truncated PNG", "cut.png", goodPNG[:len(goodPNG)-20], ErrNotAnImage),
		img("truncated JPEG", "cut.jpg", goodJPEG.Bytes()[:goodJPEG.Len()/2], ErrNotAnImage),
		img("JPEG claiming 65000×65000", "bomb.jpg", patchJPEGSize(jpegFlat(8, 8, []uint8{1, 2, 3}, false), 65000, 65000), ErrImageTooLarge),
		img("progressive JPEG claiming 9000×9000", "bomb2.jpg", patchJPEGSize(jpegFlat(8, 8, []uint8{1, 2, 3}, true), 9000, 9000), ErrImageTooLarge),
		img("GIF claiming 60000×60000", "bomb.gif", gifHuge, ErrImageTooLarge),
		img("truncated GIF", "cut.gif", gif1.Bytes()[:gif1.Len()-6], ErrNotAnImage),
		img("BMP claiming 50000×50000", "bomb.bmp", bmpHuge, ErrImageTooLarge),
		img("truncated WebP", "cut.webp", webp[:len(webp)-4], ErrNotAnImage),
		img("zero-byte image", "empty.png", nil, ErrNotAnImage),
		img("text file named .jpg", "notes.jpg", []byte("these are my notes, not a photo\n"), ErrNotAnImage),
		img("HEIC photo", "IMG_0001.heic", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...), ErrNotAnImage),
		{name: "a folder named .png", make: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "photo.png")
			os.Mkdir(p, 0o755)
			return p
		}, run: runLoadImage, want: ErrNotAnImage},
		{name: "a 200 MB image file", make: sparse("huge.png", 200<<20), run: runLoadImage, want: ErrImageTooLarge},
		{name: "too few images", make: file("one.png", bytesOf(goodPNG)), want: ErrTooFewImages,
			run: func(_ *Library, p string) error { _, _, err := LoadImages([]string{p, p}, 3); return err }},
		// Image settings.
		{name: "settings from a JPEG", make: file("x.jpg", bytesOf(goodJPEG.Bytes())), want: ErrNotPNG,
			run: func(_ *Library, p string) error { b, _ := os.ReadFile(p); _, err := ReadSettings(b); return err }},
		{name: "settings from a foreign PNG", make: file("x.png", bytesOf(goodPNG)), want: ErrNoSettings,
			run: func(_ *Library, p string) error { b, _ := os.ReadFile(p); _, err := ReadSettings(b); return err }},
	}
}

// TestBadInputs feeds each bad input to the store and checks that it is
// refused with a clear one-line error of the right kind, without a panic,
// and that the library folder is byte for byte unchanged afterwards.
func TestBadInputs(t *testing.T) {
	l := openTestLibrary(t)
	l.Add(testConcept("teddy"))
	l.Add(testConcept("gone"))
	l.Delete("gone")
	l.SaveImage(image.NewNRGBA(image.Rect(0, 0, 2, 2)), GenerationSettings{Prompt: "a teddy*"})
	before := snapshot(t, l.Dir)
	cases := badInputs(t)
	if len(cases) < 30 {
		t.Fatalf("only %d bad inputs", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.make(t, t.TempDir())
			run := c.run
			if run == nil {
				base := testBase
				if c.want == engine.ErrWrongBase {
					base = "base-other"
				}
				run = func(l *Library, p string) error {
					_, err := l.Import(p, ImportOptions{BaseID: base, TextWidth: testWidth})
					return err
				}
			}
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				err = run(l, path)
			}()
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !errors.Is(err, c.want) {
				t.Errorf("want %v, got %v", c.want, err)
			}
			if strings.Contains(msg, "\n") || len(msg) > 400 || len(msg) < 10 {
				t.Errorf("not a clear one-line message: %q", msg)
			}
			if c.run == nil || c.want == ErrNotAnImage || c.want == ErrImageTooLarge {
				if !strings.Contains(msg, filepath.Base(path)) {
					t.Errorf("the message does not name the file %s: %q", filepath.Base(path), msg)
				}
			}
			t.Log(msg)
			if got := snapshot(t, l.Dir); got != before {
				t.Fatalf("the library changed:\n%s\n---\n%s", before, got)
			}
		})
	}
}
