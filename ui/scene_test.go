package ui

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"conceptstudio/app"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestSceneCanvasMovesAndResizesBoxes: dragging a box's body moves it,
// dragging its corner handle resizes it, each reporting one change when
// the drag ends; arrows move the selected box, Shift + arrows resize it,
// Delete removes it; boxes stay inside the picture.
func TestSceneCanvasMovesAndResizesBoxes(t *testing.T) {
	newTestApp(t)
	c := NewSceneCanvas()
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(320, 320))
	c.Resize(fyne.NewSize(320, 320))
	changes := 0
	c.OnChanged = func() { changes++ }
	if err := c.Add("cat", 0.3, 0.3); err != nil {
		t.Fatal(err)
	}
	if changes != 1 || c.Selected() != 0 {
		t.Fatalf("adding: %d changes, selected %d", changes, c.Selected())
	}
	b := c.Things()[0].Box
	if !near(b.X, 0.1) || !near(b.Y, 0.1) || !near(b.W, 0.4) || b.Name != "cat" {
		t.Fatalf("new box %+v, want 0.4 wide centred at 0.3,0.3", b)
	}
	// Move: drag the body by a quarter of the picture right and down.
	_, side := c.square()
	origin := fyne.CurrentApp().Driver().AbsolutePositionForObject(c)
	drag := func(p fyne.Position, dx, dy float32) { test.Drag(w.Canvas(), origin.Add(p), dx, dy) }
	drag(c.PointAt(0.3, 0.3), side/4, side/4)
	b = c.Things()[0].Box
	if !near(b.X, 0.35) || !near(b.Y, 0.35) || !near(b.W, 0.4) || changes != 2 {
		t.Fatalf("after the move %+v (%d changes), want x=y=0.35, same size, one more change", b, changes)
	}
	// Resize: drag the handle (bottom-right corner) by −0.1.
	corner := c.PointAt(b.X+b.W, b.Y+b.H).Subtract(fyne.NewPos(3, 3))
	drag(corner, -side/10, -side/10)
	b = c.Things()[0].Box
	if !near(b.X, 0.35) || math.Abs(b.W-0.3) > 1e-3 || math.Abs(b.H-0.3) > 1e-3 || changes != 3 {
		t.Fatalf("after the resize %+v (%d changes), want 0.3 wide at the same place", b, changes)
	}
	// A drag far outside keeps the box inside the picture.
	drag(c.PointAt(b.X+0.1, b.Y+0.1), side, side)
	if b = c.Things()[0].Box; !near(b.X+b.W, 1) || !near(b.Y+b.H, 1) || b.Validate() != nil {
		t.Fatalf("dragged past the edge: %+v (%v)", b, b.Validate())
	}
	// Keys.
	test.Tap(c) // selects what is under the middle (nothing) and focuses
	c.Select(0)
	before := c.Things()[0].Box
	c.TypedKey(&fyne.KeyEvent{Name: fyne.KeyLeft})
	c.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	b = c.Things()[0].Box
	if !near(b.X, before.X-sceneStep) || !near(b.Y, before.Y-sceneStep) {
		t.Fatalf("arrows: %+v from %+v", b, before)
	}
	c.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	c.TypedKey(&fyne.KeyEvent{Name: fyne.KeyLeft})
	c.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	if b2 := c.Things()[0].Box; !near(b2.W, b.W-sceneStep) || !near(b2.X, b.X) {
		t.Fatalf("Shift+Left: %+v from %+v", b2, b)
	}
	n := changes
	c.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
	if len(c.Things()) != 0 || changes != n+1 || c.Selected() != -1 {
		t.Fatalf("Delete left %v (%d changes)", c.Things(), changes-n)
	}
}

// Boxes may overlap: the later is on top and takes the click; a fifth
// thing or a thing twice is refused in plain words.
func TestSceneCanvasStacksAndRefuses(t *testing.T) {
	newTestApp(t)
	c := NewSceneCanvas()
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(200, 200))
	c.Resize(fyne.NewSize(200, 200))
	for i, word := range []string{"cat", "dog", "teddy*", "owl"} {
		if err := c.Add(word, 0.5, 0.5); err != nil {
			t.Fatalf("thing %d: %v", i, err)
		}
	}
	test.TapAt(c, c.PointAt(0.5, 0.5))
	if c.Selected() != 3 {
		t.Fatalf("a click on four stacked boxes selected %d, want the top one (3)", c.Selected())
	}
	c.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageDown})
	if c.Selected() != 2 || c.Things()[2].Words != "owl" || c.Things()[3].Words != "teddy*" {
		t.Fatalf("Page Down: selected %d, order %+v", c.Selected(), c.Things())
	}
	test.TapAt(c, c.PointAt(0.5, 0.5))
	if c.Things()[c.Selected()].Words != "teddy*" {
		t.Fatalf("after sending owl back, a click selected %q", c.Things()[c.Selected()].Words)
	}
	c.TypedKey(&fyne.KeyEvent{Name: fyne.KeyPageUp}) // already on top: nothing
	if c.Selected() != 3 {
		t.Fatalf("Page Up on the top box moved it to %d", c.Selected())
	}
	if err := c.Add("car", 0.5, 0.5); err == nil || !strings.Contains(err.Error(), "at most 4") {
		t.Errorf("a fifth thing: %v", err)
	}
	c.Remove(0)
	if err := c.Add("dog", 0.2, 0.2); err == nil || !strings.Contains(err.Error(), "already in the scene") {
		t.Errorf("dog twice: %v", err)
	}
}

// TestSceneAndPromptFollowEachOther: concepts dragged from the library
// onto the canvas write the prompt; editing "left" to "right" in the
// prompt moves the boxes; removing a thing from the prompt removes its
// box; generation and previews send the boxes as regions; a drop outside
// the canvas places nothing.
func TestSceneAndPromptFollowEachOther(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts(), vocab: []string{"a", "cat", "on", "the", "left", "of", "blue", "background"}}
	m, _, _ := newTestScreen(t, f, nil)
	origin := fyne.CurrentApp().Driver().AbsolutePositionForObject(m.scene)
	abs := func(x, y float64) *fyne.Position {
		p := origin.Add(m.scene.PointAt(x, y))
		return &p
	}
	m.placeConcept("teddy", abs(0.25, 0.5))
	wait(t, m.previewed, "the scene preview")
	m.placeConcept("mug", abs(0.75, 0.5))
	wait(t, m.previewed, "the scene preview")
	if got := m.editor.Text(); got != "a teddy* on the left of a mug*" {
		t.Fatalf("prompt %q", got)
	}
	// The boxes show the gates the panel holds (teddy is Perfusion).
	for _, g := range m.gates.Gates() {
		name, v, _ := strings.Cut(g, "=")
		if m.scene.gates[name] != v {
			t.Errorf("%s's box shows gate %q, the panel %q", name, m.scene.gates[name], v)
		}
	}
	spec, _ := f.lastSpec()
	if len(spec.Regions) != 2 || spec.Regions[0].Name != "teddy" || spec.Regions[1].Name != "mug" || !spec.Preview {
		t.Fatalf("the preview's regions %+v", spec.Regions)
	}
	m.placeConcept("teddy", &fyne.Position{X: -50, Y: -50})
	if len(m.scene.Things()) != 2 {
		t.Fatal("a drop outside the canvas placed something")
	}
	// The background select writes the prompt.
	m.sceneBg.SetSelected("blue")
	wait(t, m.previewed, "the scene preview")
	if got := m.editor.Text(); got != "a teddy* on the left of a mug*, on a blue background" {
		t.Fatalf("prompt with background %q", got)
	}
	m.scenePattern.SetSelected("striped")
	wait(t, m.previewed, "the scene preview")
	if got := m.editor.Text(); got != "a teddy* on the left of a mug*, on a striped blue background" {
		t.Fatalf("prompt with a pattern %q", got)
	}
	// Typing "right" for "left" moves the boxes.
	m.editor.SetText("a teddy* on the right of a mug*, on a striped blue background")
	things := m.scene.Things()
	if tx, _ := things[0].Box.Centre(); tx < 0.5 {
		t.Fatalf("teddy's box did not move right: %+v", things[0].Box)
	}
	if mx, _ := things[1].Box.Centre(); mx > 0.5 {
		t.Fatalf("mug's box did not move left: %+v", things[1].Box)
	}
	// Generate sends the boxes.
	test.Tap(m.generate)
	wait(t, m.generated, "the generation")
	spec, _ = f.lastSpec()
	if spec.Preview || !reflect.DeepEqual(spec.Regions, m.scene.Regions()) {
		t.Fatalf("generation regions %+v, want %+v", spec.Regions, m.scene.Regions())
	}
	// A thing taken out of the prompt loses its box; the background follows.
	m.editor.SetText("a teddy* on the left, on a dotted red background")
	if got := m.scene.Things(); len(got) != 1 || got[0].Words != "teddy*" || m.sceneBg.Selected != "red" || m.scenePattern.Selected != "dotted" {
		t.Fatalf("after removing mug*: %+v, background %q %q", got, m.scenePattern.Selected, m.sceneBg.Selected)
	}
	// A plain word the model knows can be placed; one it does not cannot.
	test.Type(m.sceneWord, "cat")
	m.sceneWord.OnSubmitted(m.sceneWord.Text)
	wait(t, m.previewed, "the scene preview")
	if got := m.scene.Things(); len(got) != 2 || got[1].Words != "cat" {
		t.Fatalf("placing cat: %+v", got)
	}
	test.Type(m.sceneWord, "zorblax")
	m.sceneWord.OnSubmitted(m.sceneWord.Text)
	if !strings.Contains(m.status.Text, `does not know "zorblax"`) || len(m.scene.Things()) != 2 {
		t.Fatalf("status %q after an unknown word", m.status.Text)
	}
}

// TestSceneRoundTripsThroughSettings: a scene of three things — canvas,
// then the prompt and regions an export stores, then the canvas of a
// window that restores them — is the same scene.
func TestSceneRoundTripsThroughSettings(t *testing.T) {
	f := &fakeBackend{concepts: testConcepts(), vocab: []string{"a", "cat", "next", "to"}}
	m, _, _ := newTestScreen(t, f, nil)
	for _, p := range []struct {
		words string
		x, y  float64
	}{{"teddy*", 0.2, 0.2}, {"mug*", 0.8, 0.2}, {"cat", 0.5, 0.8}} {
		if err := m.scene.Add(p.words, p.x, p.y); err != nil {
			t.Fatal(err)
		}
		wait(t, m.previewed, "the scene preview")
	}
	test.Tap(m.generate)
	wait(t, m.generated, "the generation")
	spec, _ := f.lastSpec()
	if !strings.Contains(m.sceneNote.Text, "3 things") {
		t.Errorf("note %q does not say the boxes carry the places", m.sceneNote.Text)
	}
	want := m.scene.Things()

	m2, _, _ := newTestScreen(t, &fakeBackend{concepts: testConcepts()}, nil)
	m2.restore(spec)
	if got := m2.scene.Things(); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored scene %+v, want %+v", got, want)
	}
	if m2.editor.Text() != spec.Prompt {
		t.Fatalf("restored prompt %q", m2.editor.Text())
	}
	// Through the app's PNG settings too: regions survive ReadSettings.
	regions, err := app.SceneThings(spec.Prompt, spec.Regions)
	if err != nil || !reflect.DeepEqual(regions, want) {
		t.Fatalf("app.SceneThings: %+v %v", regions, err)
	}
}
