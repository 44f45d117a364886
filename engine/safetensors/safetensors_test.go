package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// rawFile builds a file from a header string and data bytes, with the
// 8-byte little-endian length prefix written byte by byte.
func rawFile(header string, data []byte) []byte {
	n := uint64(len(header))
	b := []byte{
		byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24),
		byte(n >> 32), byte(n >> 40), byte(n >> 48), byte(n >> 56),
	}
	b = append(b, header...)
	return append(b, data...)
}

// withPrefix returns an 8-byte length prefix claiming n, followed by rest.
func withPrefix(n uint64, rest []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, n)
	return append(b, rest...)
}

// ent formats one header entry.
func ent(name, dtype, shape string, begin, end int64) string {
	return fmt.Sprintf(`%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, dtype, shape, begin, end)
}

// hdr joins entries into a header object.
func hdr(entries ...string) string { return "{" + strings.Join(entries, ",") + "}" }

// f32bytes encodes float32 values little-endian.
func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

// fixture is a tiny valid file built by hand from the spec.
func fixture() []byte {
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"c":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},` +
		`"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]}}`
	data := []byte{
		0x00, 0x00, 0x80, 0x3F, // a[0] = 1.0 (F32 0x3F800000)
		0x00, 0x00, 0x20, 0xC0, // a[1] = -2.5 (F32 0xC0200000)
		0x00, 0x38, // b[0] = 0.5 (F16 0x3800)
		0xFF, 0x7B, // b[1] = 65504 (F16 0x7BFF)
		0x49, 0x40, // c = 3.140625 (BF16 0x4049)
	}
	return rawFile(header, data)
}

func TestDecodeFixture(t *testing.T) {
	b := fixture()
	f, err := Decode(b, ReadOptions{RejectNonFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
		t.Errorf("metadata = %v", f.Metadata)
	}
	var names []string
	for _, tn := range f.Tensors {
		names = append(names, tn.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("tensor names = %v, want sorted [a b c]", names)
	}
	want := []struct {
		name  string
		dtype DType
		shape []int
		vals  []float32
	}{
		{"a", F32, []int{2}, []float32{1, -2.5}},
		{"b", F16, []int{1, 2}, []float32{0.5, 65504}},
		{"c", BF16, []int{}, []float32{3.140625}},
	}
	for _, w := range want {
		tn, ok := f.Get(w.name)
		if !ok {
			t.Fatalf("Get(%q) not found", w.name)
		}
		if tn.DType != w.dtype || !slices.Equal(tn.Shape, w.shape) {
			t.Errorf("%s: dtype %s shape %v, want %s %v", w.name, tn.DType, tn.Shape, w.dtype, w.shape)
		}
		vals, err := tn.Float32()
		if err != nil {
			t.Fatalf("%s: Float32: %v", w.name, err)
		}
		if !slices.Equal(vals, w.vals) {
			t.Errorf("%s: values %v, want %v", w.name, vals, w.vals)
		}
	}
	if _, ok := f.Get("missing"); ok {
		t.Error("Get(missing) found something")
	}
	// Data aliases the input but is capped: appending must not clobber "b".
	a, _ := f.Get("a")
	if &a.Data[0] != &b[len(b)-14] {
		t.Error("tensor data does not alias the input buffer")
	}
	_ = append(a.Data, 0xEE, 0xEE)
	if bb, _ := f.Get("b"); bb.Data[0] != 0x00 || bb.Data[1] != 0x38 {
		t.Error("appending to a tensor's Data overwrote its neighbour")
	}
}

func TestDecodeZeroSizedAndRawDTypes(t *testing.T) {
	i64 := binary.LittleEndian.AppendUint64(nil, uint64(math.MaxUint64-1))
	header := hdr(
		ent("empty1", "F32", "[0,3]", 0, 0),
		ent("empty2", "F16", "[0]", 0, 0),
		ent("i", "I64", "[1]", 0, 8),
		ent("u", "U8", "[3]", 8, 11),
		ent("x", "I8", "[1]", 11, 12), // unknown field below must be skipped
	)
	header = strings.Replace(header, `"dtype":"I8"`, `"extra":{"k":[1,[2,{"z":null}]]},"dtype":"I8"`, 1)
	f, err := Decode(rawFile(header, append(i64, 1, 2, 3, 0xFF)), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 5 {
		t.Fatalf("got %d tensors", len(f.Tensors))
	}
	e, _ := f.Get("empty1")
	if v, err := e.Float32(); err != nil || len(v) != 0 {
		t.Errorf("empty1.Float32() = %v, %v", v, err)
	}
	i, _ := f.Get("i")
	if !bytes.Equal(i.Data, i64) {
		t.Errorf("I64 data = %x", i.Data)
	}
	if _, err := i.Float32(); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("I64 Float32() error = %v, want ErrUnsupportedDType", err)
	}
	u, _ := f.Get("u")
	if !bytes.Equal(u.Data, []byte{1, 2, 3}) {
		t.Errorf("U8 data = %x", u.Data)
	}
}

type badCase struct {
	name string
	in   []byte
	opt  ReadOptions
	want error  // sentinel
	msg  string // substring of the error message
}

func badCases() []badCase {
	good := hdr(ent("w", "F32", "[2]", 0, 8))
	goodData := f32bytes(1, 2)
	valid := rawFile(good, goodData)
	two := func(e1, e2 string, data []byte) []byte { return rawFile(hdr(e1, e2), data) }
	return []badCase{
		{"empty file", nil, ReadOptions{}, ErrCorrupt, "too short"},
		{"truncated length prefix", []byte{1, 0, 0, 0, 0}, ReadOptions{}, ErrCorrupt, "too short"},
		{"truncated header", valid[:20], ReadOptions{}, ErrCorrupt, "past the end of the file"},
		{"truncated data", valid[:len(valid)-3], ReadOptions{}, ErrCorrupt, "run past the end"},
		{"header length past end", withPrefix(1000, []byte(good)), ReadOptions{}, ErrCorrupt, "past the end of the file"},
		{"header length huge", withPrefix(1<<62, []byte(good)), ReadOptions{MaxHeaderSize: math.MaxInt64}, ErrCorrupt, "past the end of the file"},
		{"100 MB header claim", withPrefix(100<<20, []byte(good)), ReadOptions{}, ErrHeaderTooLarge, "exceeds the limit"},
		{"max uint64 header claim", withPrefix(math.MaxUint64, []byte(good)), ReadOptions{}, ErrHeaderTooLarge, "exceeds the limit"},
		{"header over custom cap", valid, ReadOptions{MaxHeaderSize: 16}, ErrHeaderTooLarge, "limit of 16"},
		{"empty header", withPrefix(0, nil), ReadOptions{}, ErrCorrupt, "header is empty"},
		{"invalid JSON", rawFile(`{"w":{"dtype":"F32",}}`, nil), ReadOptions{}, ErrCorrupt, "invalid JSON"},
		{"unterminated JSON", rawFile(`{"w":{"dtype":"F32"`, nil), ReadOptions{}, ErrCorrupt, "invalid JSON"},
		{"header not an object", rawFile(`[1,2]`, nil), ReadOptions{}, ErrCorrupt, "does not start with '{'"},
		{"leading whitespace", rawFile(" "+good, goodData), ReadOptions{}, ErrCorrupt, "does not start with '{'"},
		{"garbage after header", rawFile(good+` {}`, goodData), ReadOptions{}, ErrCorrupt, "after the top-level object"},
		{"NUL padding", rawFile(good+"\x00\x00", goodData), ReadOptions{}, ErrCorrupt, "after the top-level object"},
		{"invalid UTF-8", rawFile("{\"w\xff\":{}}", nil), ReadOptions{}, ErrCorrupt, "UTF-8"},
		{"entry not an object", rawFile(`{"w":[1]}`, nil), ReadOptions{}, ErrCorrupt, "expected '{'"},
		{"unknown dtype", rawFile(hdr(ent("w", "F33", "[2]", 0, 8)), goodData), ReadOptions{}, ErrUnsupportedDType, `unknown dtype "F33"`},
		{"dtype not a string", rawFile(`{"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, goodData), ReadOptions{}, ErrCorrupt, "not a string"},
		{"missing shape", rawFile(`{"w":{"dtype":"F32","data_offsets":[0,8]}}`, goodData), ReadOptions{}, ErrCorrupt, `missing "shape"`},
		{"missing data_offsets", rawFile(`{"w":{"dtype":"F32","shape":[2]}}`, goodData), ReadOptions{}, ErrCorrupt, `missing "data_offsets"`},
		{"negative shape", rawFile(hdr(ent("w", "F32", "[-2]", 0, 8)), goodData), ReadOptions{}, ErrCorrupt, "negative shape dimension"},
		{"fractional shape", rawFile(hdr(ent("w", "F32", "[2.0]", 0, 8)), goodData), ReadOptions{}, ErrCorrupt, "not a non-negative integer"},
		{"shape not array", rawFile(hdr(ent("w", "F32", "2", 0, 8)), goodData), ReadOptions{}, ErrCorrupt, "expected '['"},
		{"shape overflow", rawFile(hdr(ent("w", "F32", "[4294967296,4294967296,0]", 0, 0)), nil), ReadOptions{}, ErrCorrupt, "overflows"},
		{"byte size overflow", rawFile(hdr(ent("w", "F32", "[4611686018427387904]", 0, 0)), nil), ReadOptions{}, ErrCorrupt, "overflows"},
		{"shape/size mismatch", rawFile(hdr(ent("w", "F32", "[2,2]", 0, 12)), f32bytes(1, 2, 3)), ReadOptions{}, ErrCorrupt,
			`safetensors: tensor "w": data_offsets [0 12] do not match shape [2 2] of F32 (16 bytes)`},
		{"reversed offsets", rawFile(hdr(ent("w", "F32", "[2]", 8, 0)), goodData), ReadOptions{}, ErrCorrupt, "reversed"},
		{"offsets past end", rawFile(hdr(ent("w", "F32", "[2]", 0, 8)), f32bytes(1)), ReadOptions{}, ErrCorrupt, "run past the end of the 4-byte data section"},
		{"offsets near 2^64", rawFile(`{"w":{"dtype":"U8","shape":[7],"data_offsets":[18446744073709551608,18446744073709551615]}}`, goodData), ReadOptions{}, ErrCorrupt, "run past the end"},
		{"offset above uint64", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551616,0]}}`, goodData), ReadOptions{}, ErrCorrupt, "not a non-negative integer"},
		{"three offsets", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, goodData), ReadOptions{}, ErrCorrupt, "more than 2 elements"},
		{"one offset", rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`, goodData), ReadOptions{}, ErrCorrupt, "has 1 elements"},
		{"overlapping offsets", two(ent("a", "F32", "[2]", 0, 8), ent("b", "F32", "[2]", 4, 12), f32bytes(1, 2, 3)), ReadOptions{}, ErrCorrupt, "overlap"},
		{"identical offsets", two(ent("a", "F32", "[2]", 0, 8), ent("b", "F32", "[2]", 0, 8), goodData), ReadOptions{}, ErrCorrupt, "overlap"},
		{"gap in data", two(ent("a", "F32", "[1]", 0, 4), ent("b", "F32", "[1]", 8, 12), f32bytes(1, 2, 3)), ReadOptions{}, ErrCorrupt, "gap"},
		{"gap at start", rawFile(hdr(ent("w", "F32", "[1]", 4, 8)), goodData), ReadOptions{}, ErrCorrupt, "gap"},
		{"trailing bytes", append(slices.Clone(valid), 0, 0, 0, 0), ReadOptions{}, ErrCorrupt, "4 trailing bytes"},
		{"empty name", rawFile(hdr(ent("", "F32", "[2]", 0, 8)), goodData), ReadOptions{}, ErrCorrupt, "empty tensor name"},
		{"metadata non-string", rawFile(`{"__metadata__":{"n":1},`+good[1:], goodData), ReadOptions{}, ErrCorrupt, `value of "n" is the number "1", not a string`},
		{"metadata not an object", rawFile(`{"__metadata__":"x",`+good[1:], goodData), ReadOptions{}, ErrCorrupt, "expected an object"},
		{"metadata nested value", rawFile(`{"__metadata__":{"n":`+nested("[", "]", 100000)+`},`+good[1:], goodData), ReadOptions{}, ErrCorrupt, "not a string"},
		{"duplicate tensor key", rawFile(hdr(ent("w", "F32", "[2]", 0, 8), ent("w", "F32", "[2]", 0, 8)), goodData), ReadOptions{}, ErrCorrupt, `duplicate key "w"`},
		{"duplicate key via escape", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0077":{}}`, f32bytes(1)), ReadOptions{}, ErrCorrupt, `duplicate key "w"`},
		{"duplicate metadata section", rawFile(`{"__metadata__":{},"__metadata__":{},`+good[1:], goodData), ReadOptions{}, ErrCorrupt, `duplicate key "__metadata__"`},
		{"duplicate metadata key", rawFile(`{"__metadata__":{"k":"a","k":"b"},`+good[1:], goodData), ReadOptions{}, ErrCorrupt, `duplicate key "k"`},
		{"duplicate field", rawFile(`{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, goodData), ReadOptions{}, ErrCorrupt, `duplicate key "dtype"`},
		{"deeply nested arrays", rawFile(nested("[", "]", 100000), nil), ReadOptions{}, ErrCorrupt, "does not start with '{'"},
		{"deeply nested objects", rawFile(strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000), nil), ReadOptions{}, ErrCorrupt, "nested more than"},
		{"deeply nested unknown field", rawFile(`{"w":{"x":`+nested("[", "]", 100000)+`,"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, goodData), ReadOptions{}, ErrCorrupt, "nested more than 64 levels"},
		{"NaN rejected", rawFile(good, f32bytes(1, float32(math.NaN()))), ReadOptions{RejectNonFinite: true}, ErrNonFinite, `tensor "w": element 1 is NaN`},
		{"F16 Inf rejected", rawFile(hdr(ent("h", "F16", "[2]", 0, 4)), []byte{0x00, 0x3C, 0x00, 0x7C}), ReadOptions{RejectNonFinite: true}, ErrNonFinite, `tensor "h": element 1 is +Inf`},
		{"BF16 -Inf rejected", rawFile(hdr(ent("g", "BF16", "[1]", 0, 2)), []byte{0x80, 0xFF}), ReadOptions{RejectNonFinite: true}, ErrNonFinite, `tensor "g": element 0 is -Inf`},
		{"F64 NaN rejected", rawFile(hdr(ent("d", "F64", "[1]", 0, 8)), binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN()))), ReadOptions{RejectNonFinite: true}, ErrNonFinite, `tensor "d": element 0 is NaN`},
	}
}

func checkBad(t *testing.T, c badCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", c.name)
	}
	if !errors.Is(err, c.want) {
		t.Fatalf("%s: error %q does not match %v", c.name, err, c.want)
	}
	if !strings.Contains(err.Error(), c.msg) {
		t.Fatalf("%s: error %q does not mention %q", c.name, err, c.msg)
	}
	if len(err.Error()) > 1000 {
		t.Fatalf("%s: error message is %d bytes long", c.name, len(err.Error()))
	}
}

func TestDecodeBadInput(t *testing.T) {
	cases := badCases()
	if len(cases) < 15 {
		t.Fatalf("only %d cases", len(cases))
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode(c.in, c.opt)
			if f != nil {
				t.Errorf("Decode returned a File along with error %v", err)
			}
			checkBad(t, c, err)

			path := filepath.Join(dir, fmt.Sprintf("case%d.safetensors", i))
			if err := os.WriteFile(path, c.in, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = ReadFile(path, c.opt)
			checkBad(t, c, err)
		})
	}
}

// The cases that only fail because of RejectNonFinite decode without it.
func TestNonFiniteAllowedByDefault(t *testing.T) {
	for _, c := range badCases() {
		if c.want != ErrNonFinite {
			continue
		}
		if _, err := Decode(c.in, ReadOptions{}); err != nil {
			t.Errorf("%s: Decode without RejectNonFinite: %v", c.name, err)
		}
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ok.safetensors")
	if err := os.WriteFile(path, fixture(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.Get("b")
	if v, _ := b.Float32(); !slices.Equal(v, []float32{0.5, 65504}) {
		t.Errorf("b = %v", v)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A huge header claim on a small file fails before anything big is allocated,
// even when the cap would allow it.
func TestReadFileHugeClaimFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "claim.safetensors")
	if err := os.WriteFile(path, withPrefix(100<<20, []byte(`{}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []ReadOptions{{}, {MaxHeaderSize: 1 << 40}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadFile(path, opt)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatal("no error")
		}
		if opt.MaxHeaderSize == 0 && !errors.Is(err, ErrHeaderTooLarge) {
			t.Errorf("default cap: %v, want ErrHeaderTooLarge", err)
		}
		if opt.MaxHeaderSize != 0 && !errors.Is(err, ErrCorrupt) {
			t.Errorf("large cap: %v, want ErrCorrupt", err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("ReadFile allocated %d bytes for a %d-byte file", d, 10)
		}
	}
}

func TestRoundTripF32BitExact(t *testing.T) {
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, -1.5, math.MaxFloat32, math.SmallestNonzeroFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7FC00001), math.Float32frombits(0xFF800123)}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 1000; i++ {
		vals = append(vals, math.Float32frombits(rng.Uint32()))
	}
	in := &File{
		Metadata: map[string]string{"k": "v"},
		Tensors:  []Tensor{F32Tensor("x", []int{len(vals)}, vals)},
	}
	b, err := EncodeBytes(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := out.Get("x")
	got, err := x.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(vals) {
		t.Fatalf("got %d values", len(got))
	}
	for i := range vals {
		if math.Float32bits(got[i]) != math.Float32bits(vals[i]) {
			t.Fatalf("value %d: %#08x, want %#08x", i, math.Float32bits(got[i]), math.Float32bits(vals[i]))
		}
	}
	if out.Metadata["k"] != "v" {
		t.Errorf("metadata = %v", out.Metadata)
	}
}

func TestRoundTripF16(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	vals := make([]float32, 4096)
	for i := range vals {
		vals[i] = float32((rng.Float64()*2 - 1) * math.Pow(10, float64(rng.Intn(9)-4)))
	}
	in := &File{Tensors: []Tensor{F16Tensor("h", []int{64, 64}, vals)}}
	b, err := EncodeBytes(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b, ReadOptions{RejectNonFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := out.Get("h")
	if h.DType != F16 || !slices.Equal(h.Shape, []int{64, 64}) || len(h.Data) != 2*len(vals) {
		t.Fatalf("tensor = %s %v %d bytes", h.DType, h.Shape, len(h.Data))
	}
	got, err := h.Float32()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		// Relative error at most 2^-11 for normals; absolute 2^-25 for subnormals.
		tol := math.Max(math.Abs(float64(v))*math.Ldexp(1, -11), math.Ldexp(1, -25))
		if d := math.Abs(float64(got[i]) - float64(v)); d > tol {
			t.Fatalf("value %d: got %g, want %g (error %g > %g)", i, got[i], v, d, tol)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	f := &File{
		Metadata: map[string]string{"z": "last", "a": "q\"\\\n\x01é"},
		Tensors: []Tensor{
			F16Tensor("half", []int{3}, []float32{1, 2, 3}),
			F32Tensor("full", []int{1, 1}, []float32{-1}),
		},
	}
	b, err := EncodeBytes(f)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := `{"__metadata__":{"a":"q\"\\\n\u0001é","z":"last"},` +
		`"full":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},` +
		`"half":{"dtype":"F16","shape":[3],"data_offsets":[4,10]}}`
	for len(wantHeader)%8 != 0 {
		wantHeader += " "
	}
	want := rawFile(wantHeader, append(f32bytes(-1), 0x00, 0x3C, 0x00, 0x40, 0x00, 0x42))
	if !bytes.Equal(b, want) {
		t.Fatalf("EncodeBytes =\n%q\nwant\n%q", b, want)
	}
	out, err := Decode(b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Metadata, f.Metadata) {
		t.Errorf("metadata = %q", out.Metadata)
	}
}

func TestEncodeDeterministicAndAligned(t *testing.T) {
	mk := func(order []int) *File {
		all := []Tensor{
			F16Tensor("a_half", []int{3}, []float32{1, 2, 3}),
			F32Tensor("b_full", []int{2}, []float32{4, 5}),
			{Name: "c_byte", DType: U8, Shape: []int{1}, Data: []byte{7}},
			{Name: "d_long", DType: I64, Shape: []int{1}, Data: make([]byte, 8)},
			F32Tensor("e_scalar", nil, []float32{6}),
		}
		f := &File{Metadata: map[string]string{}}
		for i := 0; i < 20; i++ {
			f.Metadata[fmt.Sprint("key", i)] = fmt.Sprint(i)
		}
		for _, i := range order {
			f.Tensors = append(f.Tensors, all[i])
		}
		return f
	}
	b1, err := EncodeBytes(mk([]int{0, 1, 2, 3, 4}))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := EncodeBytes(mk([]int{0, 1, 2, 3, 4}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, mk([]int{4, 2, 0, 3, 1})); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) || !bytes.Equal(b1, buf.Bytes()) {
		t.Fatal("encoding is not deterministic")
	}
	n := binary.LittleEndian.Uint64(b1)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if h := string(b1[8 : 8+n]); strings.TrimRight(h, " ") != strings.TrimSpace(h) || !strings.HasSuffix(strings.TrimRight(h, " "), "}") {
		t.Errorf("header is not padded with trailing spaces: %q", h)
	}
	// Data layout: decreasing element size, then name, so each is aligned.
	var parsed map[string]json.RawMessage
	if err := json.Unmarshal(b1[8:8+n], &parsed); err != nil {
		t.Fatal(err)
	}
	wantOffsets := map[string][2]int{
		"d_long": {0, 8}, "b_full": {8, 16}, "e_scalar": {16, 20}, "a_half": {20, 26}, "c_byte": {26, 27},
	}
	for name, want := range wantOffsets {
		var e struct {
			DataOffsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(parsed[name], &e); err != nil {
			t.Fatal(err)
		}
		if e.DataOffsets != want {
			t.Errorf("%s: data_offsets %v, want %v", name, e.DataOffsets, want)
		}
	}
	if _, err := Decode(b1, ReadOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	ok := F32Tensor("ok", []int{1}, []float32{1})
	cases := []struct {
		name string
		f    *File
		want error
	}{
		{"nil file", nil, ErrInvalidInput},
		{"duplicate names", &File{Tensors: []Tensor{ok, ok}}, ErrInvalidInput},
		{"empty name", &File{Tensors: []Tensor{F32Tensor("", []int{1}, []float32{1})}}, ErrInvalidInput},
		{"reserved name", &File{Tensors: []Tensor{F32Tensor("__metadata__", []int{1}, []float32{1})}}, ErrInvalidInput},
		{"invalid UTF-8 name", &File{Tensors: []Tensor{F32Tensor("a\xff", []int{1}, []float32{1})}}, ErrInvalidInput},
		{"invalid UTF-8 metadata", &File{Metadata: map[string]string{"k": "\xfe"}, Tensors: []Tensor{ok}}, ErrInvalidInput},
		{"shape too big", &File{Tensors: []Tensor{F32Tensor("x", []int{2, 2}, []float32{1, 2, 3})}}, ErrInvalidInput},
		{"shape too small", &File{Tensors: []Tensor{F16Tensor("x", []int{2}, []float32{1, 2, 3})}}, ErrInvalidInput},
		{"negative dim", &File{Tensors: []Tensor{F32Tensor("x", []int{-1, -1}, []float32{1})}}, ErrInvalidInput},
		{"overflowing shape", &File{Tensors: []Tensor{F32Tensor("x", []int{math.MaxInt, 2, 0}, nil)}}, ErrInvalidInput},
		{"unknown dtype", &File{Tensors: []Tensor{{Name: "x", DType: "Q4", Shape: []int{1}, Data: []byte{1}}}}, ErrUnsupportedDType},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Encode(&buf, c.f)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Encode error %v, want %v", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Encode wrote %d bytes before failing", c.name, buf.Len())
		}
		if _, err := EncodeBytes(c.f); !errors.Is(err, c.want) {
			t.Errorf("%s: EncodeBytes error %v, want %v", c.name, err, c.want)
		}
	}
}

func TestTensorFloat32Errors(t *testing.T) {
	bad := Tensor{Name: "x", DType: F32, Shape: []int{2}, Data: []byte{1, 2, 3}}
	if _, err := bad.Float32(); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("short data: %v", err)
	}
	if _, err := (Tensor{Name: "x", DType: "nope", Data: []byte{1}}).Float32(); !errors.Is(err, ErrUnsupportedDType) {
		t.Errorf("unknown dtype: %v", err)
	}
	f64 := Tensor{Name: "d", DType: F64, Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1))}
	if v, err := f64.Float32(); err != nil || v[0] != float32(0.1) {
		t.Errorf("F64 Float32() = %v, %v", v, err)
	}
}

func TestGetUnsorted(t *testing.T) {
	f := &File{Tensors: []Tensor{
		F32Tensor("z", nil, []float32{1}),
		F32Tensor("a", nil, []float32{2}),
		F32Tensor("m", nil, []float32{3}),
	}}
	for i, name := range []string{"z", "a", "m"} {
		tn, ok := f.Get(name)
		if !ok || tn.Name != name {
			t.Fatalf("Get(%q) = %v, %v", name, tn.Name, ok)
		}
		if v, _ := tn.Float32(); v[0] != float32(i+1) {
			t.Errorf("Get(%q) value %v", name, v)
		}
	}
	if _, ok := f.Get("b"); ok {
		t.Error("Get(b) found something")
	}
	var nilFile *File
	if _, ok := nilFile.Get("a"); ok {
		t.Error("nil File Get found something")
	}
}

// Long hostile names are truncated in error messages.
func TestErrorMessageTruncatesNames(t *testing.T) {
	name := strings.Repeat("é", 100000)
	_, err := Decode(rawFile(hdr(ent(name, "F32", "[2]", 0, 4)), f32bytes(1)), ReadOptions{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	if len(err.Error()) > 500 {
		t.Errorf("error message is %d bytes", len(err.Error()))
	}
	if !strings.Contains(err.Error(), `"ééé`) || strings.Contains(err.Error(), `\x`) {
		t.Errorf("error message %q", err)
	}
}
