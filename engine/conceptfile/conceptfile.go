// Package conceptfile is the concept file: a learned pseudo-word's
// tensors and settings, read and written as safetensors. It knows no
// network (no Gorgonia), so the library can list and check concept files
// without the engine; the methods that make concepts register their names
// here (engine's method registry).
package conceptfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// Concept-file errors, for errors.Is.
var (
	// ErrCorruptConcept marks a file that is not a readable concept file.
	ErrCorruptConcept = errors.New("not a valid concept file")
	// ErrWrongBase marks a concept trained on another base model.
	ErrWrongBase = errors.New("concept was made for another base model")
)

// Method names a personalization method.
type Method string

// The personalization methods.
const (
	Perfusion   Method = "perfusion"
	TI          Method = "ti"
	LoRA        Method = "lora"
	DreamBooth  Method = "dreambooth"
	maxConceptB        = 512 << 20 // a concept file larger than this is refused
)

// ConceptSettings are a concept's generation-time knobs and the training
// settings worth recording.
type ConceptSettings struct {
	Beta          float64 `json:"beta,omitempty"` // Perfusion gate
	Tau           float64 `json:"tau,omitempty"`  // Perfusion gate temperature
	GlobalLocking bool    `json:"global_locking,omitempty"`
	TrainedKeys   bool    `json:"trained_keys,omitempty"` // Perfusion ablation: o*_K trained, not locked
	Rank          int     `json:"rank,omitempty"`         // LoRA
	Alpha         float64 `json:"alpha,omitempty"`        // LoRA
	Multiplier    float64 `json:"multiplier,omitempty"`
	Steps         int     `json:"steps,omitempty"`
	TrainSeconds  float64 `json:"train_seconds,omitempty"`
	Images        int     `json:"images,omitempty"`
}

// Tensor is one named array of a concept.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Concept is a learned pseudo-word: what a concept file holds.
//
// Tensor names by method (layer paths are the base model's weight paths,
// e.g. "unet.down1.attn0.attn2"):
//
//	all methods   "emb"                         [1, TextDim] the pseudo-word's embedding row
//	perfusion     "i_star"                      [TextDim]    the concept token's encoding (EMA)
//	              "i_super"                     [TextDim]    the class word's encoding
//	              "o_v/LAYER"                   [C]          the value target per cross-attention
//	lora          "lora/LAYER.{q,k,v,out}.down" [in, r]
//	              "lora/LAYER.{q,k,v,out}.up"   [r, out]     (scale alpha/r, Settings.Alpha, Rank)
//	dreambooth    "delta/WEIGHT"                same shape as the base weight: trained − base
type Concept struct {
	Name      string // the pseudo-word without '*'
	Class     string // super-category words, e.g. "teddy bear"
	Method    Method
	BaseID    string
	Settings  ConceptSettings
	Scores    map[string]float64
	Created   time.Time
	Thumbnail []byte // PNG
	Tensors   map[string]Tensor
}

// conceptMeta is the JSON in the file's metadata.
type conceptMeta struct {
	Version  int                `json:"version"`
	Name     string             `json:"name"`
	Token    string             `json:"token"`
	Class    string             `json:"class"`
	Method   Method             `json:"method"`
	BaseID   string             `json:"base_model"`
	Settings ConceptSettings    `json:"settings"`
	Scores   map[string]float64 `json:"scores,omitempty"`
	Created  time.Time          `json:"created"`
}

const (
	conceptMetaKey = "conceptstudio.concept"
	thumbnailName  = "thumbnail.png"
)

// ValidName reports whether name can be a pseudo-word: lower-case letters
// and digits, starting with a letter, at most 32 characters.
func ValidName(name string) error {
	if name == "" || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("a concept name is 1 to 32 lower-case letters and digits, starting with a letter (not %q)", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("a concept name is 1 to 32 lower-case letters and digits, starting with a letter (not %q)", name)
		}
	}
	return nil
}

var (
	methodsMu sync.RWMutex
	methods   = map[Method]bool{}
)

// RegisterMethod makes m a method concept files may name (engine's
// registry calls it for every method it registers).
func RegisterMethod(m Method) {
	methodsMu.Lock()
	defer methodsMu.Unlock()
	methods[m] = true
}

// knownMethod reports whether m is a registered method.
func knownMethod(m Method) bool {
	methodsMu.RLock()
	defer methodsMu.RUnlock()
	return methods[m]
}

// Encode writes the concept as safetensors: its tensors (F32), the
// thumbnail as U8 bytes, and the metadata as JSON.
func (c *Concept) Encode(w io.Writer) error {
	if err := ValidName(c.Name); err != nil {
		return err
	}
	if !knownMethod(c.Method) {
		return fmt.Errorf("unknown method %q", c.Method)
	}
	meta, err := json.Marshal(conceptMeta{Version: 1, Name: c.Name, Token: c.Name + "*", Class: c.Class, Method: c.Method,
		BaseID: c.BaseID, Settings: c.Settings, Scores: c.Scores, Created: c.Created.UTC()})
	if err != nil {
		return err
	}
	f := &safetensors.File{Metadata: map[string]string{conceptMetaKey: string(meta)}}
	names := make([]string, 0, len(c.Tensors))
	for n := range c.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := c.Tensors[n]
		f.Tensors = append(f.Tensors, safetensors.F32Tensor(n, t.Shape, t.Data))
	}
	if len(c.Thumbnail) > 0 {
		f.Tensors = append(f.Tensors, safetensors.Tensor{Name: thumbnailName, DType: safetensors.U8, Shape: []int{len(c.Thumbnail)}, Data: c.Thumbnail})
	}
	return safetensors.Encode(w, f)
}

// DecodeConcept reads a concept file's bytes, refusing anything malformed
// (with ErrCorruptConcept): missing or bad metadata, an unknown method, an
// invalid name, non-finite weights, tensors other than float32.
func DecodeConcept(data []byte) (*Concept, error) {
	if len(data) > maxConceptB {
		return nil, fmt.Errorf("%w: %d bytes is too large for a concept", ErrCorruptConcept, len(data))
	}
	f, err := safetensors.Decode(data, safetensors.ReadOptions{RejectNonFinite: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptConcept, err)
	}
	raw, ok := f.Metadata[conceptMetaKey]
	if !ok {
		return nil, fmt.Errorf("%w: it has no Concept Studio metadata (is it a model or an embedding from another tool?)", ErrCorruptConcept)
	}
	var m conceptMeta
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: metadata: %w", ErrCorruptConcept, err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("%w: format version %d is not supported", ErrCorruptConcept, m.Version)
	}
	if err := ValidName(m.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptConcept, err)
	}
	if !knownMethod(m.Method) {
		return nil, fmt.Errorf("%w: unknown method %q", ErrCorruptConcept, m.Method)
	}
	for k, v := range m.Scores {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: score %q is not a number", ErrCorruptConcept, k)
		}
	}
	c := &Concept{Name: m.Name, Class: m.Class, Method: m.Method, BaseID: m.BaseID, Settings: m.Settings,
		Scores: m.Scores, Created: m.Created, Tensors: map[string]Tensor{}}
	for _, t := range f.Tensors {
		if t.Name == thumbnailName {
			if t.DType != safetensors.U8 {
				return nil, fmt.Errorf("%w: the thumbnail is %s, not bytes", ErrCorruptConcept, t.DType)
			}
			c.Thumbnail = append([]byte(nil), t.Data...)
			continue
		}
		if t.DType != safetensors.F32 {
			return nil, fmt.Errorf("%w: tensor %q is %s; concept weights are F32", ErrCorruptConcept, t.Name, t.DType)
		}
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptConcept, err)
		}
		c.Tensors[t.Name] = Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), v...)}
	}
	return c, nil
}

// ReadConceptFile reads and decodes a concept file.
func ReadConceptFile(path string) (*Concept, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxConceptB {
		return nil, fmt.Errorf("%s: %w: %d bytes is too large for a concept", path, ErrCorruptConcept, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := DecodeConcept(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteConceptFile writes a concept file atomically.
func WriteConceptFile(path string, c *Concept) error {
	return safefile.Write(path, c.Encode)
}

// Size is the concept's encoded size in bytes.
func (c *Concept) Size() int {
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		return 0
	}
	return buf.Len()
}
