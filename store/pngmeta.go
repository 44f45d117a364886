package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// MetaPrefix starts the keyword of every tEXt chunk Concept Studio writes.
const MetaPrefix = "conceptstudio:"

// ErrNotPNG marks data that is not a PNG file.
var ErrNotPNG = errors.New("not a PNG file")

var pngSig = []byte("\x89PNG\r\n\x1a\n")

// EncodePNG writes img as a PNG with one tEXt chunk per metadata entry
// (keyword "conceptstudio:KEY"; an iTXt chunk when the value has characters
// beyond Latin-1, so nothing is lost), in sorted key order, before the image
// data, so the file is the same for the same image and metadata.
func EncodePNG(w io.Writer, img image.Image, meta map[string]string) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	data := buf.Bytes()
	// The first chunk after the signature is IHDR (8+13+4 bytes).
	const ihdrEnd = 8 + 8 + 13 + 4
	if len(data) < ihdrEnd {
		return errors.New("png: encoder output too short")
	}
	bw := bufio.NewWriter(w)
	bw.Write(data[:ihdrEnd])
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kw := MetaPrefix + k
		if len(kw) > 79 || strings.ContainsRune(kw, 0) || strings.ContainsRune(meta[k], 0) {
			return fmt.Errorf("png metadata key %q or its value cannot be stored", k)
		}
		if v := meta[k]; isLatin1(v) {
			writeChunk(bw, "tEXt", append(append([]byte(kw), 0), []byte(latin1(v))...))
		} else {
			// iTXt: keyword, NUL, compression flag and method (0 0: none),
			// empty language tag and translated keyword (each NUL-ended),
			// then the UTF-8 text.
			body := append([]byte(kw), 0, 0, 0, 0, 0)
			writeChunk(bw, "iTXt", append(body, strings.ToValidUTF8(v, "\uFFFD")...))
		}
	}
	bw.Write(data[ihdrEnd:])
	return bw.Flush()
}

func writeChunk(w io.Writer, typ string, body []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(body)))
	copy(hdr[4:], typ)
	w.Write(hdr[:])
	w.Write(body)
	c := crc32.NewIEEE()
	c.Write(hdr[4:])
	c.Write(body)
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], c.Sum32())
	w.Write(crc[:])
}

// isLatin1 reports whether s is valid UTF-8 of characters up to U+00FF,
// which a tEXt chunk can hold.
func isLatin1(s string) bool {
	for _, r := range s {
		if r > 0xff || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// latin1 keeps tEXt's Latin-1 promise: characters outside it become '?'.
func latin1(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		b.WriteByte(byte(r))
	}
	return b.String()
}

// ReadPNGMeta returns the Concept Studio metadata of a PNG file (keys
// without the prefix). It reads chunk headers only up to the image data,
// checks lengths against what is left and each chunk's CRC, and never
// decodes pixels.
func ReadPNGMeta(data []byte) (map[string]string, error) {
	if !bytes.HasPrefix(data, pngSig) {
		return nil, ErrNotPNG
	}
	meta := map[string]string{}
	p := len(pngSig)
	for p+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if n < 0 || n > len(data)-p-12 {
			return nil, fmt.Errorf("%w: chunk %q claims %d bytes past the end", ErrNotPNG, typ, n)
		}
		body := data[p+8 : p+8+n]
		if crc32.ChecksumIEEE(data[p+4:p+8+n]) != binary.BigEndian.Uint32(data[p+8+n:]) {
			return nil, fmt.Errorf("%w: chunk %q has a bad checksum", ErrNotPNG, typ)
		}
		switch typ {
		case "tEXt":
			if k, v, ok := bytes.Cut(body, []byte{0}); ok && strings.HasPrefix(string(k), MetaPrefix) {
				runes := make([]rune, len(v))
				for i, c := range v {
					runes[i] = rune(c)
				}
				meta[strings.TrimPrefix(string(k), MetaPrefix)] = string(runes)
			}
		case "iTXt":
			k, rest, ok := bytes.Cut(body, []byte{0})
			if !ok || !strings.HasPrefix(string(k), MetaPrefix) || len(rest) < 2 || rest[0] != 0 {
				break // not ours, or compressed (never written by EncodePNG)
			}
			rest = rest[2:]
			if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok { // language tag
				break
			}
			if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok { // translated keyword
				break
			}
			meta[strings.TrimPrefix(string(k), MetaPrefix)] = strings.ToValidUTF8(string(rest), "\uFFFD")
		case "IDAT", "IEND":
			return meta, nil
		}
		p += 12 + n
	}
	return nil, fmt.Errorf("%w: truncated", ErrNotPNG)
}
