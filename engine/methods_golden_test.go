package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// methodGolden is what one method's tiny training and generation gave:
// the concept's tensor names and shapes (exact), a hash of its tensor
// values, and the generated images' pixels (compared with a tolerance of
// a few 8-bit levels, so that another CPU's float rounding does not count
// as a change of behaviour).
type methodGolden struct {
	Tensors map[string][]int `json:"tensors"`
	Hash    string           `json:"tensor_hash"`
	Pixels  []uint8          `json:"pixels"`
}

// TestMethodsBehaveAsBefore trains each method on the tiny model for a few
// steps with a fixed seed and generates two images with the concept (its
// gate set), and holds the result against testdata/methods.golden.json,
// written before the methods were restructured: moving code must not
// change what any method computes. `go test -run MethodsBehave -update`
// rewrites the file after a deliberate change.
func TestMethodsBehaveAsBefore(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four tiny concepts")
	}
	b := tinyBase(t)
	got := map[string]methodGolden{}
	for _, m := range []Method{TI, Perfusion, LoRA, DreamBooth} {
		opt := TrainOptions{Method: m, Name: "teddy", Class: "teddy bear", Data: newFixedData(b, "teddy"), Steps: 6, Batch: 2, Seed: 3}
		c, err := b.TrainConcept(context.Background(), opt, nil)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		g := methodGolden{Tensors: map[string][]int{}}
		h := sha256.New()
		names := sortedKeys(c.Tensors)
		for _, n := range names {
			g.Tensors[n] = c.Tensors[n].Shape
			h.Write([]byte(n))
			for _, v := range c.Tensors[n].Data {
				// Rounded to 4 significant digits: the same behaviour, not
				// the same last bit of every float on every CPU.
				h.Write([]byte(fmtSig(v)))
			}
		}
		g.Hash = hex.EncodeToString(h.Sum(nil))[:16]
		use := ConceptUse{Concept: c}
		switch m {
		case Perfusion:
			use.Gate = 0.65
		case LoRA:
			use.Gate = 0.8
		}
		imgs, err := b.GenerateWith(context.Background(), GenerateOptions{Prompt: "a teddy* on a blue background", N: 2, Seed: 9, Steps: 4, Guidance: 3}, []ConceptUse{use}, nil)
		if err != nil {
			t.Fatalf("%s: generate: %v", m, err)
		}
		for _, img := range imgs {
			for i, v := range img.Pix {
				if i%4 != 3 {
					g.Pixels = append(g.Pixels, v)
				}
			}
		}
		got[string(m)] = g
	}
	path := filepath.Join("testdata", "methods.golden.json")
	if *updateGolden {
		data, _ := json.MarshalIndent(got, "", " ")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	var want map[string]methodGolden
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	methods := sortedKeys(want)
	sort.Strings(methods)
	for _, m := range methods {
		w, g := want[m], got[m]
		if len(w.Tensors) != len(g.Tensors) {
			t.Errorf("%s: %d tensors, golden %d", m, len(g.Tensors), len(w.Tensors))
		}
		for n, shape := range w.Tensors {
			if !slices.Equal(shape, g.Tensors[n]) {
				t.Errorf("%s: tensor %s shape %v, golden %v", m, n, g.Tensors[n], shape)
			}
		}
		if w.Hash != g.Hash {
			t.Logf("%s: tensor values hash %s, golden %s (pixels decide)", m, g.Hash, w.Hash)
		}
		if len(w.Pixels) != len(g.Pixels) {
			t.Errorf("%s: %d pixel values, golden %d", m, len(g.Pixels), len(w.Pixels))
			continue
		}
		worst := 0.0
		for i := range w.Pixels {
			worst = math.Max(worst, math.Abs(float64(w.Pixels[i])-float64(g.Pixels[i])))
		}
		if worst > 3 {
			t.Errorf("%s: generated pixels differ from the golden ones by up to %.0f levels", m, worst)
		}
	}
}

func fmtSig(v float32) string {
	b, _ := json.Marshal(float32(math.Float32frombits(math.Float32bits(v) &^ 0x3FF)))
	return string(b)
}
