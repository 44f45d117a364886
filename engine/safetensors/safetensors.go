// Package safetensors reads and writes the safetensors tensor file format
// (https://github.com/huggingface/safetensors) using only the standard
// library.
//
// A safetensors file is laid out as:
//
//	8 bytes   N, the header length, little-endian uint64
//	N bytes   JSON header (UTF-8), an object mapping tensor names to
//	          {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//	          plus an optional "__metadata__" object of string → string
//	rest      data section; offsets are relative to its first byte
//
// Files are treated as untrusted input. [Decode] and [ReadFile] cap the
// header size, parse the JSON header as a token stream (rejecting duplicate
// keys and pathological nesting without recursion), and check every entry:
// known dtype, non-negative shape without overflow, offsets consistent with
// the shape, and tensors that tile the data section exactly, with no gaps,
// overlaps or trailing bytes. Every structural problem is reported as an
// error that matches [ErrCorrupt] with [errors.Is] and says precisely what is
// wrong; the other sentinels are [ErrHeaderTooLarge], [ErrNonFinite] (see
// ReadOptions.RejectNonFinite), [ErrUnsupportedDType] and, for inconsistent
// in-memory tensors given to the writer, [ErrInvalidInput].
//
// Tensor data is kept as raw little-endian bytes; [Tensor.Float32] converts
// F32, F16, BF16 and F64 tensors to []float32. The writer ([Encode],
// [EncodeBytes]) produces deterministic output: compact JSON with a fixed
// key order (metadata first, then tensors by name), the header padded with
// spaces to a multiple of 8 bytes so the data section is 8-byte aligned, and,
// as in the reference implementation, tensor data ordered by decreasing
// element size, then by name, so every tensor is aligned to its element size.
package safetensors

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them, so they
// can be tested with [errors.Is]; the error text describes the exact problem.
var (
	// ErrCorrupt reports a malformed file: bad header length, invalid or
	// unexpected JSON, inconsistent shapes or offsets, and so on.
	ErrCorrupt = errors.New("safetensors: corrupt file")
	// ErrHeaderTooLarge reports a header length above the configured cap
	// (ReadOptions.MaxHeaderSize, default DefaultMaxHeaderSize).
	ErrHeaderTooLarge = errors.New("safetensors: header too large")
	// ErrNonFinite reports a NaN or infinite value in a floating-point tensor
	// when ReadOptions.RejectNonFinite is set.
	ErrNonFinite = errors.New("safetensors: non-finite value")
	// ErrUnsupportedDType reports a dtype this package does not know, or a
	// conversion the dtype does not support (e.g. Float32 on an I64 tensor).
	ErrUnsupportedDType = errors.New("safetensors: unsupported dtype")
	// ErrInvalidInput reports an inconsistent in-memory File or Tensor given
	// to the writer or to Tensor methods: empty or duplicate names, data
	// length not matching the shape, invalid UTF-8 strings, and so on.
	ErrInvalidInput = errors.New("safetensors: invalid input")
)

// Error is the concrete type of errors produced by this package for
// malformed files and invalid input. Its message is "safetensors: " followed
// by a description; Unwrap returns the matching sentinel error.
type Error struct {
	Kind error  // one of the package's sentinel errors
	Msg  string // what exactly is wrong
}

func (e *Error) Error() string { return "safetensors: " + e.Msg }

// Unwrap returns the sentinel error (e.g. ErrCorrupt) this error belongs to.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func corruptf(format string, args ...any) error { return newErr(ErrCorrupt, format, args...) }

// DType is a tensor element type, spelled as in the safetensors header.
type DType string

// Element types of the safetensors format.
const (
	BOOL   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3"
	I16    DType = "I16"
	U16    DType = "U16"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I32    DType = "I32"
	U32    DType = "U32"
	F32    DType = "F32"
	F64    DType = "F64"
	I64    DType = "I64"
	U64    DType = "U64"
)

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E5M2, F8E4M3:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64:
		return 8
	}
	return 0
}

// Tensor is one named tensor. Data holds the elements in row-major order as
// raw little-endian bytes; its length must be product(Shape) * DType.Size().
// An empty Shape denotes a scalar (one element).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the number of elements implied by Shape, or an error
// if a dimension is negative or the product overflows int.
func (t Tensor) NumElements() (int, error) {
	n, ok := numElements(t.Shape)
	if !ok {
		return 0, newErr(ErrInvalidInput, "tensor %s: invalid shape %v", quote(t.Name), t.Shape)
	}
	return n, nil
}

// Float32 converts the tensor elements to float32. F32, F16, BF16 and F64
// (rounded to nearest) are supported; other dtypes give ErrUnsupportedDType.
// A Data length that does not match the shape gives ErrInvalidInput.
func (t Tensor) Float32() ([]float32, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	n := len(t.Data) / t.DType.Size()
	out := make([]float32, n)
	b := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = Float16ToFloat32(le16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BFloat16ToFloat32(le16(b[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le64(b[8*i:])))
		}
	default:
		return nil, newErr(ErrUnsupportedDType, "tensor %s: cannot convert %s to float32", quote(t.Name), t.DType)
	}
	return out, nil
}

// check verifies that the dtype is known and Data matches the shape.
func (t Tensor) check() error {
	size := t.DType.Size()
	if size == 0 {
		return newErr(ErrUnsupportedDType, "tensor %s: unknown dtype %s", quote(t.Name), quote(string(t.DType)))
	}
	nbytes, ok := byteSize(t.Shape, size)
	if !ok {
		return newErr(ErrInvalidInput, "tensor %s: invalid shape %v", quote(t.Name), t.Shape)
	}
	if nbytes != len(t.Data) {
		return newErr(ErrInvalidInput, "tensor %s: %d bytes of data do not match shape %v of %s (%d bytes)",
			quote(t.Name), len(t.Data), t.Shape, t.DType, nbytes)
	}
	return nil
}

// File is the content of a safetensors file.
type File struct {
	// Metadata is the optional free-form "__metadata__" map (may be nil).
	Metadata map[string]string
	// Tensors, sorted by name in files returned by Decode and ReadFile.
	Tensors []Tensor
}

// Get returns the tensor with the given name.
func (f *File) Get(name string) (Tensor, bool) {
	if f == nil {
		return Tensor{}, false
	}
	// Fast path for sorted tensors (as returned by Decode), then a linear
	// scan in case the caller built the File by hand in another order.
	if i, ok := slices.BinarySearchFunc(f.Tensors, name, func(t Tensor, n string) int {
		return strings.Compare(t.Name, n)
	}); ok {
		return f.Tensors[i], true
	}
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// numElements returns the product of shape, failing on a negative dimension
// or when any partial product overflows int (checked multiplication, as in
// the reference implementation; a later zero dimension does not rescue an
// overflow).
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// byteSize returns product(shape)*size, failing on negative dims or overflow.
func byteSize(shape []int, size int) (int, bool) {
	n, ok := numElements(shape)
	if !ok || size <= 0 || n > math.MaxInt/size {
		return 0, false
	}
	return n * size, true
}

// quote formats a possibly hostile string for an error message, truncating
// it so that a huge tensor name cannot produce a huge error.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
