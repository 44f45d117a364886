package ui

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// luminance is the WCAG 2 relative luminance of an opaque colour.
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// contrast is the WCAG 2 contrast ratio of two opaque colours (1 to 21).
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastFormula(t *testing.T) {
	black, white := color.NRGBA{A: 0xff}, color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	if c := contrast(black, white); math.Abs(c-21) > 1e-9 {
		t.Fatalf("black on white %.3f, want 21", c)
	}
	// #767676 on white is the well-known AA threshold (4.54:1).
	if c := contrast(color.NRGBA{R: 0x76, G: 0x76, B: 0x76, A: 0xff}, white); math.Abs(c-4.54) > 0.01 {
		t.Fatalf("#767676 on white %.3f, want 4.54", c)
	}
}

// TestHintContrast: hint text is readable (WCAG AA, 4.5:1) against the
// window and the dialog background in both variants of Fyne's theme,
// where the disabled colour that low-importance labels use is not.
func TestHintContrast(t *testing.T) {
	th := theme.DefaultTheme()
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		name := map[fyne.ThemeVariant]string{theme.VariantLight: "light", theme.VariantDark: "dark"}[v]
		fg := th.Color(theme.ColorNameForeground, v)
		hint := hintColor(fg, th.Color(theme.ColorNameBackground, v))
		for _, bgName := range []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameOverlayBackground} {
			bg := th.Color(bgName, v)
			c := contrast(hint, bg)
			t.Logf("%s on %s: hint %v %.2f:1 (foreground %.2f, placeholder %.2f, disabled %.2f)", name, bgName,
				hint, c, contrast(fg, bg), contrast(th.Color(theme.ColorNamePlaceHolder, v), bg), contrast(th.Color(theme.ColorNameDisabled, v), bg))
			if c < 4.5 {
				t.Errorf("%s: hint text %v on %s %v has contrast %.2f:1, under 4.5:1", name, hint, bgName, bg, c)
			}
			if c >= contrast(fg, bg) {
				t.Errorf("%s: hint text is not quieter than the foreground on %s", name, bgName)
			}
		}
	}
}

// TestHintLabelDrawsInHintColour: a hint label's text is drawn in the hint
// colour, and a problem (DangerImportance) in the error colour.
func TestHintLabelDrawsInHintColour(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme())
	l, box := newHint("a hint", true)
	w := test.NewTempWindow(t, box)
	w.Resize(fyne.NewSize(200, 60))
	th, v := a.Settings().Theme(), a.Settings().ThemeVariant()
	textColour := func() color.Color { return drawnTextColour(w.Content(), l.Text) }
	want := hintColor(th.Color(theme.ColorNameForeground, v), th.Color(theme.ColorNameBackground, v))
	if got := textColour(); got != want {
		t.Fatalf("hint drawn in %v, want %v", got, want)
	}
	l.Importance = widget.DangerImportance
	l.SetText("a problem")
	if got, want := textColour(), th.Color(theme.ColorNameError, v); got != want {
		t.Fatalf("problem drawn in %v, want %v", got, want)
	}
}

// drawnTextColour is the colour of the canvas.Text reading text under
// root, through the renderers the window uses (test.LaidOutObjects would
// make new ones, outside any theme override); nil if there is none.
func drawnTextColour(root fyne.CanvasObject, text string) color.Color {
	var got color.Color
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *canvas.Text:
			if v.Text == text {
				got = v.Color
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(root)
	return got
}

// TestFormHintIsReadable: a form item's hint text (drawn in the
// placeholder colour, 3.5:1 on Fyne's light theme) keeps 4.5:1 on the
// dialog background inside withReadablePlaceholders, in both variants.
func TestFormHintIsReadable(t *testing.T) {
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		a := test.NewTempApp(t)
		a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), v})
		const hint = "lower-case letters and digits"
		e := widget.NewEntry()
		e.PlaceHolder = "teddy"
		form := widget.NewForm(widget.NewFormItem("Name", e))
		form.Items[0].HintText = hint
		w := test.NewTempWindow(t, withReadableHints(form))
		w.Resize(fyne.NewSize(400, 120))
		got := drawnTextColour(w.Content(), hint)
		if got == nil {
			t.Fatal("the hint text is not drawn")
		}
		th := theme.DefaultTheme()
		bg := th.Color(theme.ColorNameOverlayBackground, v)
		if c := contrast(got, bg); c < 4.5 {
			t.Errorf("variant %v: hint %v on %v has contrast %.2f:1 (placeholder colour: %.2f:1)", v, got, bg, c, contrast(th.Color(theme.ColorNamePlaceHolder, v), bg))
		}
		// The entry's placeholder keeps the theme's colour, so that it
		// does not read as a value.
		if got, want := drawnTextColour(w.Content(), "teddy"), th.Color(theme.ColorNamePlaceHolder, v); got != want {
			t.Errorf("variant %v: placeholder drawn in %v, want the theme's %v", v, got, want)
		}
	}
}

// variantTheme forces a variant of a theme.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}
