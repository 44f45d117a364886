package ui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"conceptstudio/app"
	"conceptstudio/internal/testenv"
)

// twoBallPhoto writes a 160×160 photo of a striped cloth with a big red
// ball on the left and a small green one on the right.
func twoBallPhoto(t *testing.T, dir string) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 160, 160))
	for y := 0; y < 160; y++ {
		for x := 0; x < 160; x++ {
			c := color.NRGBA{70, 90, 150, 255}
			if (x+y)/6%2 == 0 {
				c = color.NRGBA{215, 205, 175, 255}
			}
			switch {
			case (x-50)*(x-50)+(y-80)*(y-80) <= 30*30:
				c = color.NRGBA{205, 40, 40, 255}
			case (x-125)*(x-125)+(y-95)*(y-95) <= 16*16:
				c = color.NRGBA{40, 170, 60, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	p := filepath.Join(dir, "balls.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	png.Encode(f, img)
	return p
}

// colourCount counts a cut-out file's opaque pixels that are mostly red
// and mostly green.
func colourCount(t *testing.T, path string) (red, green int) {
	t.Helper()
	img := testenv.ReadPNG(t, path)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			switch {
			case c.A < 128:
			case c.R > 150 && c.G < 90:
				red++
			case c.G > 130 && c.R < 90:
				green++
			}
		}
	}
	return red, green
}

// TestAdjustCutOut: in the sheet, the scissors on a picture open the
// cut-out editor; a box dragged around the small green ball (the
// automatic cut takes the big red one) gives its cut-out, "Use this
// cut-out" puts it in the picture's place, checked like any image, and
// training learns from it; without a box, a keep dab on the green ball
// keeps it beside the red one the automatic cut takes.
// sheetWithBalls drops the two-ball photo on a new screen and opens the
// cut-out editor on it.
func sheetWithBalls(t *testing.T) (f *fakeBackend, w fyne.Window, s *NewConceptSheet, photo string) {
	t.Helper()
	f = &fakeBackend{vocab: testVocab, checker: app.CheckImages, cutDir: t.TempDir()}
	m, w, drop := newTestScreen(t, f, nil)
	photo = twoBallPhoto(t, t.TempDir())
	drop(fyne.NewPos(5, 5), uris(photo))
	s = m.sheet
	if s == nil {
		t.Fatal("no sheet")
	}
	eventually(t, "the image check", func() bool { return !s.Checking() })
	s.Adjust(photo)
	if s.adjust == nil {
		t.Fatal("no editor")
	}
	return f, w, s, photo
}

func TestAdjustCutOut(t *testing.T) {
	f, _, s, photo := sheetWithBalls(t)
	d := s.adjust
	e := d.editor
	if e.Size().Width < 100 {
		t.Fatalf("the editor is %v", e.Size())
	}
	x, y, w, h := e.shown()
	at := func(fx, fy float32) fyne.Position { return fyne.NewPos(x+fx*w, y+fy*h) }
	drag := func(from, to fyne.Position) {
		e.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: to}, Dragged: fyne.NewDelta(to.X-from.X, to.Y-from.Y)})
		e.DragEnd()
	}
	// The box around the green ball: (105, 75)-(145, 115) of 160.
	drag(at(105.0/160, 75.0/160), at(145.0/160, 115.0/160))
	if b := e.hints.Box; b[2] < 0.2 || b[3] < 0.2 {
		t.Fatalf("the box is %v", b)
	}
	eventually(t, "the cut-out", func() bool { return !d.use.Disabled() })
	test.Tap(d.use)
	imgs := s.Images()
	if len(imgs) != 1 || imgs[0] == photo || !strings.HasPrefix(imgs[0], f.cutDir) {
		t.Fatalf("images after adjusting: %v", imgs)
	}
	eventually(t, "the check of the cut-out", func() bool { return !s.Checking() })
	if c := s.checks[imgs[0]]; c.Problem != "" || c.Cutout == nil {
		t.Fatalf("the cut-out's check: %+v", c)
	}
	red, green := colourCount(t, imgs[0])
	t.Logf("the adjusted cut-out: %d green, %d red pixels", green, red)
	if green < 600 || red > 0 {
		t.Errorf("the adjusted cut-out holds %d green and %d red pixels, want the green ball alone", green, red)
	}
	// A cut-out can be adjusted again; then the original photo, with a
	// keep dab on the green ball and no box.
	s.Adjust(imgs[0])
	if s.adjust == d {
		t.Fatal("no new editor")
	}
	s.adjust.dialog.Hide()
	s.Adjust(photo) // the original is still on disk
	d = s.adjust
	e = d.editor
	x, y, w, h = e.shown()
	d.tool.SetSelected(toolKeep)
	e.Tapped(&fyne.PointEvent{Position: at(125.0/160, 95.0/160)})
	eventually(t, "the second cut-out", func() bool { return !d.use.Disabled() })
	cut, _, err := f.CutOut(photo, e.hints)
	if err != nil {
		t.Fatal(err)
	}
	saved, _ := app.SaveCutOut(cut, photo, t.TempDir())
	red, green = colourCount(t, saved)
	t.Logf("no box, a keep dab on the green ball: %d green, %d red pixels", green, red)
	if green < 600 || red < 2000 {
		t.Errorf("with a keep dab on the green ball: %d green, %d red pixels, want both balls", green, red)
	}
	s.name.SetText("ball")
	s.class.SetText("ball")
}

// TestCutOutUndoAndBrushSizes: a large brush paints a wider dab than the
// medium one and the cut-out follows it; Undo (the button and Ctrl+Z)
// takes back one mark at a time, Start over clears them and Undo brings
// them back; the shortcut is gone when the editor closes.
func TestCutOutUndoAndBrushSizes(t *testing.T) {
	_, w, s, _ := sheetWithBalls(t)
	d := s.adjust
	e := d.editor
	x, y, wd, ht := e.shown()
	at := func(fx, fy float32) fyne.Position { return fyne.NewPos(x+fx*wd, y+fy*ht) }
	if !d.undo.Disabled() {
		t.Error("Undo is offered before any mark")
	}
	d.tool.SetSelected(toolRemove)
	d.brush.SetSelected("Large brush")
	e.Tapped(&fyne.PointEvent{Position: at(50.0/160, 80.0/160)})
	if r := e.hints.RemoveRadius; len(r) != 1 || r[0] != 0.05 {
		t.Fatalf("a large dab's radius: %v", r)
	}
	d.brush.SetSelected("Small brush")
	e.Tapped(&fyne.PointEvent{Position: at(20.0/160, 20.0/160)})
	if r := e.hints.RemoveRadius; len(r) != 2 || r[1] != 0.01 {
		t.Fatalf("a small dab after a large one: %v", r)
	}
	if d.undo.Disabled() {
		t.Fatal("Undo is not offered after two dabs")
	}
	shortcuts, ok := w.Canvas().(interface{ TypedShortcut(fyne.Shortcut) })
	if !ok {
		t.Fatal("the test canvas takes no shortcuts")
	}
	ctrlZ := &desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault}
	shortcuts.TypedShortcut(ctrlZ)
	if len(e.hints.Remove) != 1 {
		t.Fatalf("after Ctrl+Z: %d remove dabs, want 1", len(e.hints.Remove))
	}
	test.Tap(d.undo)
	if !e.hints.Empty() || !d.undo.Disabled() {
		t.Fatalf("after Undo: %+v, Undo offered %v", e.hints, !d.undo.Disabled())
	}
	// A box, Start over, then Undo: the box is back.
	d.tool.SetSelected(toolBox)
	from, to := at(105.0/160, 75.0/160), at(145.0/160, 115.0/160)
	e.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: to}, Dragged: fyne.NewDelta(to.X-from.X, to.Y-from.Y)})
	e.DragEnd()
	box := e.hints.Box
	e.Reset()
	if !e.hints.Empty() {
		t.Fatal("Start over kept marks")
	}
	test.Tap(d.undo)
	if e.hints.Box != box {
		t.Fatalf("Undo after Start over: box %v, want %v", e.hints.Box, box)
	}
	eventually(t, "the cut-out", func() bool { return !d.use.Disabled() })
	d.dialog.Hide()
	shortcuts.TypedShortcut(ctrlZ)
	if e.hints.Box != box {
		t.Error("Ctrl+Z still changes the editor after it closed")
	}
}
