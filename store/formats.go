package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"conceptstudio/engine/conceptfile"
	"conceptstudio/engine/safefile"
	"conceptstudio/engine/safetensors"
)

// Format names a file format for import and export.
type Format string

// The formats Concept Studio reads and writes.
const (
	// FormatConcept is Concept Studio's own NAME.concept.safetensors.
	FormatConcept Format = "concept"
	// FormatDiffusers is a textual inversion embedding as diffusers saves
	// it: one tensor named after the token, {"<teddy>": [n, d]} (or [d]).
	FormatDiffusers Format = "diffusers"
	// FormatA1111 is a textual inversion embedding as AUTOMATIC1111 saves
	// it in safetensors: {"emb_params": [n, d]}; the name is the file's.
	FormatA1111 Format = "a1111"
	// FormatKohya is a LoRA with kohya-ss / AUTOMATIC1111 key names
	// (export only).
	FormatKohya Format = "kohya"
)

// MaxConceptFileBytes is the largest file Import reads (the engine refuses
// larger concepts too).
const MaxConceptFileBytes = 512 << 20

// conceptMetaKey is the safetensors metadata key of a concept file (as
// written by conceptfile.Concept.Encode).
const conceptMetaKey = "conceptstudio.concept"

// ImportOptions say what a concept must fit, and how to name it.
type ImportOptions struct {
	// Name imports the concept under this name (its pseudo-word changes);
	// "" keeps the file's (for embeddings: the token, or the file name).
	Name string
	// Class is the super-category given to imported embeddings, which
	// carry none; "" uses the name.
	Class string
	// BaseID is the id of the base model in use. A concept file made for
	// another base model is refused with conceptfile.ErrWrongBase; embeddings
	// (which record none) are stamped with it. "" skips the check.
	BaseID string
	// TextWidth is the base model's word-embedding width d. An embedding of
	// another width is refused with ErrWrongWidth. Needed for embeddings;
	// for concept files 0 skips the check.
	TextWidth int
	// AverageVectors imports a multi-vector embedding (n > 1) as the mean
	// of its vectors. Without it such embeddings are refused with
	// ErrMultiVector: a concept here is one pseudo-word, one vector, and
	// the mean keeps only part of what the n vectors described.
	AverageVectors bool
}

// ParseConcept decodes the bytes of a file brought to the library: a
// Concept Studio concept file, or a textual inversion embedding (diffusers
// or A1111 safetensors), which becomes a textual inversion concept with the
// tensor "emb" [1, d]. fileName (the file's base name) names A1111
// embeddings. It checks opt (base model, width, name) and returns the
// concept and the format it was in. Nothing is written.
func ParseConcept(data []byte, fileName string, opt ImportOptions) (*conceptfile.Concept, Format, error) {
	if len(data) == 0 {
		return nil, "", errorf(conceptfile.ErrCorruptConcept, "the file is empty (0 bytes)")
	}
	if len(data) > MaxConceptFileBytes {
		return nil, "", errorf(conceptfile.ErrCorruptConcept, "the file is %d MB, too large for a concept (the limit is %d MB)", len(data)>>20, MaxConceptFileBytes>>20)
	}
	f, err := safetensors.Decode(data, safetensors.ReadOptions{RejectNonFinite: true})
	if err != nil {
		return nil, "", errorf(conceptfile.ErrCorruptConcept, "not a valid concept file: %w", err)
	}
	var (
		c      *conceptfile.Concept
		format Format
	)
	if _, ok := f.Metadata[conceptMetaKey]; ok {
		if c, err = conceptfile.DecodeConcept(data); err != nil {
			return nil, "", err
		}
		format = FormatConcept
		if opt.BaseID != "" && c.BaseID != opt.BaseID {
			return nil, "", wrongBase(c.Name, c.BaseID, opt.BaseID)
		}
	} else {
		if c, format, err = embeddingConcept(f, fileName, opt); err != nil {
			return nil, "", err
		}
	}
	if opt.Name != "" {
		if err := checkName(opt.Name); err != nil {
			return nil, "", err
		}
		c.Name = opt.Name
	}
	if emb, ok := c.Tensors["emb"]; ok && opt.TextWidth > 0 && len(emb.Shape) > 0 && emb.Shape[len(emb.Shape)-1] != opt.TextWidth {
		return nil, "", errorf(ErrWrongWidth, "the concept's word embedding is %d wide, but this base model's is %d wide", emb.Shape[len(emb.Shape)-1], opt.TextWidth)
	}
	return c, format, nil
}

func wrongBase(name, got, want string) error {
	if got == "" {
		got = "an unnamed base model"
	} else {
		got = "base model " + strconv.Quote(got)
	}
	return errorf(conceptfile.ErrWrongBase, "%q was made for %s, but this Concept Studio uses base model %q", name, got, want)
}

// embeddingConcept turns a textual inversion embedding into a TI concept.
func embeddingConcept(f *safetensors.File, fileName string, opt ImportOptions) (*conceptfile.Concept, Format, error) {
	if len(f.Tensors) != 1 {
		names := make([]string, 0, 3)
		for i, t := range f.Tensors {
			if i == 3 {
				names = append(names, "...")
				break
			}
			names = append(names, strconv.Quote(t.Name))
		}
		return nil, "", errorf(conceptfile.ErrCorruptConcept,
			"not a concept file or a textual inversion embedding: it has no Concept Studio metadata and holds %d tensors (%s), where an embedding holds one",
			len(f.Tensors), strings.Join(names, ", "))
	}
	t := f.Tensors[0]
	format, raw := FormatDiffusers, t.Name
	if t.Name == "emb_params" {
		format, raw = FormatA1111, strings.TrimSuffix(fileName, filepath.Ext(fileName))
	}
	var n, d int
	switch len(t.Shape) {
	case 1:
		n, d = 1, t.Shape[0]
	case 2:
		n, d = t.Shape[0], t.Shape[1]
	default:
		return nil, "", errorf(conceptfile.ErrCorruptConcept, "the embedding %q has shape %v; a textual inversion embedding is [vectors, width]", t.Name, t.Shape)
	}
	if n == 0 || d == 0 {
		return nil, "", errorf(conceptfile.ErrCorruptConcept, "the embedding %q is empty (shape %v)", t.Name, t.Shape)
	}
	v, err := t.Float32()
	if err != nil {
		return nil, "", errorf(conceptfile.ErrCorruptConcept, "the embedding %q holds %s numbers; only floating-point embeddings can be imported", t.Name, t.DType)
	}
	if opt.TextWidth <= 0 {
		return nil, "", errorf(ErrWrongWidth, "the base model's text width is unknown, so the %d-wide embedding cannot be checked", d)
	}
	if d != opt.TextWidth {
		return nil, "", errorf(ErrWrongWidth, "the embedding is %d wide, but this base model's word embeddings are %d wide (it was made for another model)", d, opt.TextWidth)
	}
	if n > 1 && !opt.AverageVectors {
		return nil, "", errorf(ErrMultiVector, "the embedding has %d vectors, but a concept here is one word (one vector); import it with averaging to merge them", n)
	}
	emb := make([]float32, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			emb[j] += v[i*d+j]
		}
	}
	for j := range emb {
		emb[j] /= float32(n)
	}
	name := opt.Name
	if name == "" {
		name = nameFromToken(raw)
		if conceptfile.ValidName(name) != nil {
			return nil, "", errorf(ErrBadName, "the embedding's token %q does not make a concept name; choose one (lower-case letters and digits, starting with a letter)", raw)
		}
	}
	class := opt.Class
	if class == "" {
		class = name
	}
	return &conceptfile.Concept{
		Name: name, Class: class, Method: conceptfile.TI, BaseID: opt.BaseID,
		Created: time.Now().UTC().Truncate(time.Second),
		Tensors: map[string]conceptfile.Tensor{"emb": {Shape: []int{1, d}, Data: emb}},
	}, format, nil
}

// nameFromToken makes a concept name from a token or file name: "<Cat-Toy>"
// becomes "cattoy". The result may still be invalid (empty, or starting
// with a digit).
func nameFromToken(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() == 32 {
			break
		}
	}
	return b.String()
}

// Import brings a concept file or a textual inversion embedding into the
// library (see ParseConcept and ImportOptions) and returns its entry. It
// refuses a name already in the library (ErrExists), and anything that
// does not decode, with nothing written.
func (l *Library) Import(path string, opt ImportOptions) (Entry, error) {
	dst, name, err := l.importFile(path, opt)
	if err != nil {
		return Entry{}, err
	}
	info, err := os.Stat(dst)
	if err != nil {
		return Entry{}, err
	}
	return l.entry(dst, name, info), nil
}

func (l *Library) importFile(path string, opt ImportOptions) (dst, name string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkWritable(); err != nil {
		return "", "", err
	}
	base := filepath.Base(path)
	data, err := readInputFile(path, MaxConceptFileBytes, conceptfile.ErrCorruptConcept, "a concept")
	if err != nil {
		return "", "", err
	}
	c, _, err := ParseConcept(data, base, opt)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", base, err)
	}
	if l.Has(c.Name) {
		return "", "", errorf(ErrExists, "%s: a concept called %q is already in the library; import it under another name", base, c.Name)
	}
	// An imported file has no training images: drop any left by an
	// earlier concept of that name.
	if err := l.dropImages(c.Name); err != nil {
		return "", "", err
	}
	dst = l.ConceptPath(c.Name)
	if err := conceptfile.WriteConceptFile(dst, c); err != nil {
		return "", "", err
	}
	return dst, c.Name, nil
}

// readInputFile reads a file a user pointed at, refusing folders, empty
// files and files over limit with a one-line message (matching kind).
func readInputFile(path string, limit int64, kind error, what string) ([]byte, error) {
	base := filepath.Base(path)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", base, unwrapPathError(err))
	}
	switch {
	case st.IsDir():
		return nil, errorf(kind, "%s is a folder, not %s", base, what)
	case !st.Mode().IsRegular():
		return nil, errorf(kind, "%s is not a regular file", base)
	case st.Size() == 0:
		return nil, errorf(kind, "%s is empty (0 bytes)", base)
	case st.Size() > limit:
		return nil, errorf(kind, "%s is %d MB, too large for %s (the limit is %d MB)", base, st.Size()>>20, what, limit>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", base, unwrapPathError(err))
	}
	return data, nil
}

// unwrapPathError drops the *PathError's path (the caller names the file).
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Export writes the concept called name to dst (a path the user chose)
// atomically, in format: FormatConcept copies the file as it is,
// FormatDiffusers and FormatA1111 write a textual inversion concept's
// embedding, FormatKohya a LoRA concept with kohya key names. A format the
// concept's method has no data for fails with ErrCannotExport. No lock is
// needed.
func (l *Library) Export(name, dst string, format Format) error {
	c, err := l.Get(name)
	if err != nil {
		return err
	}
	var data []byte
	switch format {
	case FormatConcept, "":
		data, err = os.ReadFile(l.ConceptPath(name))
	case FormatDiffusers, FormatA1111:
		data, err = EncodeEmbedding(c, format)
	case FormatKohya:
		data, err = EncodeKohyaLoRA(c)
	default:
		return errorf(ErrCannotExport, "unknown export format %q (concept, diffusers, a1111 or kohya)", format)
	}
	if err != nil {
		return err
	}
	if dir := filepath.Dir(dst); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("cannot export to %s: the folder %s does not exist", dst, dir)
		}
	}
	return safefile.Write(dst, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// EncodeEmbedding returns a textual inversion concept's embedding as a
// safetensors file in the diffusers format ({"<name>": [1, d]} F32) or the
// A1111 one ({"emb_params": [1, d]}; the name goes in the file name).
func EncodeEmbedding(c *conceptfile.Concept, format Format) ([]byte, error) {
	if c.Method != conceptfile.TI {
		return nil, errorf(ErrCannotExport, "%q is a %s concept; only textual inversion concepts can be exported as an embedding", c.Name, c.Method)
	}
	emb, ok := c.Tensors["emb"]
	if !ok || len(emb.Shape) != 2 || emb.Shape[0] != 1 || emb.Shape[1]*emb.Shape[0] != len(emb.Data) {
		return nil, errorf(conceptfile.ErrCorruptConcept, "%q has no [1, d] word embedding to export", c.Name)
	}
	name := "<" + c.Name + ">"
	if format == FormatA1111 {
		name = "emb_params"
	}
	return safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{safetensors.F32Tensor(name, emb.Shape, emb.Data)}})
}

// EncodeKohyaLoRA returns a LoRA concept as a safetensors file with kohya-ss
// / AUTOMATIC1111 key names. Our "lora/LAYER.P.down" [in, r] and
// "lora/LAYER.P.up" [r, out] (P one of q, k, v, out) become
//
//	lora_unet_<LAYER with '_'>_to_P.lora_down.weight  [r, in]   (transposed)
//	lora_unet_<LAYER with '_'>_to_P.lora_up.weight    [out, r]  (transposed)
//	lora_unet_<LAYER with '_'>_to_P.alpha             scalar    (Settings.Alpha, else r)
//
// with P "out" named "to_out_0", a leading "unet." dropped and "text."
// layers under "lora_te_".
func EncodeKohyaLoRA(c *conceptfile.Concept) ([]byte, error) {
	type pair struct{ down, up conceptfile.Tensor }
	mods := map[string]*pair{}
	for n, t := range c.Tensors {
		rest, ok := strings.CutPrefix(n, "lora/")
		if !ok {
			continue
		}
		var mod string
		switch {
		case strings.HasSuffix(rest, ".down"):
			mod = strings.TrimSuffix(rest, ".down")
		case strings.HasSuffix(rest, ".up"):
			mod = strings.TrimSuffix(rest, ".up")
		default:
			return nil, errorf(conceptfile.ErrCorruptConcept, "%q: LoRA tensor %q is neither .down nor .up", c.Name, n)
		}
		p := mods[mod]
		if p == nil {
			p = &pair{}
			mods[mod] = p
		}
		if strings.HasSuffix(rest, ".down") {
			p.down = t
		} else {
			p.up = t
		}
	}
	if len(mods) == 0 {
		return nil, errorf(ErrCannotExport, "%q is a %s concept without LoRA weights; only LoRA concepts can be exported in the kohya format", c.Name, c.Method)
	}
	names := make([]string, 0, len(mods))
	for m := range mods {
		names = append(names, m)
	}
	sort.Strings(names)
	f := &safetensors.File{Metadata: map[string]string{"ss_network_module": "networks.lora"}}
	keys := map[string]string{}
	rank := 0
	for _, m := range names {
		p := mods[m]
		key, err := kohyaKey(m)
		if err != nil {
			return nil, errorf(ErrCannotExport, "%q: %w", c.Name, err)
		}
		if other, dup := keys[key]; dup {
			return nil, errorf(ErrCannotExport, "%q: layers %q and %q would both be called %s", c.Name, other, m, key)
		}
		keys[key] = m
		d, u := p.down, p.up
		if len(d.Shape) != 2 || len(u.Shape) != 2 || d.Shape[1] != u.Shape[0] ||
			len(d.Data) != d.Shape[0]*d.Shape[1] || len(u.Data) != u.Shape[0]*u.Shape[1] {
			return nil, errorf(conceptfile.ErrCorruptConcept, "%q: LoRA layer %q needs down [in, r] and up [r, out], has %v and %v", c.Name, m, d.Shape, u.Shape)
		}
		in, r, out := d.Shape[0], d.Shape[1], u.Shape[1]
		rank = r
		alpha := float32(c.Settings.Alpha)
		if alpha == 0 {
			alpha = float32(r)
		}
		f.Tensors = append(f.Tensors,
			safetensors.F32Tensor(key+".lora_down.weight", []int{r, in}, transpose(d.Data, in, r)),
			safetensors.F32Tensor(key+".lora_up.weight", []int{out, r}, transpose(u.Data, r, out)),
			safetensors.F32Tensor(key+".alpha", []int{}, []float32{alpha}))
	}
	f.Metadata["ss_network_dim"] = strconv.Itoa(rank)
	alpha := c.Settings.Alpha
	if alpha == 0 {
		alpha = float64(rank)
	}
	f.Metadata["ss_network_alpha"] = strconv.FormatFloat(alpha, 'g', -1, 64)
	if c.BaseID != "" {
		f.Metadata["conceptstudio.base_model"] = c.BaseID
	}
	return safetensors.EncodeBytes(f)
}

// kohyaKey maps "unet.down1.attn0.attn2.q" to
// "lora_unet_down1_attn0_attn2_to_q".
func kohyaKey(mod string) (string, error) {
	i := strings.LastIndexByte(mod, '.')
	if i <= 0 {
		return "", fmt.Errorf("LoRA layer %q has no projection (q, k, v or out)", mod)
	}
	layer, proj := mod[:i], mod[i+1:]
	to := map[string]string{"q": "to_q", "k": "to_k", "v": "to_v", "out": "to_out_0"}[proj]
	if to == "" {
		return "", fmt.Errorf("LoRA layer %q: unknown projection %q (q, k, v or out)", mod, proj)
	}
	prefix := "lora_unet_"
	if rest, ok := strings.CutPrefix(layer, "unet."); ok {
		layer = rest
	} else if rest, ok := strings.CutPrefix(layer, "text."); ok {
		prefix, layer = "lora_te_", rest
	}
	return prefix + strings.NewReplacer(".", "_", "/", "_").Replace(layer) + "_" + to, nil
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols].
func transpose(v []float32, rows, cols int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out[j*rows+i] = v[i*cols+j]
		}
	}
	return out
}
