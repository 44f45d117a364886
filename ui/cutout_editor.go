package ui

import (
	"image"
	"image/color"
	"math"
	"slices"

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

// CutOutHints are a person's corrections to a cut-out (app.CutOutHints).
type CutOutHints = app.CutOutHints

// CutOuts cuts an object out as a person marks it and keeps the result
// for training.
type CutOuts interface {
	// Picture is the image at path, fit to side×side, to draw marks on.
	Picture(path string, side int) (image.Image, error)
	CutOut(path string, h CutOutHints) (cut, preview image.Image, err error)
	SaveCutOut(cut image.Image, original string) (string, error)
}

// The editor's tools.
const (
	toolBox    = "Box around the object"
	toolKeep   = "Keep (paint)"
	toolRemove = "Remove (paint)"
)

// brushRadius is the keep and remove brushes' radius at first, as a
// fraction of the picture's longer side; brushSizes are the sizes on
// offer.
const brushRadius = 0.02

var brushSizes = []struct {
	name   string
	radius float64
}{{"Small brush", 0.01}, {"Medium brush", brushRadius}, {"Large brush", 0.05}}

// cutEditor shows a photo; dragging draws the box around the object or
// paints keep or remove strokes, depending on the tool.
type cutEditor struct {
	widget.BaseWidget
	img      image.Image
	tool     string
	hints    CutOutHints
	radius   float64       // the brush's radius now
	history  []CutOutHints // the marks before each change, for Undo
	from     [2]float64    // where the box drag began (fractions)
	last     [2]float64    // the brush's last point in this drag
	dragging bool
	onChange func()

	photo *canvas.Image
	box   *canvas.Rectangle
	marks *fyne.Container
}

func newCutEditor(img image.Image, onChange func()) *cutEditor {
	e := &cutEditor{img: img, tool: toolBox, onChange: onChange, hints: CutOutHints{Radius: brushRadius}, radius: brushRadius}
	e.photo = canvas.NewImageFromImage(img)
	e.photo.FillMode = canvas.ImageFillContain
	e.photo.ScaleMode = canvas.ImageScalePixels
	e.box = canvas.NewRectangle(color.Transparent)
	e.box.StrokeColor = color.NRGBA{R: 255, G: 200, B: 0, A: 255}
	e.box.StrokeWidth = 2
	e.box.Hide()
	e.marks = container.NewWithoutLayout()
	e.ExtendBaseWidget(e)
	return e
}

// shown is where the picture is drawn inside the widget (it keeps its
// aspect and is centred).
func (e *cutEditor) shown() (x, y, w, h float32) {
	size := e.Size()
	b := e.img.Bounds()
	iw, ih := float32(b.Dx()), float32(b.Dy())
	s := min(size.Width/iw, size.Height/ih)
	w, h = iw*s, ih*s
	return (size.Width - w) / 2, (size.Height - h) / 2, w, h
}

// frac is a point of the widget as fractions of the picture (clamped).
func (e *cutEditor) frac(p fyne.Position) [2]float64 {
	x, y, w, h := e.shown()
	fx := float64((p.X - x) / max(w, 1))
	fy := float64((p.Y - y) / max(h, 1))
	return [2]float64{min(max(fx, 0), 1), min(max(fy, 0), 1)}
}

// paint dabs the brush at p and, within a drag, along the way from the
// last dab (half a radius apart), so a quick stroke leaves no gaps.
func (e *cutEditor) paint(p fyne.Position, joined bool) {
	f := e.frac(p)
	pts := [][2]float64{f}
	if joined {
		d := math.Hypot(f[0]-e.last[0], f[1]-e.last[1])
		n := int(d / (e.radius / 2))
		pts = pts[:0]
		for i := 1; i <= n; i++ {
			t := float64(i) / float64(n+1)
			pts = append(pts, [2]float64{e.last[0] + t*(f[0]-e.last[0]), e.last[1] + t*(f[1]-e.last[1])})
		}
		pts = append(pts, f)
	}
	e.last = f
	marks, radii := &e.hints.Remove, &e.hints.RemoveRadius
	if e.tool == toolKeep {
		marks, radii = &e.hints.Keep, &e.hints.KeepRadius
	}
	*marks = append(*marks, pts...)
	for range pts {
		*radii = append(*radii, e.radius)
	}
}

// remember keeps the marks as they are, for Undo.
func (e *cutEditor) remember() {
	h := e.hints
	h.Keep, h.Remove = slices.Clone(h.Keep), slices.Clone(h.Remove)
	h.KeepRadius, h.RemoveRadius = slices.Clone(h.KeepRadius), slices.Clone(h.RemoveRadius)
	e.history = append(e.history, h)
}

// Undo takes back the last box or stroke; it reports whether there was
// one.
func (e *cutEditor) Undo() bool {
	if len(e.history) == 0 {
		return false
	}
	e.hints = e.history[len(e.history)-1]
	e.history = e.history[:len(e.history)-1]
	e.Refresh()
	if e.onChange != nil {
		e.onChange()
	}
	return true
}

// Dragged draws the box from where the drag began, or paints.
func (e *cutEditor) Dragged(ev *fyne.DragEvent) {
	if !e.dragging {
		e.remember()
	}
	if e.tool == toolBox {
		if !e.dragging {
			e.from = e.frac(ev.Position.Subtract(ev.Dragged))
			e.dragging = true
		}
		to := e.frac(ev.Position)
		e.hints.Box = [4]float64{min(e.from[0], to[0]), min(e.from[1], to[1]), math.Abs(to[0] - e.from[0]), math.Abs(to[1] - e.from[1])}
	} else {
		if !e.dragging {
			e.last = e.frac(ev.Position.Subtract(ev.Dragged))
			e.dragging = true
		}
		e.paint(ev.Position, true)
	}
	e.Refresh()
}

// DragEnd asks for a new cut-out.
func (e *cutEditor) DragEnd() {
	e.dragging = false
	if e.onChange != nil {
		e.onChange()
	}
}

// Tapped paints one dab with a brush.
func (e *cutEditor) Tapped(ev *fyne.PointEvent) {
	if e.tool == toolBox {
		return
	}
	e.remember()
	e.paint(ev.Position, false)
	e.Refresh()
	if e.onChange != nil {
		e.onChange()
	}
}

// Reset forgets the box and the strokes (Undo brings them back).
func (e *cutEditor) Reset() {
	if e.hints.Empty() {
		return
	}
	e.remember()
	e.hints = CutOutHints{Radius: brushRadius}
	e.Refresh()
	if e.onChange != nil {
		e.onChange()
	}
}

func (e *cutEditor) MinSize() fyne.Size { return fyne.NewSquareSize(300) }

func (e *cutEditor) CreateRenderer() fyne.WidgetRenderer {
	return &cutEditorRenderer{e: e, objects: []fyne.CanvasObject{e.photo, e.marks, e.box}}
}

type cutEditorRenderer struct {
	e       *cutEditor
	objects []fyne.CanvasObject
}

func (r *cutEditorRenderer) Layout(size fyne.Size) {
	r.e.photo.Resize(size)
	r.e.photo.Move(fyne.NewPos(0, 0))
	r.place()
}

// place draws the box and the strokes over the picture.
func (r *cutEditorRenderer) place() {
	e := r.e
	x, y, w, h := e.shown()
	if b := e.hints.Box; b[2] > 0 && b[3] > 0 {
		e.box.Move(fyne.NewPos(x+float32(b[0])*w, y+float32(b[1])*h))
		e.box.Resize(fyne.NewSize(float32(b[2])*w, float32(b[3])*h))
		e.box.Show()
	} else {
		e.box.Hide()
	}
	var dots []fyne.CanvasObject
	for _, set := range []struct {
		pts   [][2]float64
		radii []float64
		c     color.NRGBA
	}{{e.hints.Keep, e.hints.KeepRadius, color.NRGBA{G: 200, A: 140}}, {e.hints.Remove, e.hints.RemoveRadius, color.NRGBA{R: 230, A: 140}}} {
		for i, p := range set.pts {
			r := e.hints.Radius
			if i < len(set.radii) {
				r = set.radii[i]
			}
			rad := float32(r) * max(w, h)
			c := canvas.NewCircle(set.c)
			c.Resize(fyne.NewSquareSize(2 * rad))
			c.Move(fyne.NewPos(x+float32(p[0])*w-rad, y+float32(p[1])*h-rad))
			dots = append(dots, c)
		}
	}
	e.marks.Objects = dots
	e.marks.Refresh()
}

func (r *cutEditorRenderer) MinSize() fyne.Size           { return r.e.MinSize() }
func (r *cutEditorRenderer) Refresh()                     { r.place(); canvas.Refresh(r.e) }
func (r *cutEditorRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *cutEditorRenderer) Destroy()                     {}

// cutOutDialog is the sheet's "Adjust the cut-out" window for one image.
type cutOutDialog struct {
	editor  *cutEditor
	tool    *widget.RadioGroup
	brush   *widget.Select
	undo    *widget.Button
	preview *canvas.Image
	status  *widget.Label
	use     *widget.Button
	dialog  dialog.Dialog

	cut  image.Image // the latest cut-out (nil: none yet, or it failed)
	auto image.Image // the automatic cut-out's preview (nil: none)
	seq  int         // the newest request; older answers are dropped
}

// showAuto shows the automatic cut-out, before any marks.
func (d *cutOutDialog) showAuto() {
	if d.auto != nil {
		d.preview.Resource, d.preview.Image = nil, d.auto
		d.status.SetText("The cut-out found by itself. To change it, drag a box around the object, or paint over parts to keep or remove.")
	} else {
		d.preview.Resource, d.preview.Image = theme.FileImageIcon(), nil
		d.status.SetText("No cut-out was found by itself. Drag a box around the object; paint over parts to keep or remove.")
	}
	d.preview.Refresh()
}

// showCutOutDialog opens the editor on the image at path (shown as img),
// with the automatic cut-out (nil: none was found) beside it; done
// receives the saved cut-out's path when the person uses it.
func showCutOutDialog(win fyne.Window, path string, img, auto image.Image, cuts CutOuts, done func(newPath string)) *cutOutDialog {
	d := &cutOutDialog{auto: auto}
	d.editor = newCutEditor(img, func() {
		if len(d.editor.history) > 0 {
			d.undo.Enable()
		} else {
			d.undo.Disable()
		}
		d.recut(path, cuts)
	})
	d.tool = widget.NewRadioGroup([]string{toolBox, toolKeep, toolRemove}, func(s string) {
		if s != "" {
			d.editor.tool = s
		}
	})
	d.tool.Horizontal = true
	d.tool.Required = true
	d.tool.SetSelected(toolBox)
	var names []string
	for _, b := range brushSizes {
		names = append(names, b.name)
	}
	d.brush = widget.NewSelect(names, func(s string) {
		for _, b := range brushSizes {
			if b.name == s {
				d.editor.radius = b.radius
			}
		}
	})
	d.brush.SetSelected(brushSizes[1].name)
	d.undo = widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), func() { d.editor.Undo() })
	d.undo.Disable()
	reset := widget.NewButtonWithIcon("Start over", theme.ContentClearIcon(), func() { d.editor.Reset() })
	d.preview = canvas.NewImageFromResource(theme.FileImageIcon())
	d.preview.FillMode = canvas.ImageFillContain
	d.preview.SetMinSize(fyne.NewSquareSize(160))
	d.status = widget.NewLabel("")
	d.status.Wrapping = fyne.TextWrapWord
	d.showAuto()
	d.use = widget.NewButtonWithIcon("Use this cut-out", theme.ConfirmIcon(), func() {
		if d.cut == nil {
			return
		}
		p, err := cuts.SaveCutOut(d.cut, path)
		if err != nil {
			d.status.SetText(err.Error())
			return
		}
		d.dialog.Hide()
		done(p)
	})
	d.use.Importance = widget.HighImportance
	d.use.Disable()
	cancel := widget.NewButton("Cancel", func() { d.dialog.Hide() })
	right := container.NewVBox(widget.NewLabel("Cut-out"), d.preview, d.status)
	content := container.NewBorder(
		container.NewHBox(d.tool, d.brush, layout.NewSpacer(), d.undo, reset),
		container.NewHBox(layout.NewSpacer(), cancel, d.use), nil,
		container.NewGridWrap(fyne.NewSize(200, 320), right), d.editor)
	d.dialog = dialog.NewCustomWithoutButtons("Adjust the cut-out", content, win)
	d.dialog.Resize(fyne.NewSize(760, 480))
	// Ctrl+Z takes back the last mark while the editor is open.
	undoKey := &desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault}
	win.Canvas().AddShortcut(undoKey, func(fyne.Shortcut) { d.editor.Undo() })
	d.dialog.SetOnClosed(func() { win.Canvas().RemoveShortcut(undoKey) })
	d.dialog.Show()
	return d
}

// recut asks for the cut-out the marks make, in the background.
func (d *cutOutDialog) recut(path string, cuts CutOuts) {
	d.seq++
	seq, h := d.seq, d.editor.hints
	d.use.Disable()
	if h.Empty() {
		d.cut = nil
		d.showAuto()
		return
	}
	d.status.SetText("Cutting…")
	go func() {
		cut, preview, err := cuts.CutOut(path, h)
		onMain(func() {
			if seq != d.seq {
				return
			}
			d.cut = cut
			if err != nil {
				d.status.SetText(err.Error())
				return
			}
			d.preview.Resource, d.preview.Image = nil, preview
			d.preview.Refresh()
			d.status.SetText("This is what training will learn from.")
			d.use.Enable()
		})
	}()
}
