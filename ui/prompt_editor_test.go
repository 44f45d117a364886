package ui

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

var testVocab = []string{"a", "on", "the", "left", "of", "blue", "background", "in", "sailing", "teapot", "teddy", "bear"}

// newTestApp is a test app with Fyne's default theme: the test theme has
// no font for underlined text.
func newTestApp(t *testing.T) fyne.App {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme())
	return a
}

func newTestEditor(t *testing.T) (*PromptEditor, fyne.Window) {
	t.Helper()
	newTestApp(t)
	ed := NewPromptEditor([]string{"teddy", "teapot"}, testVocab)
	w := test.NewTempWindow(t, ed)
	w.Resize(fyne.NewSize(520, 260))
	return ed, w
}

func TestLexPrompt(t *testing.T) {
	lex := newLexicon([]string{"teddy"}, testVocab)
	got := lexPrompt("a teddy* on foo* zebraa, Blue 3", lex)
	type s struct {
		text string
		kind spanKind
	}
	want := []s{{"a ", spanPlain}, {"teddy*", spanConcept}, {" on ", spanPlain}, {"foo*", spanUnknownConcept},
		{" ", spanPlain}, {"zebraa", spanUnknownWord}, {", Blue 3", spanPlain}}
	var have []s
	for _, sp := range got {
		have = append(have, s{sp.Text, sp.Kind})
	}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("spans\n got %v\nwant %v", have, want)
	}
	if c := conceptsInPrompt(got); !reflect.DeepEqual(c, []string{"teddy", "foo"}) {
		t.Fatalf("concepts %v", c)
	}
	// Without a vocabulary no word is flagged.
	for _, sp := range lexPrompt("zebraa", newLexicon(nil, nil)) {
		if sp.Kind != spanPlain {
			t.Fatalf("flagged %q without a vocabulary", sp.Text)
		}
	}
}

func TestPromptEditorColoursAndHints(t *testing.T) {
	ed, _ := newTestEditor(t)
	test.Type(ed.Entry(), "a teddy* on foo* in the zebraa")

	want := map[string]struct {
		col   fyne.ThemeColorName
		under bool
	}{
		"teddy*": {theme.ColorNamePrimary, false},
		"foo*":   {theme.ColorNameError, false},
		"zebraa": {theme.ColorNameWarning, true},
		"a ":     {theme.ColorNameForeground, false},
	}
	var joined strings.Builder
	for _, seg := range ed.text.Segments {
		ts := seg.(*widget.TextSegment)
		joined.WriteString(ts.Text)
		if !ts.Style.Inline {
			t.Errorf("segment %q is not inline: it would start a new paragraph", ts.Text)
		}
		if w, ok := want[ts.Text]; ok {
			if ts.Style.ColorName != w.col || ts.Style.TextStyle.Underline != w.under {
				t.Errorf("%q: colour %q underline %v, want %q %v", ts.Text, ts.Style.ColorName, ts.Style.TextStyle.Underline, w.col, w.under)
			}
			delete(want, ts.Text)
		}
	}
	if len(want) != 0 {
		t.Errorf("segments missing: %v", want)
	}
	if joined.String() != ed.Text() {
		t.Errorf("overlay text %q, entry text %q", joined.String(), ed.Text())
	}
	hints := ed.Hints()
	if len(hints) != 2 || !strings.HasPrefix(hints[0], "unknown concept: foo* — train it or import it") ||
		!strings.HasPrefix(hints[1], "unknown word: zebraa") {
		t.Fatalf("hints %q", hints)
	}
	if got := ed.KnownConcepts(); !reflect.DeepEqual(got, []string{"teddy"}) {
		t.Fatalf("known concepts %v", got)
	}
	// The hint area shows the same lines.
	var shown []string
	for _, seg := range ed.hints.Segments {
		shown = append(shown, seg.(*widget.TextSegment).Text)
	}
	if !reflect.DeepEqual(shown, hints) {
		t.Fatalf("shown hints %q", shown)
	}
	// Fixing the typo clears its hint.
	ed.SetText("a teddy* on teapot* in the background")
	if h := ed.Hints(); len(h) != 0 {
		t.Fatalf("hints left: %q", h)
	}
}

func TestPromptEditorHintSuggestsNearConcept(t *testing.T) {
	ed, _ := newTestEditor(t)
	ed.SetText("a tedy* on the left")
	if h := ed.Hints(); len(h) != 1 || !strings.Contains(h[0], "did you mean teddy*?") {
		t.Fatalf("hints %q", h)
	}
}

// textObjects returns the overlay's drawn texts with their positions in
// the editor's stack (the overlay sits at 0,0 of it).
func textObjects(t *testing.T, ed *PromptEditor) []*canvas.Text {
	t.Helper()
	var out []*canvas.Text
	for _, o := range test.WidgetRenderer(ed.text).Objects() {
		if txt, ok := o.(*canvas.Text); ok && txt.Text != "" {
			out = append(out, txt)
		}
	}
	return out
}

// cursorAt moves the entry's cursor to rune offset n and returns where the
// entry draws it, in the same coordinates as the overlay's texts.
func cursorAt(ed *PromptEditor, n int) fyne.Position {
	e := ed.entry
	e.CursorRow, e.CursorColumn = 0, 0
	e.Refresh()
	for range n {
		e.Entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyRight})
	}
	p := e.CursorPosition()
	th := e.Theme()
	border := th.Size(theme.SizeNameInputBorder)
	// CursorPosition is relative to the entry's content, which sits one
	// border below the entry's top, and centres the 1-border-wide caret
	// on the glyph boundary.
	return fyne.NewPos(p.X+border/2, p.Y+border)
}

func TestPromptOverlayAlignsWithEntry(t *testing.T) {
	ed, _ := newTestEditor(t)
	for _, prompt := range []string{
		"a teddy* on foo* in the zebraa",
		"a teddy* sailing in a teapot* on a blue background, on the left of a bear, in the blue background of the zebraa sailing",
		"a teddy*\non the left of foo*\nin a blue background",
	} {
		ed.SetText(prompt)
		e := ed.entry
		if got, want := ed.text.Size(), e.Size(); got != want {
			t.Fatalf("overlay size %v, entry size %v", got, want)
		}
		texts := textObjects(t, ed)
		// Each drawn text starts where the entry puts its cursor before
		// that text's first rune.
		off := 0
		rs := []rune(prompt)
		rows := map[float32]bool{}
		for _, txt := range texts {
			// find txt in the prompt from off
			idx := strings.Index(string(rs[off:]), txt.Text)
			if idx < 0 {
				t.Fatalf("drawn text %q not found in %q after %d", txt.Text, prompt, off)
			}
			off += len([]rune(string(rs[off:])[:idx]))
			c := cursorAt(ed, off)
			p := txt.Position()
			if math.Abs(float64(p.X-c.X)) > 1 || math.Abs(float64(p.Y-c.Y)) > 1 {
				t.Errorf("%q: overlay text %q at %v, entry cursor at %v", prompt, txt.Text, p, c)
			}
			rows[p.Y] = true
			off += len([]rune(txt.Text))
		}
		if strings.Count(prompt, "\n") > 0 && len(rows) < 3 {
			t.Errorf("%q drawn on %d rows", prompt, len(rows))
		}
		if len(prompt) > 100 && len(rows) < 2 {
			t.Errorf("long prompt not wrapped: %d rows", len(rows))
		}
	}
}

func TestPromptEditorGrowsAndScrolls(t *testing.T) {
	ed, _ := newTestEditor(t)
	ed.SetText(strings.Repeat("a teddy* on the left of a teapot*\n", 20))
	lineH := fyne.MeasureText("Mg", theme.TextSize(), fyne.TextStyle{}).Height
	if h := ed.entry.Size().Height; h < 12*lineH {
		t.Fatalf("entry height %v is less than 12 lines of %v", h, lineH)
	}
	if ed.scroll.Content.Size().Height <= ed.scroll.Size().Height {
		t.Fatalf("content %v fits the %v view: nothing to scroll", ed.scroll.Content.Size(), ed.scroll.Size())
	}
	// Typing at the end keeps the cursor in view.
	for range 21 {
		ed.entry.Entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	}
	test.Type(ed.Entry(), "x")
	if ed.scroll.Offset.Y <= 0 {
		t.Fatalf("the view did not follow the cursor to the end (offset %v)", ed.scroll.Offset)
	}
	// The mouse wheel over the text scrolls the view.
	ed.scroll.ScrollToOffset(fyne.NewPos(0, 0))
	catcher := ed.scroll.Content.(*fyne.Container).Objects[2].(*scrollCatcher)
	catcher.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, -40)})
	if ed.scroll.Offset.Y != 40 {
		t.Fatalf("wheel: offset %v", ed.scroll.Offset)
	}
}

func TestPromptEditorTabCompletes(t *testing.T) {
	ed, _ := newTestEditor(t)
	ed.SetLexicon([]string{"teddy", "teapot", "dog"}, testVocab)
	test.Type(ed.Entry(), "a te")
	if s := ed.Suggestions(); !reflect.DeepEqual(s, []string{"teapot", "teddy"}) {
		t.Fatalf("suggestions %v", s)
	}
	ed.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyTab}) // ambiguous: stays "te"
	test.Type(ed.Entry(), "d")
	ed.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyTab})
	if ed.Text() != "a teddy*" {
		t.Fatalf("after Tab: %q", ed.Text())
	}
	test.Type(ed.Entry(), " and a d")
	ed.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyTab})
	if ed.Text() != "a teddy* and a dog*" {
		t.Fatalf("after Tab: %q", ed.Text())
	}
	// A suggestion button completes too.
	test.Type(ed.Entry(), " te")
	var btn *widget.Button
	for _, o := range ed.suggest.Objects {
		if b, ok := o.(*widget.Button); ok && b.Text == "teapot*" {
			btn = b
		}
	}
	if btn == nil {
		t.Fatal("no teapot* suggestion button")
	}
	test.Tap(btn)
	if ed.Text() != "a teddy* and a dog* teapot*" {
		t.Fatalf("after tapping the suggestion: %q", ed.Text())
	}
}

func TestPromptEditorShortcuts(t *testing.T) {
	ed, _ := newTestEditor(t)
	var submitted, cancelled int
	ed.OnSubmit = func() { submitted++ }
	ed.OnCancel = func() { cancelled++ }
	ed.entry.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl})
	ed.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if submitted != 1 || cancelled != 1 {
		t.Fatalf("submitted %d cancelled %d", submitted, cancelled)
	}
	if ed.Text() != "" {
		t.Fatalf("the shortcuts typed %q", ed.Text())
	}
}
