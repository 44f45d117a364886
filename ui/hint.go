package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Hints and empty-state notes ("A slider appears here for each concept*…")
// are quieter than ordinary text but must stay readable. A low-importance
// label draws in the theme's disabled colour, which in Fyne's light theme
// is #e3e3e3 on white (1.3:1), and the placeholder colour is no better than
// 3.5:1 there. A hint instead draws in the foreground colour blended a
// little towards the background, which keeps WCAG AA (4.5:1) on both the
// light and the dark variant (hint_test.go checks it).

// hintEmphasis is how much of the foreground colour a hint keeps; the rest
// is the background. 0.85 gives 5.0:1 on Fyne's light theme and 11.2:1
// (dialogs) to 11.9:1 on its dark one; 0.8 would fall under 4.5:1 on the
// light theme.
const hintEmphasis = 0.85

// hintColor is the colour of hint text for a foreground and background.
func hintColor(fg, bg color.Color) color.Color {
	f := color.NRGBAModel.Convert(fg).(color.NRGBA)
	b := color.NRGBAModel.Convert(bg).(color.NRGBA)
	mix := func(x, y uint8) uint8 { return uint8(hintEmphasis*float64(x) + (1-hintEmphasis)*float64(y) + 0.5) }
	return color.NRGBA{R: mix(f.R, b.R), G: mix(f.G, b.G), B: mix(f.B, b.B), A: 0xff}
}

// hintTheme is the current theme with the disabled colour, which
// low-importance labels use, replaced by the hint colour. It only wraps
// hint labels, never controls that can be disabled.
type hintTheme struct{}

func (hintTheme) current() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }

func (t hintTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	th := t.current()
	if n == theme.ColorNameDisabled {
		return hintColor(th.Color(theme.ColorNameForeground, v), th.Color(theme.ColorNameBackground, v))
	}
	return th.Color(n, v)
}

func (t hintTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.current().Font(s) }
func (t hintTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.current().Icon(n) }
func (t hintTheme) Size(n fyne.ThemeSizeName) float32       { return t.current().Size(n) }

// readablePlaceholders is the current theme with the placeholder colour,
// which entries' placeholders and form items' hint texts use (3.5:1 on
// Fyne's light theme), replaced by the hint colour. Disabled controls keep
// their colour.
type readablePlaceholders struct{ hintTheme }

func (t readablePlaceholders) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	th := t.current()
	if n == theme.ColorNamePlaceHolder {
		return hintColor(th.Color(theme.ColorNameForeground, v), th.Color(theme.ColorNameBackground, v))
	}
	return th.Color(n, v)
}

// withReadableHints wraps a form so that its items' hint texts keep WCAG
// AA contrast. The fields inside keep the app's theme: darker placeholders
// would read as values already typed in (the new-concept sheet's "teddy
// bear" example did), and the hint under each field says what to type.
func withReadableHints(form *widget.Form) *container.ThemeOverride {
	for _, it := range form.Items {
		it.Widget = container.NewThemeOverride(it.Widget, appTheme{})
	}
	return container.NewThemeOverride(form, readablePlaceholders{})
}

// appTheme is the app's current theme, unchanged: it undoes an outer
// override.
type appTheme struct{ hintTheme }

func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return t.current().Color(n, v)
}

// newHint is a hint label, word-wrapped when wrap is set, and the object to
// put in the layout (hide that one, not the label, so that the space goes
// too). The label may be switched to another importance (DangerImportance
// for a problem) and back to widget.LowImportance; set its other fields
// here, before the override renders it, or Refresh it after.
func newHint(text string, wrap bool) (*widget.Label, *container.ThemeOverride) {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	if wrap {
		l.Wrapping = fyne.TextWrapWord
	}
	return l, container.NewThemeOverride(l, hintTheme{})
}
