package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"conceptstudio/engine"
	"conceptstudio/engine/safetensors"
)

const testBase = "base-abc123"
const testWidth = 8

// testConcept is a small Perfusion concept with a thumbnail and scores.
func testConcept(name string) *engine.Concept {
	emb := make([]float32, testWidth)
	for i := range emb {
		emb[i] = float32(i) / 10
	}
	return &engine.Concept{
		Name: name, Class: "teddy bear", Method: engine.Perfusion, BaseID: testBase,
		Settings:  engine.ConceptSettings{Beta: 0.7, Tau: 0.15, Steps: 100},
		Scores:    map[string]float64{"identity": 0.8},
		Created:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Thumbnail: []byte("\x89PNG thumbnail"),
		Tensors: map[string]engine.Tensor{
			"emb":                        {Shape: []int{1, testWidth}, Data: emb},
			"o_v/unet.down1.attn0.attn2": {Shape: []int{3}, Data: []float32{1, -2, 3}},
		},
	}
}

// tiConcept is a textual inversion concept.
func tiConcept(name string) *engine.Concept {
	c := testConcept(name)
	c.Method = engine.TI
	c.Tensors = map[string]engine.Tensor{"emb": c.Tensors["emb"]}
	return c
}

// loraConcept is a LoRA concept of rank 2 on two projections of one layer
// (in 3, out 4 for q; in 3, out 3 for out).
func loraConcept(name string) *engine.Concept {
	c := testConcept(name)
	c.Method = engine.LoRA
	c.Settings = engine.ConceptSettings{Rank: 2, Alpha: 1}
	seq := func(n int, off float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i) + off
		}
		return v
	}
	c.Tensors = map[string]engine.Tensor{
		"emb":                                  c.Tensors["emb"],
		"lora/unet.down1.attn0.attn2.q.down":   {Shape: []int{3, 2}, Data: seq(6, 0)},
		"lora/unet.down1.attn0.attn2.q.up":     {Shape: []int{2, 4}, Data: seq(8, 100)},
		"lora/unet.down1.attn0.attn2.out.down": {Shape: []int{3, 2}, Data: seq(6, 200)},
		"lora/unet.down1.attn0.attn2.out.up":   {Shape: []int{2, 3}, Data: seq(6, 300)},
	}
	return c
}

func encodeConcept(t testing.TB, c *engine.Concept) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawSafetensors builds a safetensors file from a literal header and data
// section, so that tests can make files the writer would refuse to make.
func rawSafetensors(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// f32bytes is little-endian float32 data.
func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// embeddingFile is a safetensors file holding one tensor (a TI embedding).
func embeddingFile(t testing.TB, name string, n, d int, dtype safetensors.DType) []byte {
	t.Helper()
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(i%d) + float32(i/d)*10
	}
	tt := safetensors.F32Tensor(name, []int{n, d}, v)
	if dtype == safetensors.F16 {
		tt = safetensors.F16Tensor(name, []int{n, d}, v)
	}
	b, err := safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{tt}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// openTestLibrary opens a library in a new temporary folder.
func openTestLibrary(t testing.TB) *Library {
	t.Helper()
	l, err := OpenLibrary(filepath.Join(t.TempDir(), "lib"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// snapshot describes a folder tree: every path with its type, size and
// SHA-256, sorted, so that two snapshots are equal iff nothing changed.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			lines = append(lines, rel+"/")
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%s %d %x", rel, len(b), sha256.Sum256(b)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(body)))
	b.WriteString(typ)
	b.Write(body)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), body...)))
	return b.Bytes()
}

// pngHeaderOnly is a PNG whose IHDR claims w×h (8-bit RGBA) with an empty
// IDAT: a decompression bomb's header without the bomb.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	b := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	b = append(b, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(b, pngChunk("IEND", nil)...)
}

// bitWriter writes bits, least significant first (WebP lossless order).
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.nacc = 0, 0
	}
	return w.buf
}

// webpLossless is a uniform w×h image of colour c as a lossless WebP: no
// transforms, no colour cache, five one-symbol prefix codes (so every
// pixel takes zero bits).
func webpLossless(w, h int, r, g, b, a uint8) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint64(w-1), 14)
	bw.write(uint64(h-1), 14)
	bw.write(1, 1) // alpha used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{g, r, b, a} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint64(sym), 8)
	}
	bw.write(1, 1) // distance code: simple, one 1-bit symbol 0
	bw.write(0, 1)
	bw.write(0, 1)
	bw.write(0, 1)
	data := bw.bytes()
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(data)))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(bw.buf)))
	out.Write(data)
	return out.Bytes()
}

// jpegFlat writes a JPEG of uniform colour with the given component values
// (1: gray, 3: YCbCr, 4: Adobe CMYK as stored, i.e. inverted), with DC-only
// blocks: baseline (SOF0) or progressive (SOF2, one DC scan). The standard
// library cannot write progressive or CMYK JPEGs; this can, in 100 lines.
func jpegFlat(w, h int, comps []uint8, progressive bool) []byte {
	var out bytes.Buffer
	seg := func(marker byte, body []byte) {
		out.Write([]byte{0xff, marker})
		binary.Write(&out, binary.BigEndian, uint16(len(body)+2))
		out.Write(body)
	}
	out.Write([]byte{0xff, 0xd8})
	if len(comps) == 4 {
		seg(0xee, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}) // transform 0: CMYK
	}
	q := make([]byte, 65) // table 0, all ones
	for i := 1; i < 65; i++ {
		q[i] = 1
	}
	seg(0xdb, q)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps))}
	for i := range comps {
		sof = append(sof, byte(i+1), 0x11, 0)
	}
	if progressive {
		seg(0xc2, sof)
	} else {
		seg(0xc0, sof)
	}
	// DC table 0: categories 0-11, each a 4-bit code equal to the category.
	dht := []byte{0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for s := 0; s < 12; s++ {
		dht = append(dht, byte(s))
	}
	// AC table 0: only EOB, code "0".
	dht = append(dht, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00)
	seg(0xc4, dht)
	sos := []byte{byte(len(comps))}
	for i := range comps {
		sos = append(sos, byte(i+1), 0x00)
	}
	if progressive {
		sos = append(sos, 0, 0, 0) // DC first scan: Ss=0, Se=0, Ah=Al=0
	} else {
		sos = append(sos, 0, 63, 0)
	}
	seg(0xda, sos)
	// Entropy-coded data, MSB first with 0xFF stuffing.
	var acc uint32
	var nacc uint
	put := func(v uint32, n uint) {
		for i := int(n) - 1; i >= 0; i-- {
			acc = acc<<1 | (v>>uint(i))&1
			nacc++
			if nacc == 8 {
				out.WriteByte(byte(acc))
				if byte(acc) == 0xff {
					out.WriteByte(0)
				}
				acc, nacc = 0, 0
			}
		}
	}
	pred := make([]int, len(comps))
	mcus := ((w + 7) / 8) * ((h + 7) / 8)
	for m := 0; m < mcus; m++ {
		for c, v := range comps {
			dc := 8 * (int(v) - 128)
			diff := dc - pred[c]
			pred[c] = dc
			s, a := 0, diff
			if a < 0 {
				a = -a
			}
			for a > 0 {
				s++
				a >>= 1
			}
			put(uint32(s), 4)
			if s > 0 {
				bits := diff
				if diff < 0 {
					bits = diff + (1 << s) - 1
				}
				put(uint32(bits), uint(s))
			}
			if !progressive {
				put(0, 1) // EOB
			}
		}
	}
	for nacc != 0 {
		put(1, 1)
	}
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}

// withExifOrientation inserts an APP1 EXIF segment with the orientation
// tag right after a JPEG's SOI marker.
func withExifOrientation(jpg []byte, orientation uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8))
	binary.Write(&tiff, binary.BigEndian, uint16(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.BigEndian, uint32(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0))
	body := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(body)+2))
	out.Write(body)
	out.Write(jpg[2:])
	return out.Bytes()
}
