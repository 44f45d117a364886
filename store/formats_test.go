package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"conceptstudio/engine"
	"conceptstudio/engine/safetensors"
)

func TestImportConceptFile(t *testing.T) {
	l := openTestLibrary(t)
	src := writeFile(t, t.TempDir(), "shared.concept.safetensors", encodeConcept(t, testConcept("teddy")))
	e, err := l.Import(src, ImportOptions{BaseID: testBase, TextWidth: testWidth})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "teddy" || e.Err != nil || e.Method != engine.Perfusion {
		t.Fatalf("entry %+v", e)
	}
	c, err := l.Get("teddy")
	if err != nil || !reflect.DeepEqual(c, testConcept("teddy")) {
		t.Fatalf("imported concept differs: %v", err)
	}
	_, err = l.Import(src, ImportOptions{BaseID: testBase})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `"teddy" is already in the library`) {
		t.Fatalf("second import: %v", err)
	}
	e, err = l.Import(src, ImportOptions{Name: "teddy2"})
	if err != nil || e.Name != "teddy2" {
		t.Fatalf("import under another name: %+v, %v", e, err)
	}
	if c, _ := l.Get("teddy2"); c.Name != "teddy2" {
		t.Fatalf("the pseudo-word must follow the new name, got %q", c.Name)
	}
}

func TestImportWrongBaseNamesBothIDs(t *testing.T) {
	l := openTestLibrary(t)
	src := writeFile(t, t.TempDir(), "x.concept.safetensors", encodeConcept(t, testConcept("teddy")))
	_, err := l.Import(src, ImportOptions{BaseID: "other-base"})
	if !errors.Is(err, engine.ErrWrongBase) {
		t.Fatalf("want ErrWrongBase, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, testBase) || !strings.Contains(msg, "other-base") || strings.Contains(msg, "\n") {
		t.Fatalf("the message must name both base models on one line: %q", msg)
	}
	if l.Has("teddy") {
		t.Fatal("a refused import wrote a file")
	}
}

func TestImportDiffusersEmbedding(t *testing.T) {
	l := openTestLibrary(t)
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.F16} {
		name := "cattoy" + strings.ToLower(string(dt))
		src := writeFile(t, t.TempDir(), "learned_embeds.safetensors", embeddingFile(t, "<Cat-Toy"+string(dt)+">", 1, testWidth, dt))
		e, err := l.Import(src, ImportOptions{BaseID: testBase, TextWidth: testWidth, Class: "toy"})
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		c, _ := l.Get(e.Name)
		if e.Name != name || c.Method != engine.TI || c.Class != "toy" || c.BaseID != testBase {
			t.Fatalf("%s: concept %+v", dt, c)
		}
		emb := c.Tensors["emb"]
		if !reflect.DeepEqual(emb.Shape, []int{1, testWidth}) || emb.Data[3] != 3 || len(c.Tensors) != 1 {
			t.Fatalf("%s: emb %+v", dt, emb)
		}
	}
	// A 1-D embedding [d] is one vector too.
	v := safetensors.F32Tensor("<dog>", []int{testWidth}, make([]float32, testWidth))
	b, _ := safetensors.EncodeBytes(&safetensors.File{Tensors: []safetensors.Tensor{v}})
	c, format, err := ParseConcept(b, "x.safetensors", ImportOptions{TextWidth: testWidth})
	if err != nil || format != FormatDiffusers || c.Name != "dog" {
		t.Fatalf("1-D embedding: %v %v %v", c, format, err)
	}
}

func TestImportA1111EmbeddingTakesFileName(t *testing.T) {
	c, format, err := ParseConcept(embeddingFile(t, "emb_params", 1, testWidth, safetensors.F32), "My_Teddy.safetensors",
		ImportOptions{TextWidth: testWidth})
	if err != nil || format != FormatA1111 || c.Name != "myteddy" || c.Method != engine.TI {
		t.Fatalf("got %+v %q %v", c, format, err)
	}
	_, _, err = ParseConcept(embeddingFile(t, "emb_params", 1, testWidth, safetensors.F32), "123.safetensors", ImportOptions{TextWidth: testWidth})
	if !errors.Is(err, ErrBadName) {
		t.Fatalf("a file name that makes no concept name: %v", err)
	}
	c, _, err = ParseConcept(embeddingFile(t, "emb_params", 1, testWidth, safetensors.F32), "123.safetensors", ImportOptions{TextWidth: testWidth, Name: "given"})
	if err != nil || c.Name != "given" {
		t.Fatalf("a given name must be used: %v %v", c, err)
	}
}

func TestImportEmbeddingWrongWidthNamesBoth(t *testing.T) {
	_, _, err := ParseConcept(embeddingFile(t, "<teddy>", 1, 768, safetensors.F32), "e.safetensors", ImportOptions{TextWidth: 128})
	if !errors.Is(err, ErrWrongWidth) || !strings.Contains(err.Error(), "768") || !strings.Contains(err.Error(), "128") {
		t.Fatalf("got %v", err)
	}
	_, _, err = ParseConcept(embeddingFile(t, "<teddy>", 1, 768, safetensors.F32), "e.safetensors", ImportOptions{})
	if !errors.Is(err, ErrWrongWidth) {
		t.Fatalf("unknown width must refuse: %v", err)
	}
}

func TestImportMultiVectorEmbedding(t *testing.T) {
	data := embeddingFile(t, "<teddy>", 3, testWidth, safetensors.F32) // row i: j + 10 i
	_, _, err := ParseConcept(data, "e.safetensors", ImportOptions{TextWidth: testWidth})
	if !errors.Is(err, ErrMultiVector) || !strings.Contains(err.Error(), "3 vectors") {
		t.Fatalf("multi-vector without averaging: %v", err)
	}
	c, _, err := ParseConcept(data, "e.safetensors", ImportOptions{TextWidth: testWidth, AverageVectors: true})
	if err != nil {
		t.Fatal(err)
	}
	emb := c.Tensors["emb"]
	for j, v := range emb.Data {
		if want := float32(j) + 10; v != want { // mean of j, j+10, j+20
			t.Fatalf("mean[%d] = %v, want %v", j, v, want)
		}
	}
}

func TestExportConceptCopiesTheFile(t *testing.T) {
	l := openTestLibrary(t)
	l.Add(testConcept("teddy"))
	dst := filepath.Join(t.TempDir(), "out.concept.safetensors")
	if err := NewLibrary(l.Dir).Export("teddy", dst, FormatConcept); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(l.ConceptPath("teddy"))
	b, _ := os.ReadFile(dst)
	if !bytes.Equal(a, b) {
		t.Fatal("export must copy the file byte for byte")
	}
	h1, _ := l.Hash("teddy")
	h2, _ := FileSHA256(dst)
	if h1 != h2 || len(h1) != 64 {
		t.Fatalf("hashes %s %s", h1, h2)
	}
	if err := l.Export("teddy", filepath.Join(t.TempDir(), "missing", "x"), FormatConcept); err == nil {
		t.Fatal("export into a missing folder must fail")
	}
	if err := l.Export("ghost", dst, FormatConcept); !errors.Is(err, ErrNotFound) {
		t.Fatalf("export of a missing concept: %v", err)
	}
}

func TestExportEmbeddingRoundTrip(t *testing.T) {
	l := openTestLibrary(t)
	l.Add(tiConcept("teddy"))
	for _, format := range []Format{FormatDiffusers, FormatA1111} {
		dst := filepath.Join(t.TempDir(), "teddy.safetensors")
		if err := l.Export("teddy", dst, format); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(dst)
		f, err := safetensors.Decode(data, safetensors.ReadOptions{})
		if err != nil || len(f.Tensors) != 1 || f.Tensors[0].DType != safetensors.F32 || !reflect.DeepEqual(f.Tensors[0].Shape, []int{1, testWidth}) {
			t.Fatalf("%s: %+v %v", format, f, err)
		}
		if want := map[Format]string{FormatDiffusers: "<teddy>", FormatA1111: "emb_params"}[format]; f.Tensors[0].Name != want {
			t.Fatalf("%s: tensor %q, want %q", format, f.Tensors[0].Name, want)
		}
		back, got, err := ParseConcept(data, "teddy.safetensors", ImportOptions{TextWidth: testWidth})
		if err != nil || got != format || back.Name != "teddy" || !reflect.DeepEqual(back.Tensors["emb"], tiConcept("teddy").Tensors["emb"]) {
			t.Fatalf("%s: re-import %+v %v", format, back, err)
		}
	}
	l.Add(testConcept("perf"))
	if err := l.Export("perf", filepath.Join(t.TempDir(), "p"), FormatDiffusers); !errors.Is(err, ErrCannotExport) {
		t.Fatalf("a Perfusion concept is not an embedding: %v", err)
	}
}

func TestExportKohyaLoRA(t *testing.T) {
	c := loraConcept("teddy")
	data, err := EncodeKohyaLoRA(c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Decode(data, safetensors.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range f.Tensors {
		names = append(names, tt.Name)
	}
	want := []string{
		"lora_unet_down1_attn0_attn2_to_out_0.alpha", "lora_unet_down1_attn0_attn2_to_out_0.lora_down.weight", "lora_unet_down1_attn0_attn2_to_out_0.lora_up.weight",
		"lora_unet_down1_attn0_attn2_to_q.alpha", "lora_unet_down1_attn0_attn2_to_q.lora_down.weight", "lora_unet_down1_attn0_attn2_to_q.lora_up.weight",
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("keys:\n%v\nwant\n%v", names, want)
	}
	get := func(n string) ([]int, []float32) {
		tt, _ := f.Get(n)
		v, _ := tt.Float32()
		return tt.Shape, v
	}
	// down: ours [in=3, r=2] = 0..5 row-major; kohya [r, in] = transpose.
	if s, v := get("lora_unet_down1_attn0_attn2_to_q.lora_down.weight"); !reflect.DeepEqual(s, []int{2, 3}) || !reflect.DeepEqual(v, []float32{0, 2, 4, 1, 3, 5}) {
		t.Fatalf("down %v %v", s, v)
	}
	// up: ours [r=2, out=4] = 100..107; kohya [out, r].
	if s, v := get("lora_unet_down1_attn0_attn2_to_q.lora_up.weight"); !reflect.DeepEqual(s, []int{4, 2}) || !reflect.DeepEqual(v, []float32{100, 104, 101, 105, 102, 106, 103, 107}) {
		t.Fatalf("up %v %v", s, v)
	}
	if s, v := get("lora_unet_down1_attn0_attn2_to_q.alpha"); len(s) != 0 || !reflect.DeepEqual(v, []float32{1}) {
		t.Fatalf("alpha %v %v", s, v)
	}
	if f.Metadata["ss_network_dim"] != "2" || f.Metadata["ss_network_alpha"] != "1" {
		t.Fatalf("metadata %v", f.Metadata)
	}
	if _, err := EncodeKohyaLoRA(testConcept("perf")); !errors.Is(err, ErrCannotExport) {
		t.Fatalf("a Perfusion concept has no LoRA: %v", err)
	}
	broken := loraConcept("b")
	delete(broken.Tensors, "lora/unet.down1.attn0.attn2.q.up")
	if _, err := EncodeKohyaLoRA(broken); !errors.Is(err, engine.ErrCorruptConcept) {
		t.Fatalf("a LoRA missing its up matrix: %v", err)
	}
	// Export through the library writes the same bytes.
	l := openTestLibrary(t)
	l.Add(c)
	dst := filepath.Join(t.TempDir(), "teddy_lora.safetensors")
	if err := l.Export("teddy", dst, FormatKohya); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("Export(kohya) differs from EncodeKohyaLoRA")
	}
}

func TestKohyaKey(t *testing.T) {
	for in, want := range map[string]string{
		"unet.mid.attn0.attn2.k": "lora_unet_mid_attn0_attn2_to_k",
		"text.layer1.attn.v":     "lora_te_layer1_attn_to_v",
		"down1.attn2.out":        "lora_unet_down1_attn2_to_out_0",
	} {
		if got, err := kohyaKey(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"q", "unet.x.proj"} {
		if _, err := kohyaKey(bad); err == nil {
			t.Errorf("%q must fail", bad)
		}
	}
}
