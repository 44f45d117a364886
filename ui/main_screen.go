package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// NewMainScreen builds the window's content over the real app: the concept
// library on the left; prompt, settings, gates and gallery in the middle;
// the training queue on the right.
func NewMainScreen(w fyne.Window, a *app.App) fyne.CanvasObject {
	return buildScreen(w, newAppBackend(a), newNativeSaver(w), w.SetOnDropped).root
}

// mainScreen holds the panels (and the widgets tests reach into).
type mainScreen struct {
	win     fyne.Window
	backend Backend
	saver   Saver

	lastSweep []fyne.CanvasObject // the latest gate sweep strip (tests)

	libPanel *LibraryPanel
	library  *widget.List
	editor   *PromptEditor
	prompt   *widget.Entry
	settings *SettingsPanel
	generate *widget.Button
	gates    *GatePanel
	gallery  *Gallery
	training *TrainingQueue
	status   *widget.Label
	root     fyne.CanvasObject

	scene        *SceneCanvas
	sceneBg      *widget.Select
	scenePattern *widget.Select
	sceneWord    *widget.Entry
	sceneNote    *widget.Label
	syncing      bool             // the canvas is writing the prompt, or the prompt the canvas
	sheet        *NewConceptSheet // the last new-concept sheet opened

	vocab  []string
	closed bool

	cancelGen     context.CancelFunc // the running generation; nil when none
	cancelPreview context.CancelFunc
	previewSeq    int

	// afterGenerate, afterPreview and afterOutdated, when set, run on the
	// main goroutine once a generation, a preview or the outdated-concept
	// check has been shown (tests wait on them).
	afterGenerate, afterPreview, afterOutdated func()
}

func buildMainScreen(w fyne.Window, s Studio) *mainScreen {
	return buildMainScreenWithDrop(w, s, w.SetOnDropped)
}

// buildMainScreenWithDrop is buildMainScreen with the drop hook injected:
// Fyne's test windows ignore SetOnDropped, so tests catch the handler.
func buildMainScreenWithDrop(w fyne.Window, s Studio, onDropped func(func(fyne.Position, []fyne.URI))) *mainScreen {
	return buildScreen(w, asBackend(s), newNativeSaver(w), onDropped)
}

// buildScreen wires the panels together.
func buildScreen(w fyne.Window, b Backend, saver Saver, onDropped func(func(fyne.Position, []fyne.URI))) *mainScreen {
	m := &mainScreen{win: w, backend: b}
	m.status = widget.NewLabel(readyHelp)
	m.status.Truncation = fyne.TextTruncateEllipsis
	if words, err := b.VocabularyWords(); err == nil {
		m.vocab = words
	}

	m.editor = NewPromptEditor(nil, m.vocab)
	m.editor.SetPlaceHolder(examplePrompt)
	m.prompt = m.editor.Entry()
	sceneSquare, sceneControls := m.buildScenePanel()
	m.settings = NewSettingsPanel(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)))
	m.generate = m.settings.generate
	m.gates = NewGatePanel()
	m.saver = saver
	m.gallery = NewGallery(w, saver)
	m.training = NewTrainingQueue(b)
	m.libPanel = NewLibraryPanel(w, b, saver)
	m.library = m.libPanel.list

	m.editor.OnChanged = func(text string) {
		m.gates.SetPrompt(m.editor.KnownConcepts())
		m.scene.SetGates(m.gates.Gates())
		m.promptEdited(text)
	}
	m.editor.OnSubmit = m.generateNow
	m.editor.OnCancel = m.cancelNow
	m.editor.OnExport = m.exportNow
	m.settings.OnGenerate = m.generateNow
	m.settings.OnCancel = m.cancelNow
	m.gates.OnPreview = m.preview
	m.gates.OnSweep = m.sweep
	m.gallery.OnStatus = m.setStatus
	m.libPanel.OnStatus = m.setStatus
	m.libPanel.OnUse = func(name string) { m.editor.Insert(name + "*") }
	m.libPanel.OnPlace = m.placeConcept
	m.libPanel.OnChanged = m.conceptsChanged
	m.libPanel.OnRetrain = m.retrainAll
	m.conceptsChanged(m.libPanel.Concepts())
	m.training.OnFinished = m.trainingFinished
	m.training.OnNew = m.NewConcept

	promptBox := container.NewBorder(
		widget.NewLabelWithStyle("Prompt", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil,
		container.New(&besideSquare{}, container.NewBorder(nil, sceneControls, nil, nil, m.editor), sceneSquare))
	// The middle column keeps the theme's padding from the split dividers
	// on both sides: the prompt box, the buttons and the gallery images
	// would otherwise touch them.
	pad := theme.Padding()
	work := container.New(layout.NewCustomPaddedLayout(0, 0, pad, pad),
		container.NewBorder(container.NewVBox(promptBox, m.settings, widget.NewSeparator(), m.gates, widget.NewSeparator()),
			nil, nil, nil, m.gallery))
	right := container.NewHSplit(work, m.training)
	right.Offset = 0.76
	split := container.NewHSplit(m.libPanel, right)
	split.Offset = 0.22
	m.root = container.NewBorder(nil, container.NewVBox(widget.NewSeparator(), m.status), nil, nil, split)

	c := w.Canvas()
	for _, k := range []fyne.KeyName{fyne.KeyReturn, fyne.KeyEnter} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}, m.shortcut)
	}
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { m.exportNow() })
	c.SetOnTypedKey(m.typedKey)
	w.SetCloseIntercept(m.confirmClose)
	w.SetOnClosed(m.shutdown)
	onDropped(m.onDrop)
	m.checkOutdated()
	return m
}

// checkOutdated asks, in the background, which concepts were made for
// another base model, and offers to retrain them.
func (m *mainScreen) checkOutdated() {
	go func() {
		list, err := m.backend.OutdatedConcepts()
		onMain(func() {
			if m.closed {
				return
			}
			if err == nil {
				m.libPanel.SetOutdated(list)
			}
			if m.afterOutdated != nil {
				m.afterOutdated()
			}
		})
	}()
}

// retrainAll puts every outdated concept with training images in the
// training queue, to be learnt again on the base model in use.
func (m *mainScreen) retrainAll(list []OutdatedConcept) {
	var queued, bare []string
	for _, c := range list {
		if len(c.Images) == 0 {
			bare = append(bare, c.Name+"*")
			continue
		}
		m.training.Enqueue(TrainSpec{Name: c.Name, Class: c.Class, Method: c.Method, Images: c.Images})
		queued = append(queued, c.Name+"*")
	}
	msg := ""
	if len(queued) > 0 {
		msg = fmt.Sprintf("Retraining %s on this base model (see the training queue).", strings.Join(queued, ", "))
	}
	if len(bare) > 0 {
		msg += fmt.Sprintf(" %s kept no training images (imported files): train them again from your images, or delete them.", strings.Join(bare, ", "))
	}
	m.setStatus(strings.TrimSpace(msg))
}

// examplePrompt is the prompt a first start shows (with the example
// concepts in the library) and the placeholder of an empty prompt.
const examplePrompt = "a teddy* on the left of a teapot*, on a blue background"

// readyHelp is the status line at start: it names the keyboard shortcuts.
const readyHelp = "Ready. Ctrl+Enter generates, Esc cancels, Ctrl+E exports the selected images (or all)."

func (m *mainScreen) setStatus(s string) { m.status.SetText(s) }

// exportNow exports the selected results, or all when none is selected
// (Ctrl+E).
func (m *mainScreen) exportNow() {
	shots := m.gallery.Selected()
	if len(shots) == 0 {
		shots = m.gallery.Shots()
	}
	if len(shots) == 0 {
		m.setStatus("Nothing to export yet: generate some images first.")
		return
	}
	m.gallery.Export(shots)
}

// conceptsChanged passes a new library listing to the prompt and gates.
func (m *mainScreen) conceptsChanged(cs []ConceptInfo) {
	m.editor.SetLexicon(m.libPanel.Names(), m.vocab)
	m.gates.SetConcepts(cs)
	m.gates.SetPrompt(m.editor.KnownConcepts())
	m.scene.SetConcepts(cs, m.gates.Gates())
}

// shortcut handles Ctrl+Enter when the prompt does not have the focus.
func (m *mainScreen) shortcut(s fyne.Shortcut) {
	if isGenerateShortcut(s) {
		m.generateNow()
	}
}

// typedKey handles Escape when no text field has the focus.
func (m *mainScreen) typedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape {
		m.cancelNow()
	}
}

// generateNow starts a generation with the current prompt and settings.
func (m *mainScreen) generateNow() {
	if m.cancelGen != nil {
		m.setStatus("Still generating: press Esc to cancel first.")
		return
	}
	prompt := strings.TrimSpace(m.editor.Text())
	if prompt == "" {
		m.setStatus("Write a prompt first.")
		return
	}
	spec, err := m.settings.NextSpec()
	if err != nil {
		m.setStatus(err.Error())
		return
	}
	spec.Prompt = prompt
	spec.Concepts = m.editor.KnownConcepts()
	spec.Gates = m.gates.Gates()
	spec.GlobalLocking = m.gates.GlobalLocking()
	spec.Regions = m.scene.Regions()

	ctx, cancel := context.WithCancel(context.Background())
	m.cancelGen = cancel
	m.settings.SetBusy(true)
	m.setStatus(fmt.Sprintf("Generating %d image(s) with seed %d…", spec.N, spec.Seed))
	go func() {
		shots, err := m.backend.GenerateImages(ctx, spec, func(p Progress) {
			onMain(func() { m.settings.SetProgress(p) })
		})
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		cancel()
		onMain(func() {
			m.cancelGen = nil
			m.settings.SetBusy(false)
			switch {
			case errors.Is(err, context.Canceled):
				m.setStatus("Cancelled.")
			case err != nil:
				m.setStatus("Generation failed: " + app.Explain(err))
			default:
				m.gallery.Add(shots)
				msg := fmt.Sprintf("Done: %d image(s) with seed %d.", len(shots), spec.Seed)
				if len(shots) > 0 && len(shots[0].Notes) > 0 {
					msg += " Note: " + strings.Join(shots[0].Notes, "; ") + "."
				}
				m.setStatus(msg)
			}
			if m.afterGenerate != nil {
				m.afterGenerate()
			}
		})
	}()
}

// cancelNow stops the running generation (Esc).
func (m *mainScreen) cancelNow() {
	if m.cancelGen == nil {
		return
	}
	m.cancelGen()
	m.setStatus("Cancelling…")
}

// preview renders one quick image with the same seed after a gate moved.
func (m *mainScreen) preview(gates []string, global bool) {
	m.scene.SetGates(gates)
	old := m.gates.preview.Image
	m.quickPreview(gates, global, func(img image.Image, seed int64) {
		m.gates.SetPreview(img, fmt.Sprintf("seed %d · %s", seed, strings.Join(gates, " ")))
	}, func(err error) {
		m.gates.SetPreview(nil, "no preview")
		m.setStatus("Preview failed: " + app.Explain(err))
	}, func() { m.gates.SetPreview(old, "previewing…") })
}

// previewSpec is a quick one-image request for the prompt, settings and
// scene as they are, with the given gates; ok is false when there is no
// prompt or the settings do not parse.
func (m *mainScreen) previewSpec(gates []string, global bool) (GenerateSpec, bool) {
	prompt := strings.TrimSpace(m.editor.Text())
	spec, err := m.settings.Spec()
	if prompt == "" || err != nil {
		return spec, false
	}
	spec.Prompt, spec.Concepts, spec.Gates, spec.GlobalLocking = prompt, m.editor.KnownConcepts(), gates, global
	spec.Regions = m.scene.Regions()
	spec.N, spec.Steps, spec.Preview = 1, min(spec.Steps, previewSteps), true
	return spec, true
}

// quickPreview renders previewSpec's image in the background (the newest
// request wins, an older one is cancelled) and hands it to show, or the
// error to failed, on the main goroutine; started runs first when a
// preview starts.
func (m *mainScreen) quickPreview(gates []string, global bool, show func(img image.Image, seed int64), failed func(error), started func()) {
	spec, ok := m.previewSpec(gates, global)
	if !ok {
		return
	}
	if m.cancelPreview != nil {
		m.cancelPreview()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancelPreview = cancel
	m.previewSeq++
	seq := m.previewSeq
	if started != nil {
		started()
	}
	go func() {
		shots, err := m.backend.GenerateImages(ctx, spec, nil)
		cancel()
		onMain(func() {
			if seq != m.previewSeq {
				return // a newer preview is on its way
			}
			m.cancelPreview = nil
			switch {
			case errors.Is(err, context.Canceled):
			case err != nil:
				failed(err)
			case len(shots) > 0:
				show(shots[0].Image, spec.Seed)
			}
			if m.afterPreview != nil {
				m.afterPreview()
			}
		})
	}()
}

// sweep renders the same seed at five values of one concept's gate and
// shows them side by side, to pick a balance by eye.
func (m *mainScreen) sweep(name string, values []float64, gates []string, global bool) {
	spec, ok := m.previewSpec(nil, global)
	if !ok {
		return
	}
	m.setStatus(fmt.Sprintf("Sweeping %s* over %d gate values…", name, len(values)))
	go func() {
		var imgs []fyne.CanvasObject
		for _, v := range values {
			s := spec
			s.Gates = withGate(gates, name, v)
			shots, err := m.backend.GenerateImages(context.Background(), s, nil)
			if err != nil {
				onMain(func() { m.setStatus("Gate sweep failed: " + app.Explain(err)) })
				return
			}
			img := canvas.NewImageFromImage(shots[0].Image)
			img.ScaleMode, img.FillMode = canvas.ImageScalePixels, canvas.ImageFillContain
			img.SetMinSize(fyne.NewSquareSize(128))
			label := widget.NewLabelWithStyle(fmt.Sprintf("%.2f", v), fyne.TextAlignCenter, fyne.TextStyle{})
			imgs = append(imgs, container.NewBorder(nil, label, nil, nil, img))
		}
		onMain(func() {
			m.setStatus(fmt.Sprintf("Gate sweep of %s*: seed %d", name, spec.Seed))
			m.lastSweep = imgs
			dialog.ShowCustom(fmt.Sprintf("%s* gate sweep (seed %d)", name, spec.Seed), "Close", container.NewHBox(imgs...), m.win)
		})
	}()
}

// withGate returns gates with name's value set to v.
func withGate(gates []string, name string, v float64) []string {
	out := []string{fmt.Sprintf("%s=%g", name, v)}
	for _, g := range gates {
		if !strings.HasPrefix(g, name+"=") {
			out = append(out, g)
		}
	}
	return out
}

// trainingFinished reloads the library after a job.
func (m *mainScreen) trainingFinished(spec TrainSpec, err error) {
	switch {
	case err == nil:
		m.libPanel.Reload()
		m.checkOutdated()
		m.setStatus(fmt.Sprintf("%s* is ready: use it in a prompt as %s*.", spec.Name, spec.Name))
	case errors.Is(err, context.Canceled):
		m.setStatus(fmt.Sprintf("Training %s* cancelled.", spec.Name))
	default:
		m.setStatus(fmt.Sprintf("Training %s* failed: %s", spec.Name, app.Explain(err)))
	}
}

// confirmClose asks before closing while training runs.
func (m *mainScreen) confirmClose() {
	if !m.training.Busy() {
		m.win.Close()
		return
	}
	d := dialog.NewConfirm("Training is running",
		"Closing the window stops the training; what it has not saved yet is lost.",
		func(ok bool) {
			if ok {
				m.training.CancelAll()
				m.win.Close()
			}
		}, m.win)
	d.SetConfirmText("Stop and close")
	d.SetDismissText("Keep training")
	d.Show()
}

// shutdown stops the background work when the window closes.
func (m *mainScreen) shutdown() {
	if m.closed {
		return
	}
	m.closed = true
	if m.cancelGen != nil {
		m.cancelGen()
	}
	if m.cancelPreview != nil {
		m.cancelPreview()
	}
	m.gates.Stop()
	m.training.CancelAll()
	if c, ok := m.backend.(interface{ Close() error }); ok {
		c.Close()
	}
}

// isImageName reports whether a file name looks like an image.
func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp":
		return true
	}
	return false
}

// onDrop takes dropped files: concept files are imported, one PNG made by
// Concept Studio restores its prompt and settings, other images start a
// new concept.
// openSheet opens the new-concept sheet on images, with "Add image…"
// asking the saver's open dialog for more.
func (m *mainScreen) openSheet(images []string) {
	m.sheet = ShowNewConcept(m.win, images, m.vocab, m.libPanel.Names(), m.backend.CheckImages, m.training.Enqueue)
	m.sheet.SetCutOuts(m.backend)
	m.sheet.SetOpener(func(done func(string)) {
		m.saver.OpenImage("Add an image of the thing", func(p string, err error) {
			if err != nil {
				m.setStatus("Cannot open the image: " + app.Explain(err))
				return
			}
			done(p)
		})
	})
}

// NewConcept asks for a first image and opens the new-concept sheet on it
// (the way in without drag and drop).
func (m *mainScreen) NewConcept() {
	m.saver.OpenImage("An image of the thing to teach", func(p string, err error) {
		switch {
		case err != nil:
			m.setStatus("Cannot open the image: " + app.Explain(err))
		case p != "":
			m.openSheet([]string{p})
		}
	})
}

func (m *mainScreen) onDrop(_ fyne.Position, uris []fyne.URI) {
	var images, names, skipped []string
	var msgs []string
	imported := false
	for _, u := range uris {
		path, name := u.Path(), u.Name()
		switch {
		case strings.HasSuffix(strings.ToLower(name), ".concept.safetensors"):
			n, err := m.backend.ImportConcept(path)
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("Cannot import %s: %s", name, app.Explain(err)))
				continue
			}
			imported = true
			msgs = append(msgs, fmt.Sprintf("Imported %s*.", n))
		case isImageName(name):
			images = append(images, path)
			names = append(names, name)
		default:
			skipped = append(skipped, name)
		}
	}
	if imported {
		m.libPanel.Reload()
	}
	if len(images) == 1 && strings.EqualFold(filepath.Ext(images[0]), ".png") {
		if spec, err := m.backend.ImageSettings(images[0]); err == nil {
			m.restore(spec)
			msgs = append(msgs, fmt.Sprintf("Restored the prompt and settings of %s.", names[0]))
			images = nil
		}
	}
	if len(images) > 0 {
		m.openSheet(images)
		msgs = append(msgs, fmt.Sprintf("New concept from %d image(s): %s — name it and press Train.", len(images), strings.Join(names, ", ")))
	}
	if len(skipped) > 0 {
		msgs = append(msgs, fmt.Sprintf("Skipped %s: drop images or .concept.safetensors files.", strings.Join(skipped, ", ")))
	}
	m.setStatus(strings.Join(msgs, " "))
}

// restore puts a generation's settings back, its scene included.
func (m *mainScreen) restore(spec GenerateSpec) {
	m.syncing = true
	m.editor.SetText(spec.Prompt)
	m.syncing = false
	things, err := app.SceneThings(spec.Prompt, spec.Regions)
	if err != nil {
		things = nil
		m.setStatus("The image's boxes cannot be shown: " + app.Explain(err))
	}
	m.scene.SetThings(things)
	m.setSceneBackground(spec.Prompt)
	m.settings.Apply(spec)
	m.gates.SetValues(spec.Gates, spec.GlobalLocking)
}
