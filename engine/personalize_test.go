package engine

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tinyBase is an untrained small base model over the real tokenizer.
func tinyBase(t *testing.T) *Base {
	t.Helper()
	b, err := NewTinyBase()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixedData is one fixed image with the caption "a NAME*".
type fixedData struct {
	name string
	img  []float32
}

func (f fixedData) Sample(_ *rand.Rand, dst []float32) string {
	copy(dst, f.img)
	return "a " + f.name + "*"
}

func newFixedData(b *Base, name string) fixedData {
	S := b.Cfg.ImageSize
	img := make([]float32, S*S*3)
	for y := 0; y < S; y++ {
		for x := 0; x < S; x++ {
			o := (y*S + x) * 3
			if x > S/4 && x < 3*S/4 && y > S/4 && y < 3*S/4 {
				img[o], img[o+1], img[o+2] = 0.8, 0.4, -0.6 // an orange square
			} else {
				img[o], img[o+1], img[o+2] = -0.5, -0.5, 0.9 // on blue
			}
		}
	}
	return fixedData{name: name, img: img}
}

// TestMethodsLowerLossAndRoundTrip trains each method briefly on one fixed
// image and expects the loss of the last steps to be below the first
// steps' (the same noise sequence is not replayed, so compare means); the
// concept file must load back bit-exact and generate.
func TestMethodsLowerLossAndRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four tiny concepts")
	}
	b := tinyBase(t)
	for _, m := range []Method{TI, Perfusion, LoRA, DreamBooth} {
		t.Run(string(m), func(t *testing.T) {
			var losses []float64
			opt := TrainOptions{Method: m, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 60, Batch: 4, Seed: 1, LR: 2e-2, EmbedLR: 2e-2}
			if m == DreamBooth {
				opt.LR = 2e-3
			}
			c, err := b.TrainConcept(context.Background(), opt, func(p TrainProgress) { losses = append(losses, p.Loss) })
			if err != nil {
				t.Fatal(err)
			}
			// The same held-out samples before (the pseudo-word at its
			// class-word start) and after training, through the saved form.
			D := b.Cfg.TextDim
			classID, _ := b.Tok.ID("bear")
			table, _ := b.W.Lookup(tokTable)
			start := &Concept{Name: "teddy", Method: TI, BaseID: b.ID(), Tensors: map[string]Tensor{
				"emb": {Shape: []int{1, D}, Data: append([]float32(nil), table.Data().([]float32)[classID*D:(classID+1)*D]...)}}}
			before, err := b.ConceptLoss(context.Background(), []ConceptUse{{Concept: start}}, opt.Data, 77, 6)
			if err != nil {
				t.Fatal(err)
			}
			after, err := b.ConceptLoss(context.Background(), []ConceptUse{{Concept: c}}, opt.Data, 77, 6)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: held-out loss %.4f → %.4f (training log %.4f → %.4f), %d tensors, %d bytes", m, before, after, mean(losses[:15]), mean(losses[len(losses)-15:]), len(c.Tensors), c.Size())
			if !(after < 0.97*before) {
				t.Errorf("held-out loss did not drop by 3%%: %.4f → %.4f", before, after)
			}
			var buf bytes.Buffer
			if err := c.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := DecodeConcept(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Tensors, c.Tensors) {
				t.Fatal("tensors changed through the file")
			}
			imgs, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a teddy* on a blue background", N: 2, Seed: 4, Steps: 3, Guidance: 3}, []ConceptUse{{Concept: back}}, nil)
			if err != nil || len(imgs) != 2 {
				t.Fatalf("generate with the concept: %v", err)
			}
		})
	}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestZeroLoRALeavesOutputUnchanged: a LoRA concept whose up-projections
// are zero, used with the same prompt and seed, gives the same image as a
// TI concept with the same embedding.
func TestZeroLoRALeavesOutputUnchanged(t *testing.T) {
	b := tinyBase(t)
	lora, err := b.TrainConcept(context.Background(), TrainOptions{Method: LoRA, Name: "cup2", Class: "cup", Data: newFixedData(b, "cup2"), Steps: 1, Batch: 2, LR: 1e-9, EmbedLR: 1e-9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, tn := range lora.Tensors {
		if len(name) > 3 && name[len(name)-3:] == ".up" {
			clear(tn.Data)
		}
	}
	ti := &Concept{Name: lora.Name, Class: lora.Class, Method: TI, BaseID: lora.BaseID, Tensors: map[string]Tensor{"emb": lora.Tensors["emb"]}}
	gen := func(c *Concept) []*image.NRGBA {
		imgs, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a cup2*", N: 1, Seed: 9, Steps: 4, Guidance: 2}, []ConceptUse{{Concept: c}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return imgs
	}
	if !reflect.DeepEqual(gen(lora)[0].Pix, gen(ti)[0].Pix) {
		t.Fatal("a zero LoRA changed the image")
	}
}

func TestConceptChecks(t *testing.T) {
	b := tinyBase(t)
	c := &Concept{Name: "x", Method: TI, BaseID: "other", Tensors: map[string]Tensor{"emb": {Shape: []int{1, b.Cfg.TextDim}, Data: make([]float32, b.Cfg.TextDim)}}}
	if err := b.CheckConcept(c); !errors.Is(err, ErrWrongBase) {
		t.Fatalf("want ErrWrongBase, got %v", err)
	}
	c.BaseID = b.ID()
	c.Tensors["emb"] = Tensor{Shape: []int{1, 3}, Data: make([]float32, 3)}
	if err := b.CheckConcept(c); !errors.Is(err, ErrCorruptConcept) {
		t.Fatalf("want ErrCorruptConcept for a wrong width, got %v", err)
	}
	c.Tensors["emb"] = Tensor{Shape: []int{1, b.Cfg.TextDim}, Data: make([]float32, b.Cfg.TextDim)}
	d := *c
	if _, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a x*", Steps: 1}, []ConceptUse{{Concept: c}, {Concept: &d}}, nil); err == nil {
		t.Fatal("two concepts with one name must be refused")
	}
}

// TestConceptTrainingResumes cancels a Perfusion run midway and resumes it
// from its checkpoint; the result must equal an uninterrupted run's.
func TestConceptTrainingResumes(t *testing.T) {
	b := tinyBase(t)
	opt := TrainOptions{Method: Perfusion, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 8, Batch: 2, Seed: 3, LR: 1e-2, EmbedLR: 1e-2}
	whole, err := b.TrainConcept(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt.Checkpoint = filepath.Join(t.TempDir(), "teddy.partial")
	ctx, cancel := context.WithCancel(context.Background())
	_, err = b.TrainConcept(ctx, opt, func(p TrainProgress) {
		if p.Step == 3 {
			time.Sleep(300 * time.Millisecond) // a slow first sitting
		}
		if p.Step == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if _, err := os.Stat(opt.Checkpoint); err != nil {
		t.Fatalf("no checkpoint after cancel: %v", err)
	}
	global := opt
	global.GlobalLocking = true
	if _, err := b.TrainConcept(context.Background(), global, nil); err == nil {
		t.Fatal("a local-locking checkpoint was resumed with global locking")
	}
	resumed, err := b.TrainConcept(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Settings.TrainSeconds < 0.3 {
		t.Errorf("train seconds %.2f leave out the first sitting (≥ 0.3 s)", resumed.Settings.TrainSeconds)
	}
	if !reflect.DeepEqual(whole.Tensors, resumed.Tensors) {
		t.Fatal("a resumed run differs from an uninterrupted one")
	}
	if _, err := os.Stat(opt.Checkpoint); !os.IsNotExist(err) {
		t.Fatal("the checkpoint must be removed after success")
	}
	other := opt
	other.Steps = 9
	os.WriteFile(opt.Checkpoint, nil, 0o644)
	if _, err := b.TrainConcept(context.Background(), other, nil); err == nil {
		t.Fatal("a corrupt checkpoint must be refused")
	}
}

// TestPerfusionGlobalLockingTrains: Perfusion trained with global locking
// (keys from the caption with teddy* read as "bear") lowers the held-out
// loss measured the same way, records the option, and differs from the
// local-locking concept trained on the same data and seed.
func TestPerfusionGlobalLockingTrains(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two tiny concepts")
	}
	b := tinyBase(t)
	train := func(global bool) *Concept {
		opt := TrainOptions{Method: Perfusion, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 40, Batch: 4, Seed: 1, LR: 2e-2, EmbedLR: 2e-2, GlobalLocking: global}
		c, err := b.TrainConcept(context.Background(), opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	global, local := train(true), train(false)
	if !global.Settings.GlobalLocking || local.Settings.GlobalLocking {
		t.Fatalf("recorded global locking %v / %v", global.Settings.GlobalLocking, local.Settings.GlobalLocking)
	}
	if reflect.DeepEqual(global.Tensors, local.Tensors) {
		t.Fatal("global locking trained the same weights as local locking")
	}
	data := newFixedData(b, "teddy")
	untrained := *global
	untrained.Tensors = map[string]Tensor{}
	for k, v := range global.Tensors {
		z := Tensor{Shape: v.Shape, Data: make([]float32, len(v.Data))}
		if k == "emb" || k == "i_star" || k == "i_super" {
			copy(z.Data, v.Data)
		}
		untrained.Tensors[k] = z
	}
	before, err := b.ConceptLoss(context.Background(), []ConceptUse{{Concept: &untrained}}, data, 77, 6)
	if err != nil {
		t.Fatal(err)
	}
	after, err := b.ConceptLoss(context.Background(), []ConceptUse{{Concept: global}}, data, 77, 6)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out loss with zero o*_V %.4f → trained %.4f", before, after)
	if !(after < 0.97*before) {
		t.Errorf("held-out loss did not drop by 3%%: %.4f → %.4f", before, after)
	}
	if _, err := b.TrainConcept(context.Background(), TrainOptions{Method: TI, Name: "cup3", Class: "cup", Data: newFixedData(b, "cup3"), Steps: 1, GlobalLocking: true}, nil); err == nil {
		t.Error("global locking accepted for Textual Inversion")
	}
}

// TestPerfusionTrainedKeysAblation: with TrainKeys the key targets o*_K
// move away from the locked W_K·i_super and are stored; the concept loads,
// passes its checks and generates; without its o_k tensors it is refused.
func TestPerfusionTrainedKeysAblation(t *testing.T) {
	b := tinyBase(t)
	opt := TrainOptions{Method: Perfusion, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 20, Batch: 4, Seed: 1, LR: 2e-2, EmbedLR: 2e-2, TrainKeys: true}
	c, err := b.TrainConcept(context.Background(), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Settings.TrainedKeys {
		t.Fatal("the concept does not record trained keys")
	}
	iSuper := toF64(c.Tensors["i_super"].Data)
	moved := 0
	for _, l := range b.crossLayers() {
		k, ok := c.Tensors["o_k/"+l]
		if !ok {
			t.Fatalf("no o_k for %s", l)
		}
		wk, _ := b.W.Lookup(l + ".k.w")
		locked := make([]float32, len(k.Data))
		project(iSuper, wk.Data().([]float32), len(locked), locked)
		if !reflect.DeepEqual(locked, k.Data) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("training left every key target at its locked value")
	}
	if err := b.CheckConcept(c); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a teddy*", N: 1, Seed: 2, Steps: 2, Guidance: 3}, []ConceptUse{{Concept: c}}, nil); err != nil {
		t.Fatal(err)
	}
	broken := *c
	broken.Tensors = map[string]Tensor{}
	for k, v := range c.Tensors {
		if !strings.HasPrefix(k, "o_k/") {
			broken.Tensors[k] = v
		}
	}
	if err := b.CheckConcept(&broken); !errors.Is(err, ErrCorruptConcept) {
		t.Fatalf("a trained-keys concept without o_k: %v", err)
	}
	if _, err := b.TrainConcept(context.Background(), TrainOptions{Method: LoRA, Name: "cup4", Class: "cup", Data: newFixedData(b, "cup4"), Steps: 1, TrainKeys: true}, nil); err == nil {
		t.Error("trained keys accepted for LoRA")
	}
}
