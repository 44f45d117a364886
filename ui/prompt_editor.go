package ui

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// PromptEditor is the multi-line prompt with its words coloured as they are
// typed: known pseudo-words (teddy*) in the theme's primary colour, unknown
// ones in the error colour, words the base model does not know underlined
// in the warning colour, with a hint line for each problem under it. Tab
// completes a concept name.
//
// Fyne's Entry cannot colour words, so the editor is an Entry whose text is
// transparent (a theme override) under a RichText that draws the same text
// in the same place, word-wrapped the same way. Both sit in one scroll
// container: the Entry is always as tall as its text, so it never scrolls
// by itself and the two stay aligned.
type PromptEditor struct {
	widget.BaseWidget

	// OnChanged is called with the new text after each edit.
	OnChanged func(text string)
	// OnSubmit is called on Ctrl+Enter (Cmd+Enter on macOS).
	OnSubmit func()
	// OnCancel is called on Escape.
	OnCancel func()
	// OnExport is called on Ctrl+E (Cmd+E on macOS): the entry keeps
	// shortcuts it has the focus for, so the window's own would not fire.
	OnExport func()

	entry   *promptEntry
	text    *widget.RichText // the coloured copy of the entry's text
	scroll  *container.Scroll
	hints   *widget.RichText
	suggest *fyne.Container
	body    fyne.CanvasObject

	lex      lexicon
	spans    []promptSpan
	hintText []string
}

// NewPromptEditor makes an empty editor that knows the given concept names
// and base-model vocabulary (nil: unknown, nothing is flagged).
func NewPromptEditor(concepts, vocab []string) *PromptEditor {
	ed := &PromptEditor{lex: newLexicon(concepts, vocab)}
	ed.ExtendBaseWidget(ed)

	ed.entry = &promptEntry{ed: ed}
	ed.entry.MultiLine = true
	ed.entry.Wrapping = fyne.TextWrapWord
	ed.entry.ExtendBaseWidget(ed.entry)
	ed.entry.SetMinRowsVisible(1)
	ed.entry.OnChanged = func(string) { ed.update() }
	ed.entry.OnCursorChanged = ed.cursorMoved

	ed.text = widget.NewRichText()
	ed.text.Wrapping = fyne.TextWrapWord

	stack := container.New(&editorLayout{ed: ed},
		container.NewThemeOverride(ed.entry, clearTextTheme{}),
		ed.text,
		&scrollCatcher{ed: ed})
	ed.scroll = container.NewVScroll(stack)
	lineH := fyne.MeasureText("Mg", theme.TextSize(), fyne.TextStyle{}).Height
	ed.scroll.SetMinSize(fyne.NewSize(200, 4*lineH+2*theme.InnerPadding()))

	ed.hints = widget.NewRichText()
	ed.hints.Wrapping = fyne.TextWrapWord
	ed.suggest = container.NewHBox()
	ed.body = container.NewBorder(nil, container.NewVBox(ed.suggest, ed.hints), nil, nil, ed.scroll)
	ed.update()
	return ed
}

// CreateRenderer implements fyne.Widget.
func (ed *PromptEditor) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(ed.body)
}

// Entry is the focusable text field (for focus and test.Type).
func (ed *PromptEditor) Entry() *widget.Entry { return &ed.entry.Entry }

// Focus puts the keyboard focus in the prompt.
func (ed *PromptEditor) Focus(c fyne.Canvas) { c.Focus(ed.entry) }

// Text is the prompt as typed.
func (ed *PromptEditor) Text() string { return ed.entry.Text }

// SetText replaces the prompt.
func (ed *PromptEditor) SetText(s string) { ed.entry.SetText(s) }

// SetPlaceHolder sets the text shown while the prompt is empty.
func (ed *PromptEditor) SetPlaceHolder(s string) { ed.entry.SetPlaceHolder(s) }

// SetLexicon changes the known concepts and vocabulary and re-checks the
// prompt.
func (ed *PromptEditor) SetLexicon(concepts, vocab []string) {
	ed.lex = newLexicon(concepts, vocab)
	ed.update()
}

// Concepts lists the pseudo-words of the prompt (known or not), in order.
func (ed *PromptEditor) Concepts() []string { return conceptsInPrompt(ed.spans) }

// KnownConcepts lists the prompt's pseudo-words that are in the library.
func (ed *PromptEditor) KnownConcepts() []string {
	var out []string
	for _, c := range ed.Concepts() {
		if ed.lex.concepts[c] {
			out = append(out, c)
		}
	}
	return out
}

// Hints are the problem lines shown under the prompt.
func (ed *PromptEditor) Hints() []string { return append([]string(nil), ed.hintText...) }

// Suggestions are the concept names offered for the word being typed.
func (ed *PromptEditor) Suggestions() []string {
	word, _ := wordBefore(ed.entry.Text, ed.entry.CursorTextOffset())
	return completions(word, ed.lex.conceptNames())
}

// Insert types s at the cursor, with a space before it when it would
// otherwise join the previous word.
func (ed *PromptEditor) Insert(s string) {
	rs := []rune(ed.entry.Text)
	pos := ed.entry.CursorTextOffset()
	if pos > 0 && pos <= len(rs) && !isSpace(rs[pos-1]) {
		s = " " + s
	}
	for _, r := range s {
		ed.entry.Entry.TypedRune(r)
	}
}

func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' }

// complete finishes the concept name before the cursor; it reports whether
// there was something to complete.
func (ed *PromptEditor) complete() bool {
	word, _ := wordBefore(ed.entry.Text, ed.entry.CursorTextOffset())
	cands := completions(word, ed.lex.conceptNames())
	if len(cands) == 0 {
		return false
	}
	add := commonPrefix(cands)[len(word):]
	if len(cands) == 1 {
		add += "*"
	}
	for _, r := range add {
		ed.entry.Entry.TypedRune(r)
	}
	return true
}

// completeWith replaces the word before the cursor by name*.
func (ed *PromptEditor) completeWith(name string) {
	word, _ := wordBefore(ed.entry.Text, ed.entry.CursorTextOffset())
	if !strings.HasPrefix(name, word) {
		return
	}
	for _, r := range name[len(word):] + "*" {
		ed.entry.Entry.TypedRune(r)
	}
	if c := fyne.CurrentApp().Driver().CanvasForObject(ed.entry); c != nil {
		c.Focus(ed.entry)
	}
}

// colourOf is the theme colour and underline of a span kind.
func colourOf(k spanKind) (fyne.ThemeColorName, bool) {
	switch k {
	case spanConcept:
		return theme.ColorNamePrimary, false
	case spanUnknownConcept:
		return theme.ColorNameError, false
	case spanUnknownWord:
		return theme.ColorNameWarning, true
	}
	return theme.ColorNameForeground, false
}

// update re-lexes the text and redraws the overlay, hints and suggestions.
func (ed *PromptEditor) update() {
	if ed.scroll == nil || ed.suggest == nil {
		return // still being built
	}
	text := ed.entry.Text
	ed.spans = lexPrompt(text, ed.lex)
	segs := make([]widget.RichTextSegment, 0, len(ed.spans))
	for _, s := range ed.spans {
		col, under := colourOf(s.Kind)
		st := widget.RichTextStyleInline
		st.ColorName = col
		st.TextStyle.Underline = under
		segs = append(segs, &widget.TextSegment{Text: s.Text, Style: st})
	}
	ed.text.Segments = segs
	ed.text.Refresh()

	ed.hintText = promptHints(ed.spans, ed.lex)
	hs := make([]widget.RichTextSegment, 0, len(ed.hintText))
	for _, h := range ed.hintText {
		st := widget.RichTextStyleParagraph
		st.SizeName = theme.SizeNameCaptionText
		st.ColorName = theme.ColorNameWarning
		if strings.HasPrefix(h, "unknown concept") {
			st.ColorName = theme.ColorNameError
		}
		hs = append(hs, &widget.TextSegment{Text: h, Style: st})
	}
	ed.hints.Segments = hs
	ed.hints.Hidden = len(hs) == 0
	ed.hints.Refresh()
	ed.updateSuggestions()
	ed.scroll.Refresh()
	if ed.OnChanged != nil {
		ed.OnChanged(text)
	}
}

func (ed *PromptEditor) updateSuggestions() {
	cands := ed.Suggestions()
	if len(cands) > 6 {
		cands = cands[:6]
	}
	objs := make([]fyne.CanvasObject, 0, len(cands)+1)
	if len(cands) > 0 {
		objs = append(objs, widget.NewLabelWithStyle("Tab:", fyne.TextAlignLeading, fyne.TextStyle{Italic: true}))
	}
	for _, c := range cands {
		b := widget.NewButton(c+"*", func() { ed.completeWith(c) })
		b.Importance = widget.LowImportance
		objs = append(objs, b)
	}
	ed.suggest.Objects = objs
	ed.suggest.Hidden = len(objs) == 0
	ed.suggest.Refresh()
}

// cursorMoved keeps the cursor's line in view and refreshes suggestions.
func (ed *PromptEditor) cursorMoved() {
	if ed.scroll == nil || ed.suggest == nil {
		return // still being built
	}
	ed.updateSuggestions()
	pos := ed.entry.CursorPosition()
	th := ed.entry.Theme()
	lineH := fyne.MeasureText("Mg", th.Size(theme.SizeNameText), fyne.TextStyle{}).Height
	top := pos.Y
	bottom := pos.Y + lineH + 2*th.Size(theme.SizeNameInnerPadding)
	off := ed.scroll.Offset
	view := ed.scroll.Size().Height
	switch {
	case view <= 0:
	case top < off.Y:
		ed.scroll.ScrollToOffset(fyne.NewPos(0, top))
	case bottom > off.Y+view:
		ed.scroll.ScrollToOffset(fyne.NewPos(0, bottom-view))
	}
}

// editorLayout stacks the entry and its coloured copy at the same place and
// size, as tall as the wrapped text.
type editorLayout struct {
	ed       *PromptEditor
	lastH    float32
	inLayout bool
}

func (l *editorLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
	// The wrapped height depends on the width just set: when it changed,
	// the scroll container has to lay its content out again.
	if h := l.MinSize(objs).Height; h != l.lastH {
		l.lastH = h
		if !l.inLayout {
			l.inLayout = true
			l.ed.scroll.Refresh()
			l.inLayout = false
		}
	}
}

func (l *editorLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	em := l.ed.entry.MinSize()
	tm := l.ed.text.MinSize()
	return fyne.NewSize(em.Width, max(em.Height, tm.Height))
}

// promptEntry is the Entry under the overlay; it adds Tab completion,
// Ctrl+Enter, Ctrl+E and Escape.
type promptEntry struct {
	widget.Entry
	ed *PromptEditor
}

// AcceptsTab keeps Tab for completion.
func (e *promptEntry) AcceptsTab() bool { return true }

// TypedKey implements fyne.Focusable.
func (e *promptEntry) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyTab:
		if !e.ed.complete() {
			if c := fyne.CurrentApp().Driver().CanvasForObject(e); c != nil {
				c.FocusNext()
			}
		}
		return
	case fyne.KeyEscape:
		if e.ed.OnCancel != nil {
			e.ed.OnCancel()
		}
		return
	}
	e.Entry.TypedKey(k)
}

// TypedShortcut implements fyne.Shortcutable.
func (e *promptEntry) TypedShortcut(s fyne.Shortcut) {
	if isGenerateShortcut(s) {
		if e.ed.OnSubmit != nil {
			e.ed.OnSubmit()
		}
		return
	}
	if isExportShortcut(s) {
		if e.ed.OnExport != nil {
			e.ed.OnExport()
		}
		return
	}
	e.Entry.TypedShortcut(s)
}

// isExportShortcut reports whether s is Ctrl+E (or Cmd+E).
func isExportShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	return ok && cs.KeyName == fyne.KeyE && (cs.Modifier == fyne.KeyModifierControl || cs.Modifier == fyne.KeyModifierSuper)
}

// isGenerateShortcut reports whether s is Ctrl+Enter (or Cmd+Enter).
func isGenerateShortcut(s fyne.Shortcut) bool {
	cs, ok := s.(*desktop.CustomShortcut)
	return ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		(cs.Modifier == fyne.KeyModifierControl || cs.Modifier == fyne.KeyModifierSuper)
}

// scrollCatcher lies on top of the editor and hands wheel events to the
// outer scroll container: the Entry's own scroller would swallow them.
type scrollCatcher struct {
	widget.BaseWidget
	ed *PromptEditor
}

func (s *scrollCatcher) CreateRenderer() fyne.WidgetRenderer {
	s.ExtendBaseWidget(s)
	return widget.NewSimpleRenderer(container.NewWithoutLayout())
}

// Scrolled implements fyne.Scrollable.
func (s *scrollCatcher) Scrolled(ev *fyne.ScrollEvent) { s.ed.scroll.Scrolled(ev) }

// clearTextTheme is the current theme with transparent text, for the Entry
// under the coloured overlay (cursor, selection and placeholder stay).
type clearTextTheme struct{}

func (clearTextTheme) current() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (t clearTextTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNameForeground {
		return color.Transparent
	}
	return t.current().Color(n, v)
}

func (t clearTextTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.current().Font(s) }
func (t clearTextTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.current().Icon(n) }
func (t clearTextTheme) Size(n fyne.ThemeSizeName) float32       { return t.current().Size(n) }
