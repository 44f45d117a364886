package ui

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"conceptstudio/app"
)

func TestCtrlEnterGeneratesAndEscCancels(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts(), genBlock: true}
	m, _, _ := newTestScreen(t, f, nil)
	test.Type(m.prompt, "a teddy* on a blue background")

	// Ctrl+Enter with the focus elsewhere (the canvas shortcut).
	m.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	eventually(t, "the request", func() bool { _, n := f.lastSpec(); return n == 1 })
	spec, _ := f.lastSpec()
	if spec.Prompt != "a teddy* on a blue background" || spec.Seed != 1 || spec.N != 4 || spec.Steps != 25 || spec.Guidance != app.DefaultGuidance {
		t.Fatalf("request %+v", spec)
	}
	if !m.generate.Disabled() || m.settings.cancel.Disabled() {
		t.Fatal("while generating, Generate is off and Cancel on")
	}
	// Esc with the focus elsewhere cancels the context.
	m.typedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	wait(t, m.generated, "the cancelled generation")
	if !errors.Is(f.genCtxs[0], context.Canceled) {
		t.Fatalf("context ended with %v", f.genCtxs[0])
	}
	if m.status.Text != "Cancelled." {
		t.Fatalf("status %q", m.status.Text)
	}
	if m.generate.Disabled() {
		t.Fatal("Generate stays off after the cancel")
	}

	// The same from the prompt itself (the focused entry gets the keys).
	m.editor.entry.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierControl})
	eventually(t, "the second request", func() bool { _, n := f.lastSpec(); return n == 2 })
	m.editor.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	wait(t, m.generated, "the second cancelled generation")
	if len(f.genCtxs) != 2 || m.status.Text != "Cancelled." {
		t.Fatalf("status %q after %d cancels", m.status.Text, len(f.genCtxs))
	}
	if strings.Contains(m.editor.Text(), "\n") {
		t.Fatal("Ctrl+Enter typed a new line into the prompt")
	}
}

func TestSeedLockAndDice(t *testing.T) {
	newTestApp(t)
	s := NewSettingsPanel(rand.New(rand.NewPCG(1, 2)))
	test.NewTempWindow(t, s)
	a, _ := s.NextSpec()
	b, _ := s.NextSpec()
	if a.Seed != 1 || b.Seed != 1 {
		t.Fatalf("locked seed changed: %d %d", a.Seed, b.Seed)
	}
	test.Tap(s.dice)
	c, _ := s.Spec()
	if c.Seed == 1 {
		t.Fatal("the dice kept the seed")
	}
	s.lock.SetChecked(false)
	d, _ := s.NextSpec()
	e, _ := s.NextSpec()
	if d.Seed == c.Seed || d.Seed == e.Seed {
		t.Fatalf("unlocked seeds %d %d %d: want a new one each time", c.Seed, d.Seed, e.Seed)
	}
	if s.seed.Text == "" || s.seed.Text != strings.TrimSpace(s.seed.Text) {
		t.Fatal("the seed used is not shown")
	}
	s.steps.SetText("0")
	if _, err := s.Spec(); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Fatalf("steps 0: %v", err)
	}
	s.steps.SetText("30")
	s.count.SetSelected("8")
	s.guidance.SetText("7.5")
	g, err := s.Spec()
	if err != nil || g.Steps != 30 || g.N != 8 || g.Guidance != 7.5 {
		t.Fatalf("spec %+v %v", g, err)
	}
}
