package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"conceptstudio/engine/conceptfile"
	"conceptstudio/engine/region"
)

// GenerationSettings is everything needed to make an image again; it is
// stored in the exported PNG's text chunks (see Meta and ReadSettings).
type GenerationSettings struct {
	Prompt     string
	Seed       int64
	Index      int // which image of the batch made with Seed
	Steps      int
	Guidance   float64
	Layout     float64 // layout guidance (0: none, as in images from before it existed)
	Sampler    string
	Concepts   []ConceptUse    // the concepts of the prompt, with their gates
	Regions    []region.Region // boxes the prompt's things were steered into
	BaseID     string
	AppVersion string
}

// ConceptUse is one concept used in a generation: its name, the SHA-256 of
// its file (so the exact version can be found again) and its gate.
type ConceptUse struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256,omitempty"`
	// Gate is the concept's gate as the generation used it, its meaning
	// its method's (Perfusion's β, a LoRA's multiplier); 0: the method's
	// default. Images made before gates were generic stored a Perfusion
	// β under "beta", read here as the gate.
	Gate float64 `json:"gate,omitempty"`
	Tau  float64 `json:"tau,omitempty"` // Perfusion's gate temperature; 0: the default
}

// conceptUseJSON reads both the gate and the older "beta" key.
type conceptUseJSON struct {
	ConceptUse
	Beta float64 `json:"beta"`
}

// Metadata keys of GenerationSettings in a PNG (after MetaPrefix).
const (
	keyPrompt     = "prompt"
	keySeed       = "seed"
	keyIndex      = "index"
	keySteps      = "steps"
	keyGuidance   = "guidance"
	keyLayout     = "layout"
	keySampler    = "sampler"
	keyConcepts   = "concepts"
	keyRegions    = "regions"
	keyBaseModel  = "base_model"
	keyAppVersion = "app_version"
)

// Meta returns the settings as PNG metadata for EncodePNG: prompt, seed,
// index, steps, guidance, layout, sampler, base_model and app_version as
// text, and
// the concepts as a JSON array (omitted when there are none).
func (s GenerationSettings) Meta() map[string]string {
	m := map[string]string{
		keyPrompt: s.Prompt, keySeed: strconv.FormatInt(s.Seed, 10), keyIndex: strconv.Itoa(s.Index),
		keySteps: strconv.Itoa(s.Steps), keyGuidance: strconv.FormatFloat(s.Guidance, 'g', -1, 64),
		keyLayout:  strconv.FormatFloat(s.Layout, 'g', -1, 64),
		keySampler: s.Sampler, keyBaseModel: s.BaseID, keyAppVersion: s.AppVersion,
	}
	if len(s.Concepts) > 0 {
		b, err := json.Marshal(s.Concepts)
		if err == nil { // only a NaN gate fails, and is then left out
			m[keyConcepts] = string(b)
		}
	}
	if len(s.Regions) > 0 {
		if b, err := json.Marshal(s.Regions); err == nil {
			m[keyRegions] = string(b)
		}
	}
	return m
}

// ReadSettings restores the generation settings stored in an exported PNG.
// A file that is not a PNG gives ErrNotPNG; a PNG without Concept Studio
// settings, or with a value that does not parse, gives ErrNoSettings with
// the offending field named. Pixels are never decoded.
func ReadSettings(pngBytes []byte) (GenerationSettings, error) {
	var s GenerationSettings
	meta, err := ReadPNGMeta(pngBytes)
	if err != nil {
		return s, err
	}
	prompt, ok := meta[keyPrompt]
	if !ok {
		return s, errorf(ErrNoSettings, "the image has no Concept Studio settings (it was made elsewhere, or another program rewrote it)")
	}
	s.Prompt = prompt
	s.Sampler, s.BaseID, s.AppVersion = meta[keySampler], meta[keyBaseModel], meta[keyAppVersion]
	if v, ok := meta[keySeed]; ok {
		if s.Seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			return s, badSetting("seed", v)
		}
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{keyIndex, &s.Index}, {keySteps, &s.Steps}} {
		if v, ok := meta[f.key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return s, badSetting(f.key, v)
			}
			*f.dst = n
		}
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{{keyGuidance, &s.Guidance}, {keyLayout, &s.Layout}} {
		if v, ok := meta[f.key]; ok {
			g, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(g) || math.IsInf(g, 0) {
				return s, badSetting(f.key, v)
			}
			*f.dst = g
		}
	}
	if v, ok := meta[keyConcepts]; ok {
		var uses []conceptUseJSON
		if err := json.Unmarshal([]byte(v), &uses); err != nil {
			return s, errorf(ErrNoSettings, "the image's concept list cannot be read: %v", err)
		}
		s.Concepts = nil
		for _, u := range uses {
			c := u.ConceptUse
			if c.Gate == 0 {
				c.Gate = u.Beta
			}
			if !(c.Gate >= 0 && c.Gate <= 1e3) || !(c.Tau >= 0 && c.Tau <= 1e3) {
				return s, errorf(ErrNoSettings, "the image's concept %q has a bad gate", c.Name)
			}
			s.Concepts = append(s.Concepts, c)
		}
		for _, c := range s.Concepts {
			if err := conceptfile.ValidName(c.Name); err != nil {
				return s, errorf(ErrNoSettings, "the image's concept list has a bad name: %v", err)
			}
			if c.SHA256 != "" {
				if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != sha256.Size {
					return s, errorf(ErrNoSettings, "the image's concept %q has a bad file hash %q", c.Name, short(c.SHA256))
				}
			}
		}
	}
	if v, ok := meta[keyRegions]; ok {
		var rs []region.Region
		if err := json.Unmarshal([]byte(v), &rs); err != nil {
			return s, errorf(ErrNoSettings, "the image's regions cannot be read: %v", err)
		}
		if err := region.CheckAll(rs); err != nil {
			return s, errorf(ErrNoSettings, "the image's regions cannot be used: %s", strings.TrimPrefix(err.Error(), region.ErrBadRegion.Error()+": "))
		}
		s.Regions = rs
	}
	return s, nil
}

func badSetting(key, v string) error {
	return errorf(ErrNoSettings, "the image's %s %q is not a valid number", key, short(v))
}

// short cuts a string from a file for an error message.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// FileSHA256 is the SHA-256 of a file, in hex.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errorf(ErrNotFound, "cannot hash %s: it does not exist", path)
		}
		return "", fmt.Errorf("cannot hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cannot hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
