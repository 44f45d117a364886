package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// The scene canvas beside the prompt: things placed as boxes steer where
// generation draws them (app's regions), and the canvas and the prompt
// follow each other where the caption grammar can say it.

// noBackground is the background choice that states none.
const noBackground = "any background"

// noPattern is the pattern choice of a plain background.
const noPattern = "no pattern"

// sceneHelp is the canvas's note while it is empty.
const sceneHelp = "Drag concepts from the library onto the square, or place a word."

// buildScenePanel makes the canvas and its controls (the background, a
// word to place, Place, Clear) and a note on what the prompt can say. It
// returns the square (beside the prompt) and the controls with the note
// (under the prompt), so the column is no wider than the settings.
func (m *mainScreen) buildScenePanel() (square, controls fyne.CanvasObject) {
	m.scene = NewSceneCanvas()
	m.scene.OnChanged = m.sceneChanged
	names := []string{noBackground}
	for _, c := range app.BackgroundColours() {
		names = append(names, c.Name)
	}
	m.sceneBg = widget.NewSelect(names, func(string) {
		if m.syncing {
			return
		}
		m.scene.SetBackground(m.sceneColour())
		m.sceneChanged()
	})
	m.scenePattern = widget.NewSelect(append([]string{noPattern}, app.BackgroundPatterns()...), func(string) {
		if m.syncing {
			return
		}
		m.sceneChanged()
	})
	m.syncing = true
	m.sceneBg.SetSelectedIndex(0)
	m.scenePattern.SetSelectedIndex(0)
	m.syncing = false
	m.sceneWord = widget.NewEntry()
	m.sceneWord.SetPlaceHolder("a word: cat")
	place := func() {
		if err := m.placeWord(m.sceneWord.Text); err != nil {
			m.setStatus(err.Error())
			return
		}
		m.sceneWord.SetText("")
	}
	m.sceneWord.OnSubmitted = func(string) { place() }
	add := widget.NewButton("Place", place)
	clear := widget.NewButton("Clear", func() { m.scene.Clear() })
	m.sceneNote = widget.NewLabel(sceneHelp)
	m.sceneNote.Wrapping = fyne.TextWrapWord
	m.sceneNote.SizeName = theme.SizeNameCaptionText
	h := m.sceneBg.MinSize().Height
	bg := container.NewHBox(container.NewGridWrap(fyne.NewSize(150, h), m.sceneBg), container.NewGridWrap(fyne.NewSize(110, h), m.scenePattern))
	rows := container.NewVBox(container.NewBorder(nil, nil, bg, clear), container.NewBorder(nil, nil, nil, add, m.sceneWord))
	return m.scene, container.NewVBox(rows, m.sceneNote)
}

// sceneColour is the chosen background's colour (light grey for none).
func (m *mainScreen) sceneColour() color.Color {
	for _, c := range app.BackgroundColours() {
		if c.Name == m.sceneBg.Selected {
			return c.RGB
		}
	}
	return color.NRGBA{0xf4, 0xf4, 0xf4, 0xff}
}

// sceneBackground is the chosen background's words ("striped blue"), ""
// for none; a pattern needs a colour.
func (m *mainScreen) sceneBackground() string {
	if m.sceneBg.Selected == noBackground {
		return ""
	}
	pattern := m.scenePattern.Selected
	if pattern == noPattern {
		pattern = ""
	}
	return app.BackgroundWords(m.sceneBg.Selected, pattern)
}

// setSceneBackground shows a prompt's background in the selects.
func (m *mainScreen) setSceneBackground(prompt string) {
	colour, pattern := app.BackgroundOf(prompt)
	if colour == "" {
		colour = noBackground
	}
	if pattern == "" {
		pattern = noPattern
	}
	m.syncing = true
	m.sceneBg.SetSelected(colour)
	m.scenePattern.SetSelected(pattern)
	m.scene.SetBackground(m.sceneColour())
	m.syncing = false
}

// placeWord puts a plain word the model knows, or a concept written with
// its star, on the canvas's middle.
func (m *mainScreen) placeWord(text string) error {
	words := strings.Fields(strings.ToLower(strings.TrimSpace(text)))
	if len(words) == 0 {
		return errors.New("Write a word to place, for example cat.")
	}
	for _, w := range words {
		name := strings.TrimSuffix(w, "*")
		known := slices.Contains(m.vocab, w) || strings.HasSuffix(w, "*") && slices.Contains(m.libPanel.Names(), name)
		if !known {
			return fmt.Errorf("The model does not know %q: place a word it knows, or a concept of the library as name*.", excerptUI(w))
		}
	}
	return m.scene.Add(strings.Join(words, " "), 0.5, 0.5)
}

// placeConcept puts name* on the canvas where a library row was dropped
// (at: absolute position), or in its middle (at nil). A drop elsewhere
// does nothing.
func (m *mainScreen) placeConcept(name string, at *fyne.Position) {
	x, y := 0.5, 0.5
	if at != nil {
		origin := fyne.CurrentApp().Driver().AbsolutePositionForObject(m.scene)
		local := at.Subtract(origin)
		sz := m.scene.Size()
		if local.X < 0 || local.Y < 0 || local.X > sz.Width || local.Y > sz.Height {
			return // dropped elsewhere
		}
		x, y = m.scene.toPicture(local)
	}
	if err := m.scene.Add(name+"*", x, y); err != nil {
		m.setStatus(err.Error())
	}
}

// sceneChanged writes the canvas into the prompt and asks for a preview.
func (m *mainScreen) sceneChanged() {
	things := m.scene.Things()
	if len(things) == 0 {
		m.sceneNote.SetText(sceneHelp)
		return
	}
	prompt, exact := app.ScenePrompt(things, m.sceneBackground())
	m.syncing = true
	m.editor.SetText(prompt)
	m.syncing = false
	m.gates.SetPrompt(m.editor.KnownConcepts())
	m.scene.SetGates(m.gates.Gates())
	if exact {
		m.sceneNote.SetText("The prompt says where; the boxes steer each thing into its place.")
	} else {
		m.sceneNote.SetText(fmt.Sprintf("%d things: the prompt cannot say where, the boxes (regions) do.", len(things)))
	}
	m.previewScene()
}

// promptEdited makes the canvas follow a prompt typed by hand: boxes whose
// thing left the prompt go, a changed position or relation moves them,
// the background follows.
func (m *mainScreen) promptEdited(text string) {
	if m.syncing || m.scene == nil {
		return
	}
	things := m.scene.Things()
	if len(things) == 0 {
		return
	}
	lower := " " + strings.Join(app.PromptWords(text), " ") + " "
	var kept []app.SceneThing
	for _, t := range things {
		if strings.Contains(lower, " "+t.Words+" ") {
			kept = append(kept, t)
		}
	}
	moved := len(kept) != len(things)
	if follow, ok := app.FollowPrompt(text, kept); ok {
		kept, moved = follow, true
	}
	if moved {
		m.scene.SetThings(kept)
	}
	m.setSceneBackground(text)
}

// previewScene renders one quick image of the scene at the same seed and
// shows it under the boxes.
func (m *mainScreen) previewScene() {
	m.quickPreview(m.gates.Gates(), m.gates.GlobalLocking(), func(img image.Image, _ int64) {
		m.scene.SetPreview(img)
	}, func(err error) {
		m.setStatus("Scene preview failed: " + app.Explain(err))
	}, nil)
}

// excerptUI shortens what the user typed for a message.
func excerptUI(s string) string {
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

// besideSquare lays out its first object with a square (the second) on
// its right whose side follows the width: a fifth of it, from 136 to 280
// points, so a large window shows a large canvas. Its height is the
// larger of the two; MinSize uses the width of the last layout.
type besideSquare struct{ width float32 }

func (l *besideSquare) side(width float32) float32 { return max(136, min(280, width/5)) }

func (l *besideSquare) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if len(objs) != 2 {
		return
	}
	grew := size.Width != l.width
	l.width = size.Width
	s := l.side(size.Width)
	pad := theme.Padding()
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(size.Width-s-pad, size.Height))
	objs[1].Move(fyne.NewPos(size.Width-s, 0))
	objs[1].Resize(fyne.NewSquareSize(s))
	if grew {
		// The height follows the new width at the next layout pass.
		if c := fyne.CurrentApp(); c != nil {
			if cv := c.Driver().CanvasForObject(objs[1]); cv != nil {
				fyne.Do(func() { cv.Content().Refresh() })
			}
		}
	}
}

func (l *besideSquare) MinSize(objs []fyne.CanvasObject) fyne.Size {
	if len(objs) != 2 {
		return fyne.Size{}
	}
	left := objs[0].MinSize()
	s := l.side(l.width)
	return fyne.NewSize(left.Width+136+theme.Padding(), max(left.Height, s))
}
