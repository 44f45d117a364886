package ui

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// Default generation settings (the command line's defaults).
const (
	defaultSeed     = 1
	defaultSteps    = 25
	defaultGuidance = app.DefaultGuidance
	defaultLayout   = app.DefaultLayout
	defaultCount    = 4
	previewSteps    = 10
)

// SettingsPanel holds the generation settings: seed (locked, or a new one
// each time; the dice picks one now), steps, guidance, layout guidance and
// the number of images, with Generate (Ctrl+Enter) and Cancel (Esc).
type SettingsPanel struct {
	widget.BaseWidget

	// OnGenerate and OnCancel are called by the buttons and shortcuts.
	OnGenerate func()
	OnCancel   func()

	seed     *widget.Entry
	lock     *widget.Check
	dice     *widget.Button
	steps    *widget.Entry
	guidance *widget.Entry
	layout   *widget.Entry
	count    *widget.Select
	generate *widget.Button
	cancel   *widget.Button
	progress *widget.ProgressBar
	eta      *widget.Label
	body     fyne.CanvasObject

	rng *rand.Rand
}

// NewSettingsPanel makes the panel; rng rolls the seeds.
func NewSettingsPanel(rng *rand.Rand) *SettingsPanel {
	s := &SettingsPanel{rng: rng}
	s.ExtendBaseWidget(s)
	s.seed = widget.NewEntry()
	s.seed.SetText(strconv.Itoa(defaultSeed))
	s.lock = widget.NewCheck("Lock", nil)
	s.lock.SetChecked(true)
	s.dice = widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), s.Roll)
	s.steps = widget.NewEntry()
	s.steps.SetText(strconv.Itoa(defaultSteps))
	s.guidance = widget.NewEntry()
	s.guidance.SetText(strconv.FormatFloat(defaultGuidance, 'g', -1, 64))
	s.layout = widget.NewEntry()
	s.layout.SetText(strconv.FormatFloat(defaultLayout, 'g', -1, 64))
	s.count = widget.NewSelect([]string{"1", "2", "4", "8", "16"}, nil)
	s.count.SetSelected(strconv.Itoa(defaultCount))
	s.generate = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), func() {
		if s.OnGenerate != nil {
			s.OnGenerate()
		}
	})
	s.generate.Importance = widget.HighImportance
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		if s.OnCancel != nil {
			s.OnCancel()
		}
	})
	s.cancel.Disable()
	s.progress = widget.NewProgressBar()
	s.progress.Hide()
	s.eta = widget.NewLabel("")

	field := func(label string, o fyne.CanvasObject, width float32) fyne.CanvasObject {
		return container.NewHBox(widget.NewLabel(label),
			container.NewGridWrap(fyne.NewSize(width, o.MinSize().Height), o))
	}
	// Two rows, so that the window holds at 1024 pixels wide: the seed
	// and the sampler on the first, layout, count, progress and the
	// buttons on the second.
	row := container.NewHBox(
		field("Seed", s.seed, 76), s.lock, s.dice,
		field("Steps", s.steps, 52),
		field("Guidance", s.guidance, 52))
	run := container.NewBorder(nil, nil,
		container.NewHBox(field("Layout", s.layout, 44), field("Images", s.count, 72)),
		container.NewHBox(s.cancel, s.generate),
		container.NewBorder(nil, nil, nil, s.eta, container.NewVBox(layout.NewSpacer(), s.progress, layout.NewSpacer())))
	s.body = container.NewVBox(row, run)
	return s
}

// CreateRenderer implements fyne.Widget.
func (s *SettingsPanel) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(s.body) }

// Roll picks a new seed (the dice).
func (s *SettingsPanel) Roll() {
	s.seed.SetText(strconv.FormatInt(s.rng.Int64N(1<<31), 10))
}

// SeedLocked reports whether the seed stays the same between generations.
func (s *SettingsPanel) SeedLocked() bool { return s.lock.Checked }

// Spec reads the settings as they are (no new seed), for previews.
func (s *SettingsPanel) Spec() (GenerateSpec, error) {
	seed, err1 := parseSeed(s.seed.Text)
	steps, err2 := parseInt(s.steps.Text, "steps", 1, 1000)
	guid, err3 := parseFloat(s.guidance.Text, "guidance", 0, 50)
	n, err4 := parseInt(s.count.Selected, "the number of images", 1, 64)
	lay, err5 := parseFloat(s.layout.Text, "layout", 0, 20)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return GenerateSpec{}, err
	}
	return GenerateSpec{Seed: seed, Steps: steps, Guidance: guid, Layout: lay, N: n}, nil
}

// NextSpec is the spec for the next generation: with the seed unlocked, a
// new seed is rolled first (and shown).
func (s *SettingsPanel) NextSpec() (GenerateSpec, error) {
	if !s.SeedLocked() {
		if _, err := parseSeed(s.seed.Text); err == nil {
			s.Roll()
		}
	}
	return s.Spec()
}

// Apply shows the settings of a spec (from a dropped PNG), locking its seed.
func (s *SettingsPanel) Apply(spec GenerateSpec) {
	s.seed.SetText(strconv.FormatInt(spec.Seed, 10))
	s.lock.SetChecked(true)
	if spec.Steps > 0 {
		s.steps.SetText(strconv.Itoa(spec.Steps))
	}
	if spec.Guidance > 0 {
		s.guidance.SetText(strconv.FormatFloat(spec.Guidance, 'g', -1, 64))
	}
	s.layout.SetText(strconv.FormatFloat(spec.Layout, 'g', -1, 64))
	if spec.N > 0 {
		s.count.SetSelected(strconv.Itoa(spec.N))
	}
}

// SetBusy switches between Generate and Cancel.
func (s *SettingsPanel) SetBusy(busy bool) {
	if busy {
		s.generate.Disable()
		s.cancel.Enable()
		s.progress.SetValue(0)
		s.progress.Show()
		s.eta.SetText("")
		return
	}
	s.generate.Enable()
	s.cancel.Disable()
	s.progress.Hide()
	s.eta.SetText("")
}

// SetProgress shows a generation's progress.
func (s *SettingsPanel) SetProgress(p Progress) {
	s.progress.SetValue(p.Fraction())
	if eta := p.ETA(); eta > 0 {
		s.eta.SetText(formatETA(eta))
	} else {
		s.eta.SetText("")
	}
}

func formatETA(d time.Duration) string {
	if d < time.Second {
		return "<1 s left"
	}
	if d < time.Minute {
		return fmt.Sprintf("%d s left", int(d.Seconds()+0.5))
	}
	return fmt.Sprintf("%d min %02d s left", int(d.Minutes()), int(d.Seconds())%60)
}

func parseSeed(t string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil {
		return 0, errors.New("the seed must be a whole number")
	}
	return v, nil
}

func parseInt(t, what string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d", what, lo, hi)
	}
	return v, nil
}

func parseFloat(t, what string, lo, hi float64) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v < lo || v > hi || v != v {
		return 0, fmt.Errorf("%s must be a number from %g to %g", what, lo, hi)
	}
	return v, nil
}
