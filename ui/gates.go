package ui

import (
	"fmt"
	"image"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// gateKind describes a method's generation-time knob.
type gateKind struct {
	min, max, step float64
	label          string // shown after the name
	help           string
	sweep          []float64
}

// gateOf returns the knob of a method (from the method registry); ok is
// false for methods without one. The slider starts one step above the
// gate's exclusive minimum.
func gateOf(method string) (gateKind, bool) {
	for _, m := range app.Methods() {
		if string(m.Name) == method && m.Gate != nil {
			g := m.Gate
			return gateKind{g.Min + g.Step, g.Max, g.Step, g.Label, g.Help, g.Sweep}, true
		}
	}
	return gateKind{}, false
}

// defaultGate is a concept's gate before the user moves it: its method's
// rule (app.DefaultGate) for the number of concepts of its method in the
// prompt, so the window and the command line agree.
func defaultGate(c ConceptInfo, sameMethod int) float64 {
	return app.DefaultGate(c.Method, c.Gate, sameMethod)
}

// GatePanel has one slider per concept of the prompt (Perfusion's gate β,
// a LoRA's multiplier), a global-locking switch and a reset. Moving any of
// them asks, after a short pause, for a quick preview with the same seed.
type GatePanel struct {
	widget.BaseWidget

	// OnPreview is called on the main goroutine, Debounce after the last
	// change, with the gates as "name=value".
	OnPreview func(gates []string, globalLocking bool)
	// OnSweep asks for the gate sweep of one concept: the same seed at
	// each of values, the other gates as they are (Sweep buttons).
	OnSweep  func(name string, values []float64, gates []string, globalLocking bool)
	Debounce time.Duration

	info     map[string]ConceptInfo
	names    []string           // known concepts of the prompt, in order
	values   map[string]float64 // values the user set, kept across prompt edits
	sliders  map[string]*widget.Slider
	labels   map[string]*widget.Label
	building bool

	rows    *fyne.Container
	global  *widget.Check
	reset   *widget.Button
	preview *canvas.Image
	caption *widget.Label
	hint    fyne.CanvasObject // shown while the prompt has no concept with a gate row
	body    fyne.CanvasObject

	mu    sync.Mutex
	timer *time.Timer
}

// NewGatePanel makes an empty panel.
func NewGatePanel() *GatePanel {
	g := &GatePanel{Debounce: 350 * time.Millisecond, info: map[string]ConceptInfo{}, values: map[string]float64{},
		sliders: map[string]*widget.Slider{}, labels: map[string]*widget.Label{}}
	g.ExtendBaseWidget(g)
	g.rows = container.New(layout.NewFormLayout()) // name | slider: the sliders line up
	g.global = widget.NewCheck("Global locking", func(bool) {
		if !g.building {
			g.schedulePreview()
		}
	})
	g.reset = widget.NewButtonWithIcon("Reset", theme.ContentUndoIcon(), g.Reset)
	g.reset.Importance = widget.LowImportance
	g.preview = canvas.NewImageFromImage(nil)
	g.preview.ScaleMode = canvas.ImageScalePixels
	g.preview.FillMode = canvas.ImageFillContain
	g.preview.SetMinSize(fyne.NewSquareSize(96))
	_, g.hint = newHint("A slider appears here for each concept* in the prompt.", false)
	g.caption = widget.NewLabel("")
	g.caption.TextStyle.Italic = true
	g.caption.SizeName = theme.SizeNameCaptionText
	g.preview.Hide()
	g.caption.Hide()
	head := container.NewHBox(widget.NewLabelWithStyle("Gates", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		g.global, g.reset)
	g.body = container.NewBorder(head, nil, nil,
		container.NewVBox(g.preview, g.caption), g.rows)
	g.rebuild()
	return g
}

// CreateRenderer implements fyne.Widget.
func (g *GatePanel) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(g.body) }

// SetConcepts tells the panel about the library's concepts.
func (g *GatePanel) SetConcepts(cs []ConceptInfo) {
	g.info = map[string]ConceptInfo{}
	for _, c := range cs {
		g.info[c.Name] = c
	}
	g.rebuild()
}

// SetPrompt shows sliders for these concepts of the prompt (unknown names
// are skipped).
func (g *GatePanel) SetPrompt(concepts []string) {
	var names []string
	for _, c := range concepts {
		if _, ok := g.info[c]; ok {
			names = append(names, c)
		}
	}
	if equalStrings(names, g.names) {
		return
	}
	g.names = names
	g.rebuild()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// value is a concept's current gate.
func (g *GatePanel) value(name string) float64 {
	if v, ok := g.values[name]; ok {
		return v
	}
	c := g.info[name]
	same := 0
	for _, n := range g.names {
		if g.info[n].Method == c.Method {
			same++
		}
	}
	return defaultGate(c, same)
}

// Gates returns "name=value" for each concept of the prompt with a gate.
func (g *GatePanel) Gates() []string {
	var out []string
	for _, n := range g.names {
		if _, ok := gateOf(g.info[n].Method); ok {
			out = append(out, n+"="+strconv.FormatFloat(g.value(n), 'f', 2, 64))
		}
	}
	return out
}

// GlobalLocking reports the global-locking switch.
func (g *GatePanel) GlobalLocking() bool { return g.global.Checked }

// Reset puts every gate back to its default and asks for a preview.
func (g *GatePanel) Reset() {
	g.values = map[string]float64{}
	g.building = true
	g.global.SetChecked(false)
	g.building = false
	g.rebuild()
	g.schedulePreview()
}

// SetValues sets gates from "name=value" strings (a restored image's
// settings) and the global-locking switch, without asking for a preview.
func (g *GatePanel) SetValues(gates []string, global bool) {
	for _, gv := range gates {
		name, v, ok := strings.Cut(gv, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if ok && err == nil {
			g.values[strings.TrimSuffix(strings.TrimSpace(name), "*")] = f
		}
	}
	g.building = true
	g.global.SetChecked(global)
	g.building = false
	g.rebuild()
}

// Slider returns the slider of a concept (nil when it has none).
func (g *GatePanel) Slider(name string) *widget.Slider { return g.sliders[name] }

// SetPreview shows the quick preview image with a caption.
func (g *GatePanel) SetPreview(img image.Image, caption string) {
	g.preview.Image = img
	g.preview.Hidden = img == nil
	g.preview.Refresh()
	g.caption.SetText(caption)
	g.caption.Hidden = caption == ""
	g.caption.Refresh()
	g.Refresh()
}

func (g *GatePanel) rebuild() {
	g.building = true
	defer func() { g.building = false }()
	g.sliders = map[string]*widget.Slider{}
	g.labels = map[string]*widget.Label{}
	var rows []fyne.CanvasObject
	for _, n := range g.names {
		c := g.info[n]
		name := widget.NewLabelWithStyle(n+"*", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		kind, ok := gateOf(c.Method)
		if !ok {
			note := widget.NewLabel(fmt.Sprintf("no gate (%s)", methodTitle(c.Method)))
			note.Importance = widget.LowImportance
			rows = append(rows, name, note)
			continue
		}
		s := widget.NewSlider(kind.min, kind.max)
		s.Step = kind.step
		s.SetValue(g.value(n))
		val := widget.NewLabel(formatGate(kind, s.Value))
		s.OnChanged = func(v float64) {
			val.SetText(formatGate(kind, v))
			if g.building {
				return
			}
			g.values[n] = v
			g.schedulePreview()
		}
		g.sliders[n], g.labels[n] = s, val
		sweep := widget.NewButtonWithIcon("Sweep", theme.GridIcon(), func() { g.Sweep(n) })
		sweep.Importance = widget.LowImportance
		rows = append(rows, name, container.NewBorder(nil, nil, nil, container.NewHBox(val, sweep), s))
	}
	if len(rows) == 0 {
		rows = append(rows, g.hint, layout.NewSpacer())
	}
	g.rows.Objects = rows
	g.rows.Refresh()
	g.global.Enable()
	if len(g.Gates()) == 0 {
		g.global.Disable()
	}
}

// SweepValues are the five gate values of a sweep over a gate's range.
func SweepValues(method string) []float64 {
	k, ok := gateOf(method)
	if !ok {
		return nil
	}
	if k.sweep != nil {
		return append([]float64(nil), k.sweep...)
	}
	out := make([]float64, 5)
	for i := range out {
		out[i] = k.min + (k.max-k.min)*float64(i)/4
	}
	return out
}

// Sweep asks (OnSweep) for the gate sweep of concept name.
func (g *GatePanel) Sweep(name string) {
	vals := SweepValues(g.info[name].Method)
	if g.OnSweep == nil || vals == nil {
		return
	}
	g.OnSweep(name, vals, g.Gates(), g.GlobalLocking())
}

func formatGate(k gateKind, v float64) string {
	return fmt.Sprintf("%s %.2f", k.label, v)
}

// schedulePreview (re)starts the debounce timer.
func (g *GatePanel) schedulePreview() {
	if g.OnPreview == nil {
		return
	}
	gates, global := g.Gates(), g.GlobalLocking()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
	}
	g.timer = time.AfterFunc(g.Debounce, func() {
		onMain(func() {
			if g.OnPreview != nil {
				g.OnPreview(gates, global)
			}
		})
	})
}

// Stop cancels a pending preview request.
func (g *GatePanel) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
	}
}

// methodTitle is a method's name as shown.
func methodTitle(m string) string {
	for _, info := range app.Methods() {
		if string(info.Name) == m {
			return info.Title
		}
	}
	if m == "" {
		return "unknown method"
	}
	return m
}
