package safetensors

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// F32Tensor returns an F32 tensor holding a copy of shape and data.
// Encode reports an error if len(data) does not match the shape.
func F32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// F16Tensor returns an F16 tensor holding shape and data converted to
// float16 with Float32ToFloat16 (round to nearest even; out-of-range values
// become ±Inf). Encode reports an error if len(data) does not match the
// shape.
func F16Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToFloat16(v))
	}
	return Tensor{Name: name, DType: F16, Shape: slices.Clone(shape), Data: b}
}

// EncodeBytes returns f serialized as a safetensors file; see Encode.
func EncodeBytes(f *File) ([]byte, error) {
	header, layout, err := buildHeader(f)
	if err != nil {
		return nil, err
	}
	size := 8 + len(header)
	for _, t := range layout {
		size += len(t.Data)
	}
	var buf bytes.Buffer
	buf.Grow(size)
	if err := write(&buf, header, layout); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode writes f to w as a safetensors file. It validates the tensors first
// (known dtype, non-empty unique valid-UTF-8 names other than
// "__metadata__", non-negative shapes, len(Data) == product(Shape)*size) and
// writes nothing if they are invalid.
//
// The output is deterministic and does not depend on the order of
// f.Tensors or on map iteration: header keys are "__metadata__" (only if
// there is metadata, with keys sorted) and then the tensors sorted by name,
// each as {"dtype","shape","data_offsets"}; the header is padded with spaces
// to a multiple of 8 bytes. Tensor data is laid out by decreasing element
// size, then by name, so that every tensor is aligned to its element size.
func Encode(w io.Writer, f *File) error {
	header, layout, err := buildHeader(f)
	if err != nil {
		return err
	}
	return write(w, header, layout)
}

func write(w io.Writer, header []byte, layout []*Tensor) error {
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, t := range layout {
		if len(t.Data) == 0 {
			continue
		}
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// buildHeader validates f and returns the padded JSON header and the tensors
// in data-section order.
func buildHeader(f *File) ([]byte, []*Tensor, error) {
	if f == nil {
		return nil, nil, newErr(ErrInvalidInput, "nil File")
	}
	byName := make([]*Tensor, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Name == "" {
			return nil, nil, newErr(ErrInvalidInput, "tensor %d has an empty name", i)
		}
		if t.Name == metadataKey {
			return nil, nil, newErr(ErrInvalidInput, "tensor name %q is reserved", metadataKey)
		}
		if !utf8.ValidString(t.Name) {
			return nil, nil, newErr(ErrInvalidInput, "tensor name %s is not valid UTF-8", quote(t.Name))
		}
		if err := t.check(); err != nil {
			return nil, nil, err
		}
		byName[i] = t
	}
	slices.SortFunc(byName, func(a, b *Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(byName); i++ {
		if byName[i].Name == byName[i-1].Name {
			return nil, nil, newErr(ErrInvalidInput, "duplicate tensor name %s", quote(byName[i].Name))
		}
	}
	keys := make([]string, 0, len(f.Metadata))
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, newErr(ErrInvalidInput, "metadata entry %s is not valid UTF-8", quote(k))
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)

	// Data layout: larger elements first (alignment), then by name.
	layout := slices.Clone(byName)
	slices.SortStableFunc(layout, func(a, b *Tensor) int { return b.DType.Size() - a.DType.Size() })
	offsets := make(map[*Tensor][2]int, len(layout))
	pos := 0
	for _, t := range layout {
		offsets[t] = [2]int{pos, pos + len(t.Data)}
		pos += len(t.Data)
	}

	h := []byte{'{'}
	if len(keys) > 0 {
		h = appendString(h, metadataKey)
		h = append(h, ":{"...)
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendString(h, k)
			h = append(h, ':')
			h = appendString(h, f.Metadata[k])
		}
		h = append(h, '}')
	}
	for i, t := range byName {
		if i > 0 || len(keys) > 0 {
			h = append(h, ',')
		}
		h = appendString(h, t.Name)
		h = append(h, `:{"dtype":`...)
		h = appendString(h, string(t.DType))
		h = append(h, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		off := offsets[t]
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, int64(off[0]), 10)
		h = append(h, ',')
		h = strconv.AppendInt(h, int64(off[1]), 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	return h, layout, nil
}

// appendString appends s (valid UTF-8) as a JSON string, escaping like
// serde_json: quote, backslash and control characters only.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
