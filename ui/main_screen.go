package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
	"conceptstudio/store"
)

// Studio is what the main screen needs from package app.
type Studio interface {
	Generate(ctx context.Context, req app.GenerateRequest, progress app.ProgressFunc) error
	ListConcepts() ([]store.Entry, error)
}

// appStudio adapts *app.App to Studio.
type appStudio struct{ *app.App }

func (s appStudio) ListConcepts() ([]store.Entry, error) { return s.Library.List() }

// NewMainScreen builds the window's content over the real app.
func NewMainScreen(w fyne.Window, a *app.App) fyne.CanvasObject {
	return newMainScreen(w, appStudio{a})
}

// mainScreen holds the widgets tests reach into.
type mainScreen struct {
	library  *widget.List
	concepts []store.Entry
	prompt   *widget.Entry
	generate *widget.Button
	status   *widget.Label
	root     fyne.CanvasObject
}

func newMainScreen(w fyne.Window, s Studio) fyne.CanvasObject {
	return buildMainScreen(w, s).root
}

func buildMainScreen(w fyne.Window, s Studio) *mainScreen {
	return buildMainScreenWithDrop(w, s, w.SetOnDropped)
}

// buildMainScreenWithDrop is buildMainScreen with the drop hook injected:
// Fyne's test windows ignore SetOnDropped, so tests catch the handler.
func buildMainScreenWithDrop(w fyne.Window, s Studio, onDropped func(func(fyne.Position, []fyne.URI))) *mainScreen {
	m := &mainScreen{}
	m.status = widget.NewLabel("Ready. The base model is not trained yet, so generating and training are not available.")

	// Concept library panel.
	m.concepts, _ = s.ListConcepts()
	m.library = widget.NewList(
		func() int { return len(m.concepts) },
		func() fyne.CanvasObject { return widget.NewLabel("concept name") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(m.concepts[i].Name + "*") },
	)
	empty := widget.NewLabel("No concepts yet.\nDrop 3-5 images of your thing\non this window to teach it.")
	empty.Alignment = fyne.TextAlignCenter
	var libBody fyne.CanvasObject = m.library
	if len(m.concepts) == 0 {
		libBody = container.NewCenter(empty)
	}
	libraryPanel := container.NewBorder(
		widget.NewLabelWithStyle("Concepts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		nil, nil, nil, libBody)

	// Prompt and generation settings.
	m.prompt = widget.NewMultiLineEntry()
	m.prompt.SetPlaceHolder("a teddy* on the left of a teapot*, on a blue background")
	m.prompt.SetMinRowsVisible(3)
	seed := widget.NewEntry()
	seed.SetText("1")
	m.generate = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), nil)
	m.generate.Importance = widget.HighImportance
	m.generate.OnTapped = func() {
		req := app.GenerateRequest{Prompt: strings.TrimSpace(m.prompt.Text), N: 4, Steps: 25, Guidance: 4, OutDir: "."}
		if _, err := fmt.Sscan(seed.Text, &req.Seed); err != nil {
			dialog.ShowError(fmt.Errorf("the seed must be a whole number"), w)
			return
		}
		if req.Prompt == "" {
			m.status.SetText("Write a prompt first.")
			return
		}
		m.status.SetText("Generating…")
		m.generate.Disable()
		go func() {
			err := s.Generate(context.Background(), req, nil)
			fyne.Do(func() {
				m.generate.Enable()
				if err != nil {
					m.status.SetText("Generation failed: " + app.Explain(err))
					return
				}
				m.status.SetText("Done.")
			})
		}()
	}
	settings := container.NewHBox(widget.NewLabel("Seed"), container.NewGridWrap(fyne.NewSize(90, seed.MinSize().Height), seed),
		layout.NewSpacer(), m.generate)
	gallery := container.NewCenter(widget.NewLabel("Generated images appear here."))
	work := container.NewBorder(
		container.NewVBox(widget.NewLabelWithStyle("Prompt", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), m.prompt, settings),
		nil, nil, nil, gallery)

	split := container.NewHSplit(libraryPanel, work)
	split.Offset = 0.25
	m.root = container.NewBorder(nil, m.status, nil, nil, split)

	onDropped(func(_ fyne.Position, uris []fyne.URI) {
		names := make([]string, 0, len(uris))
		for _, u := range uris {
			names = append(names, u.Name())
		}
		m.status.SetText(fmt.Sprintf("Dropped %d file(s): %s. Training new concepts is not available yet.", len(uris), strings.Join(names, ", ")))
	})
	return m
}
