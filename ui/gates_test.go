package ui

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestGateSlidersFollowThePrompt(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts()}
	m, _, _ := newTestScreen(t, f, nil)
	test.Type(m.prompt, "a teddy* and a mug* and a cat* and a dog*")

	teddy, mug := m.gates.Slider("teddy"), m.gates.Slider("mug")
	if teddy == nil || teddy.Min != 0.01 || teddy.Max != 1 {
		t.Fatalf("teddy* (Perfusion) slider %+v, want β from 0.01 to 1", teddy)
	}
	if mug == nil || mug.Min != 0.05 || mug.Max != 2 {
		t.Fatalf("mug* (LoRA) slider %+v, want a multiplier from 0.05 to 2", mug)
	}
	if m.gates.Slider("cat") != nil || m.gates.Slider("dog") != nil {
		t.Fatal("textual inversion and unknown concepts have no gate")
	}
	// One Perfusion concept among others keeps its single-concept β, as
	// the engine gives it (the window once counted every concept: 0.60).
	if got := m.gates.Gates(); !reflect.DeepEqual(got, []string{"teddy=0.70", "mug=1.00"}) {
		t.Fatalf("gates %v", got)
	}
	if m.gates.labels["teddy"].Text != "β 0.70" {
		t.Fatalf("value shown %q", m.gates.labels["teddy"].Text)
	}
	m.editor.SetText("a teddy* alone")
	if got := m.gates.Gates(); !reflect.DeepEqual(got, []string{"teddy=0.70"}) {
		t.Fatalf("single-concept gates %v", got)
	}
}

func TestMovingAGateAsksForAPreviewWithTheSameSeed(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts()}
	m, _, _ := newTestScreen(t, f, nil)
	m.gates.Debounce = 250 * time.Millisecond // the two taps below fall inside it even on a busy machine
	m.settings.seed.SetText("77")
	test.Type(m.prompt, "a teddy* on a blue background")
	s := m.gates.Slider("teddy")
	if s == nil {
		t.Fatal("no slider for teddy*")
	}
	// Click at a quarter of the slider's width.
	test.TapAt(s, fyne.NewPos(s.Size().Width/4, s.Size().Height/2))
	if s.Value == 0.70 {
		t.Fatalf("the tap did not move the slider (%v)", s.Value)
	}
	// Several moves in a row give one request, after the pause.
	test.TapAt(s, fyne.NewPos(s.Size().Width/5, s.Size().Height/2))
	want := fmt.Sprintf("teddy=%.2f", s.Value)
	wait(t, m.previewed, "the preview")
	time.Sleep(60 * time.Millisecond)
	drainMain()
	spec, n := f.lastSpec()
	if n != 1 {
		t.Errorf("%d requests for two quick moves, want 1 (debounced)", n)
	}
	if !spec.Preview || spec.N != 1 || spec.Seed != 77 || spec.Prompt != "a teddy* on a blue background" ||
		!reflect.DeepEqual(spec.Gates, []string{want}) || !reflect.DeepEqual(spec.Concepts, []string{"teddy"}) {
		t.Fatalf("preview request %+v, want the gate %s with seed 77", spec, want)
	}
	if m.gates.preview.Image == nil {
		t.Fatal("the preview is not shown")
	}
	if m.gates.labels["teddy"].Text != fmt.Sprintf("β %.2f", s.Value) {
		t.Fatalf("value shown %q for %v", m.gates.labels["teddy"].Text, s.Value)
	}

	// Global locking and reset ask again; reset restores the default.
	m.gates.global.SetChecked(true)
	wait(t, m.previewed, "the global-locking preview")
	if spec, n := f.lastSpec(); n != 2 || !spec.GlobalLocking {
		t.Fatalf("global-locking preview %+v (%d requests)", spec, n)
	}
	m.gates.Reset()
	wait(t, m.previewed, "the reset preview")
	spec, n = f.lastSpec()
	if n != 3 {
		t.Fatalf("%d requests", n)
	}
	if !reflect.DeepEqual(spec.Gates, []string{"teddy=0.70"}) || spec.GlobalLocking {
		t.Fatalf("after reset %+v", spec)
	}

	// The full generation carries the gates too.
	m.gates.Debounce = time.Hour // no more previews
	m.gates.Slider("teddy").SetValue(0.35)
	test.Tap(m.generate)
	wait(t, m.generated, "the generation")
	spec, _ = f.lastSpec()
	if !reflect.DeepEqual(spec.Gates, []string{"teddy=0.35"}) {
		t.Fatalf("generate request gates %v", spec.Gates)
	}
}

func TestDefaultGates(t *testing.T) {
	cases := []struct {
		c    ConceptInfo
		n    int
		want float64
	}{
		{ConceptInfo{Method: "perfusion"}, 1, 0.70},
		{ConceptInfo{Method: "perfusion", Gate: 0.75}, 1, 0.75},
		{ConceptInfo{Method: "perfusion", Gate: 0.75}, 2, 0.60},
		{ConceptInfo{Method: "lora"}, 2, 1},
		{ConceptInfo{Method: "lora", Gate: 0.8}, 1, 0.8},
	}
	for _, c := range cases {
		if got := defaultGate(c.c, c.n); got != c.want {
			t.Errorf("defaultGate(%+v, %d) = %v, want %v", c.c, c.n, got, c.want)
		}
	}
}

// TestGateSweep: a sweep of teddy* asks for five images with the same seed
// at β 0.4…0.8, keeping the other concept's gate, and shows the strip.
func TestGateSweep(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts()}
	m, _, _ := newTestScreen(t, f, nil)
	m.settings.seed.SetText("5")
	test.Type(m.prompt, "a teddy* on the left of a mug*")
	m.gates.Sweep("teddy")
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.specs)
		f.mu.Unlock()
		if n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sweep requests, want 5", n)
		}
		time.Sleep(10 * time.Millisecond)
		drainMain()
	}
	f.mu.Lock()
	specs := append([]GenerateSpec(nil), f.specs...)
	f.mu.Unlock()
	for i, want := range []string{"teddy=0.4", "teddy=0.5", "teddy=0.6", "teddy=0.7", "teddy=0.8"} {
		s := specs[len(specs)-5+i]
		if s.Seed != 5 || s.N != 1 || len(s.Gates) != 2 || s.Gates[0] != want || s.Gates[1] != "mug=1.00" {
			t.Fatalf("sweep request %d: %+v, want %s with mug=1.00 and seed 5", i, s, want)
		}
	}
	if got := SweepValues("lora"); !reflect.DeepEqual(got, []float64{0.25, 0.5, 1, 1.5, 2}) {
		t.Fatalf("LoRA sweep values %v", got)
	}
	if SweepValues("ti") != nil {
		t.Fatal("a textual inversion concept has no gate to sweep")
	}
}
