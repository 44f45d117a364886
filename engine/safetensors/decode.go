package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxHeaderSize is the header length cap used when
// ReadOptions.MaxHeaderSize is zero. Real headers are far smaller (a few
// hundred KiB for the largest models).
const DefaultMaxHeaderSize = 16 << 20

// maxSkipDepth bounds the nesting of values that are skipped (unknown fields
// in a tensor entry). Nothing in a valid header is nested deeper than 3.
const maxSkipDepth = 64

// metadataKey is the reserved header key holding free-form metadata.
const metadataKey = "__metadata__"

// ReadOptions configures Decode and ReadFile. The zero value is ready to use.
type ReadOptions struct {
	// MaxHeaderSize caps the JSON header length in bytes; a larger claimed
	// length fails with ErrHeaderTooLarge before anything is allocated.
	// Zero or negative means DefaultMaxHeaderSize.
	MaxHeaderSize int64
	// RejectNonFinite makes decoding fail with ErrNonFinite when a
	// floating-point tensor (F64, F32, F16, BF16, F8_E5M2, F8_E4M3) holds a
	// NaN or an infinity. The error names the tensor and the element.
	RejectNonFinite bool
}

func (o ReadOptions) maxHeader() uint64 {
	if o.MaxHeaderSize <= 0 {
		return DefaultMaxHeaderSize
	}
	return uint64(o.MaxHeaderSize)
}

// checkHeaderLength validates the 8-byte prefix n against the cap and the
// total file size.
func (o ReadOptions) checkHeaderLength(n uint64, fileSize int64) error {
	if max := o.maxHeader(); n > max {
		return newErr(ErrHeaderTooLarge, "header length %d exceeds the limit of %d bytes", n, max)
	}
	if avail := uint64(fileSize - 8); n > avail {
		return corruptf("header length %d runs past the end of the file (%d bytes after the length prefix)", n, avail)
	}
	return nil
}

// ReadFile reads and decodes the safetensors file at path. The header length
// is checked against opt and the file size before the file is read, so a
// bogus length fails without allocating. Tensor data is a view into one
// buffer holding the whole file.
func ReadFile(path string, opt ReadOptions) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s is not a regular file", path)
	}
	if size < 8 {
		return nil, fmt.Errorf("%s: %w", path, corruptf("file is %d bytes, too short for the 8-byte header length", size))
	}
	var prefix [8]byte
	if _, err := io.ReadFull(fh, prefix[:]); err != nil {
		return nil, fmt.Errorf("safetensors: reading %s: %w", path, err)
	}
	if err := opt.checkHeaderLength(binary.LittleEndian.Uint64(prefix[:]), size); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if uint64(size) > uint64(math.MaxInt) {
		return nil, fmt.Errorf("safetensors: %s: file of %d bytes is too large for this platform", path, size)
	}
	buf := make([]byte, size)
	copy(buf, prefix[:])
	if _, err := io.ReadFull(fh, buf[8:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("safetensors: reading %s: file shrank while reading: %w", path, err)
		}
		return nil, fmt.Errorf("safetensors: reading %s: %w", path, err)
	}
	f, err := Decode(buf, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Metadata reads only the header's metadata of a safetensors file held in
// b (or its beginning): what a model file says of itself, without decoding
// its tensors.
func Metadata(b []byte, opt ReadOptions) (map[string]string, error) {
	if len(b) < 8 {
		return nil, corruptf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > opt.maxHeader() || n > uint64(len(b)-8) {
		return nil, corruptf("header length %d does not fit", n)
	}
	meta, _, err := parseHeader(b[8 : 8+n])
	return meta, err
}

// ReadMetadata is Metadata of the file at path, reading its header only.
func ReadMetadata(path string, opt ReadOptions) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var prefix [8]byte
	if _, err := io.ReadFull(fh, prefix[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, corruptf("too short for the 8-byte header length"))
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > opt.maxHeader() {
		return nil, fmt.Errorf("%s: %w", path, corruptf("header length %d is too large", n))
	}
	buf := make([]byte, 8+n)
	copy(buf, prefix[:])
	if _, err := io.ReadFull(fh, buf[8:]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, corruptf("the header is cut short"))
	}
	return Metadata(buf, opt)
}

// Decode parses a complete safetensors file held in b. The returned tensors
// are sorted by name and their Data slices alias b (no copy is made; each is
// capped so appending to it cannot overwrite its neighbours).
func Decode(b []byte, opt ReadOptions) (*File, error) {
	if len(b) < 8 {
		return nil, corruptf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if err := opt.checkHeaderLength(n, int64(len(b))); err != nil {
		return nil, err
	}
	header := b[8 : 8+n]
	data := b[8+n:]

	meta, entries, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(entries, len(data)); err != nil {
		return nil, err
	}

	f := &File{Metadata: meta, Tensors: make([]Tensor, len(entries))}
	for i, e := range entries {
		f.Tensors[i] = Tensor{
			Name:  e.name,
			DType: e.dtype,
			Shape: e.shape,
			Data:  data[e.begin:e.end:e.end],
		}
	}
	slices.SortFunc(f.Tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	if opt.RejectNonFinite {
		for _, t := range f.Tensors {
			if err := checkFinite(t); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// entry is one parsed tensor description from the header.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end uint64
}

// checkLayout validates each entry's offsets against its shape and the data
// section, and that the tensors cover the data section exactly.
func checkLayout(entries []entry, dataLen int) error {
	for _, e := range entries {
		nbytes, ok := byteSize(e.shape, e.dtype.Size())
		if !ok {
			return corruptf("tensor %s: shape %v of %s overflows", quote(e.name), e.shape, e.dtype)
		}
		if e.begin > e.end {
			return corruptf("tensor %s: data_offsets [%d %d] are reversed", quote(e.name), e.begin, e.end)
		}
		if e.end-e.begin != uint64(nbytes) {
			return corruptf("tensor %s: data_offsets [%d %d] do not match shape %v of %s (%d bytes)",
				quote(e.name), e.begin, e.end, e.shape, e.dtype, nbytes)
		}
		if e.end > uint64(dataLen) {
			return corruptf("tensor %s: data_offsets [%d %d] run past the end of the %d-byte data section",
				quote(e.name), e.begin, e.end, dataLen)
		}
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := entries[i], entries[j]
		if a.begin != b.begin {
			return cmpU64(a.begin, b.begin)
		}
		if a.end != b.end {
			return cmpU64(a.end, b.end)
		}
		return strings.Compare(a.name, b.name)
	})
	var pos uint64
	prev := -1
	for _, i := range order {
		e := entries[i]
		switch {
		case e.begin > pos && prev < 0:
			return corruptf("data section has a gap: bytes [0 %d) belong to no tensor (first tensor %s starts at %d)",
				e.begin, quote(e.name), e.begin)
		case e.begin > pos:
			return corruptf("data section has a gap: bytes [%d %d) between tensors %s and %s belong to no tensor",
				pos, e.begin, quote(entries[prev].name), quote(e.name))
		case e.begin < pos:
			return corruptf("tensors %s %v and %s %v overlap",
				quote(entries[prev].name), [2]uint64{entries[prev].begin, entries[prev].end},
				quote(e.name), [2]uint64{e.begin, e.end})
		}
		pos = e.end
		prev = i
	}
	if pos != uint64(dataLen) {
		return corruptf("data section is %d bytes but tensors cover only %d: %d trailing bytes",
			dataLen, pos, uint64(dataLen)-pos)
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseHeader parses the JSON header with a token stream, which lets it
// reject duplicate keys and bounds nesting without recursion.
func parseHeader(h []byte) (map[string]string, []entry, error) {
	if len(h) == 0 {
		return nil, nil, corruptf("header is empty")
	}
	if h[0] != '{' {
		return nil, nil, corruptf("header does not start with '{' (found %q)", h[0])
	}
	if !utf8.Valid(h) {
		return nil, nil, corruptf("header is not valid UTF-8")
	}
	p := &parser{dec: json.NewDecoder(bytes.NewReader(h))}
	p.dec.UseNumber()
	if err := p.expect(json.Delim('{'), "header"); err != nil {
		return nil, nil, err
	}
	var (
		meta    map[string]string
		entries []entry
		seen    = make(map[string]bool)
	)
	for {
		t, err := p.token()
		if err != nil {
			return nil, nil, err
		}
		if t == json.Delim('}') {
			break
		}
		key, ok := t.(string) // the decoder only yields strings in key position
		if !ok {
			return nil, nil, corruptf("header: expected a key, found %s", describe(t))
		}
		if seen[key] {
			return nil, nil, corruptf("header: duplicate key %s", quote(key))
		}
		seen[key] = true
		if key == metadataKey {
			if meta, err = p.metadata(); err != nil {
				return nil, nil, err
			}
			continue
		}
		if key == "" {
			return nil, nil, corruptf("header: empty tensor name")
		}
		e, err := p.entry(key)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	// Only whitespace (the reference writer pads with spaces) may follow.
	if t, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, corruptf("header: invalid JSON after the top-level object at byte %d: %v", p.dec.InputOffset(), err)
		}
		return nil, nil, corruptf("header: unexpected %s after the top-level object", describe(t))
	}
	return meta, entries, nil
}

type parser struct {
	dec *json.Decoder
}

func (p *parser) token() (json.Token, error) {
	t, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, corruptf("header: invalid JSON: unexpected end of header at byte %d", p.dec.InputOffset())
		}
		return nil, corruptf("header: invalid JSON near byte %d: %v", p.dec.InputOffset(), err)
	}
	return t, nil
}

func (p *parser) expect(d json.Delim, what string) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if t != d {
		return corruptf("%s: expected '%c', found %s", what, rune(d), describe(t))
	}
	return nil
}

// metadata parses the "__metadata__" value: an object of string → string
// (null is accepted as "no metadata").
func (p *parser) metadata() (map[string]string, error) {
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nil
	}
	if t != json.Delim('{') {
		return nil, corruptf("%s: expected an object, found %s", metadataKey, describe(t))
	}
	meta := make(map[string]string)
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		if t == json.Delim('}') {
			return meta, nil
		}
		key, ok := t.(string)
		if !ok {
			return nil, corruptf("%s: expected a key, found %s", metadataKey, describe(t))
		}
		if _, dup := meta[key]; dup {
			return nil, corruptf("%s: duplicate key %s", metadataKey, quote(key))
		}
		v, err := p.token()
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			return nil, corruptf("%s: value of %s is %s, not a string", metadataKey, quote(key), describe(v))
		}
		meta[key] = s
	}
}

// entry parses one tensor description object.
func (p *parser) entry(name string) (entry, error) {
	e := entry{name: name}
	what := "tensor " + quote(name)
	if err := p.expect(json.Delim('{'), what); err != nil {
		return e, err
	}
	var haveDType, haveShape, haveOffsets bool
	for {
		t, err := p.token()
		if err != nil {
			return e, err
		}
		if t == json.Delim('}') {
			break
		}
		key, ok := t.(string)
		if !ok {
			return e, corruptf("%s: expected a key, found %s", what, describe(t))
		}
		switch key {
		case "dtype":
			if haveDType {
				return e, corruptf("%s: duplicate key \"dtype\"", what)
			}
			haveDType = true
			t, err := p.token()
			if err != nil {
				return e, err
			}
			s, ok := t.(string)
			if !ok {
				return e, corruptf("%s: dtype is %s, not a string", what, describe(t))
			}
			e.dtype = DType(s)
			if e.dtype.Size() == 0 {
				return e, newErr(ErrUnsupportedDType, "%s: unknown dtype %s", what, quote(s))
			}
		case "shape":
			if haveShape {
				return e, corruptf("%s: duplicate key \"shape\"", what)
			}
			haveShape = true
			if e.shape, err = p.shape(what); err != nil {
				return e, err
			}
		case "data_offsets":
			if haveOffsets {
				return e, corruptf("%s: duplicate key \"data_offsets\"", what)
			}
			haveOffsets = true
			if e.begin, e.end, err = p.offsets(what); err != nil {
				return e, err
			}
		default:
			// Unknown fields are ignored, as by the reference implementation.
			if err := p.skip(what + ": field " + quote(key)); err != nil {
				return e, err
			}
		}
	}
	switch {
	case !haveDType:
		return e, corruptf("%s: missing \"dtype\"", what)
	case !haveShape:
		return e, corruptf("%s: missing \"shape\"", what)
	case !haveOffsets:
		return e, corruptf("%s: missing \"data_offsets\"", what)
	}
	return e, nil
}

func (p *parser) shape(what string) ([]int, error) {
	if err := p.expect(json.Delim('['), what+": shape"); err != nil {
		return nil, err
	}
	shape := []int{}
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		if t == json.Delim(']') {
			return shape, nil
		}
		num, ok := t.(json.Number)
		if !ok {
			return nil, corruptf("%s: shape element is %s, not an integer", what, describe(t))
		}
		d, err := strconv.ParseInt(string(num), 10, 0)
		if err != nil {
			if strings.HasPrefix(string(num), "-") {
				return nil, corruptf("%s: negative shape dimension %s", what, num)
			}
			return nil, corruptf("%s: shape dimension %s is not a non-negative integer", what, num)
		}
		if d < 0 {
			return nil, corruptf("%s: negative shape dimension %d", what, d)
		}
		shape = append(shape, int(d))
	}
}

func (p *parser) offsets(what string) (begin, end uint64, err error) {
	if err := p.expect(json.Delim('['), what+": data_offsets"); err != nil {
		return 0, 0, err
	}
	var vals []uint64
	for {
		t, err := p.token()
		if err != nil {
			return 0, 0, err
		}
		if t == json.Delim(']') {
			break
		}
		num, ok := t.(json.Number)
		if !ok {
			return 0, 0, corruptf("%s: data_offsets element is %s, not an integer", what, describe(t))
		}
		v, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return 0, 0, corruptf("%s: data_offsets element %s is not a non-negative integer", what, num)
		}
		if len(vals) == 2 {
			return 0, 0, corruptf("%s: data_offsets has more than 2 elements", what)
		}
		vals = append(vals, v)
	}
	if len(vals) != 2 {
		return 0, 0, corruptf("%s: data_offsets has %d elements, want 2", what, len(vals))
	}
	return vals[0], vals[1], nil
}

// skip consumes one JSON value iteratively, refusing deep nesting.
func (p *parser) skip(what string) error {
	depth := 0
	for {
		t, err := p.token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
			if depth > maxSkipDepth {
				return corruptf("%s: nested more than %d levels deep", what, maxSkipDepth)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// describe names a JSON token for an error message.
func describe(t json.Token) string {
	switch v := t.(type) {
	case nil:
		return "null"
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("'%c'", rune(v))
	case string:
		return "the string " + quote(v)
	case json.Number:
		return "the number " + quote(string(v))
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	}
	return fmt.Sprintf("%v", t)
}

// checkFinite reports the first NaN or infinity in a floating-point tensor.
func checkFinite(t Tensor) error {
	b := t.Data
	bad := -1
	var val float64
	switch t.DType {
	case F64:
		for i := 0; i+8 <= len(b); i += 8 {
			if v := le64(b[i:]); v&0x7ff0000000000000 == 0x7ff0000000000000 {
				bad, val = i/8, math.Float64frombits(v)
				break
			}
		}
	case F32:
		for i := 0; i+4 <= len(b); i += 4 {
			if v := le32(b[i:]); v&0x7f800000 == 0x7f800000 {
				bad, val = i/4, float64(math.Float32frombits(v))
				break
			}
		}
	case F16:
		for i := 0; i+2 <= len(b); i += 2 {
			if v := le16(b[i:]); v&0x7c00 == 0x7c00 {
				bad, val = i/2, float64(Float16ToFloat32(v))
				break
			}
		}
	case BF16:
		for i := 0; i+2 <= len(b); i += 2 {
			if v := le16(b[i:]); v&0x7f80 == 0x7f80 {
				bad, val = i/2, float64(BFloat16ToFloat32(v))
				break
			}
		}
	case F8E5M2: // exponent all ones: Inf or NaN
		for i, v := range b {
			if v&0x7c == 0x7c {
				bad, val = i, math.Inf(1)
				if v&0x03 != 0 {
					val = math.NaN()
				} else if v&0x80 != 0 {
					val = math.Inf(-1)
				}
				break
			}
		}
	case F8E4M3: // no infinities; S.1111.111 is NaN
		for i, v := range b {
			if v&0x7f == 0x7f {
				bad, val = i, math.NaN()
				break
			}
		}
	}
	if bad < 0 {
		return nil
	}
	return newErr(ErrNonFinite, "tensor %s: element %d is %v", quote(t.Name), bad, val)
}
