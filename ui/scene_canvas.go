package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// SceneCanvas is the picture as a square where things are placed: each
// thing (a concept from the library, or a plain word the model knows) is a
// box that can be moved and resized with the mouse (drag its body or its
// corner handle) or the keyboard (arrows move the selected box, Shift +
// arrows resize it, Delete removes it, Tab selects the next, Page Up and
// Page Down bring it forward or back). Boxes may overlap; the later one is
// drawn on top. The latest preview shows under
// the boxes.
type SceneCanvas struct {
	widget.BaseWidget

	// OnChanged is called on the main goroutine after the user changed the
	// scene (a drag ended, a key moved a box, a box was added or removed,
	// the background changed).
	OnChanged func()

	things     []app.SceneThing
	selected   int // −1: none
	background color.Color
	preview    image.Image
	thumbs     map[string]image.Image // by concept name (no star)
	gates      map[string]string      // gate caption by concept name
	focused    bool
	shift      bool

	// the drag in progress
	drag      int // box index; −1 none
	resizing  bool
	dragStart app.Region
	dragTotal fyne.Delta
}

// sceneStep is how far an arrow key moves or resizes a box (a 32nd of the
// picture: one pixel of a 32-pixel image).
const sceneStep = 1.0 / 32

// handleSize is the corner handle's side in points.
const handleSize = 10

// NewSceneCanvas makes an empty canvas.
func NewSceneCanvas() *SceneCanvas {
	c := &SceneCanvas{selected: -1, drag: -1, background: color.NRGBA{0xf4, 0xf4, 0xf4, 0xff},
		thumbs: map[string]image.Image{}, gates: map[string]string{}}
	c.ExtendBaseWidget(c)
	return c
}

// Things are the boxes, in stacking order.
func (c *SceneCanvas) Things() []app.SceneThing { return append([]app.SceneThing(nil), c.things...) }

// Regions are the boxes as generation takes them.
func (c *SceneCanvas) Regions() []app.Region {
	var out []app.Region
	for _, t := range c.things {
		out = append(out, t.Box)
	}
	return out
}

// SetThings replaces the boxes (a restored image, a prompt edit); it does
// not call OnChanged.
func (c *SceneCanvas) SetThings(things []app.SceneThing) {
	c.things = append([]app.SceneThing(nil), things...)
	if c.selected >= len(c.things) {
		c.selected = len(c.things) - 1
	}
	c.Refresh()
}

// SetBackground sets the colour shown behind the boxes.
func (c *SceneCanvas) SetBackground(col color.Color) {
	c.background = col
	c.Refresh()
}

// SetPreview shows an image under the boxes (nil: none).
func (c *SceneCanvas) SetPreview(img image.Image) {
	c.preview = img
	c.Refresh()
}

// SetConcepts gives the thumbnails and gate captions of the library's
// concepts, shown in their boxes.
func (c *SceneCanvas) SetConcepts(cs []ConceptInfo, gates []string) {
	c.thumbs = map[string]image.Image{}
	for _, ci := range cs {
		if ci.Thumbnail != nil {
			c.thumbs[ci.Name] = ci.Thumbnail
		}
	}
	c.SetGates(gates)
}

// SetGates sets the gate captions ("name=value", as the gate panel gives
// them) shown in the concepts' boxes.
func (c *SceneCanvas) SetGates(gates []string) {
	c.gates = map[string]string{}
	for _, g := range gates {
		if name, v, ok := strings.Cut(g, "="); ok {
			c.gates[name] = v
		}
	}
	c.Refresh()
}

// Selected is the selected box's index, −1 when none.
func (c *SceneCanvas) Selected() int { return c.selected }

// Select selects a box (−1: none).
func (c *SceneCanvas) Select(i int) {
	if i < -1 || i >= len(c.things) {
		i = -1
	}
	c.selected = i
	c.Refresh()
}

// Add puts a new box for words ("teddy*", "cat") centred at (x, y)
// (fractions of the picture), selects it and reports the change. It
// returns an error in plain words when the scene is full or already
// holds that thing.
func (c *SceneCanvas) Add(words string, x, y float64) error {
	words = strings.TrimSpace(words)
	name := app.RegionName(words)
	if name == "" {
		return fmt.Errorf("write a word to place")
	}
	if len(c.things) >= app.MaxSceneThings {
		return fmt.Errorf("a picture holds at most %d things in boxes; remove one first", app.MaxSceneThings)
	}
	for _, t := range c.things {
		if t.Box.Name == name {
			return fmt.Errorf("%s is already in the scene", words)
		}
	}
	const side = 0.4
	b := app.Region{Name: name, W: side, H: side}
	b.X, b.Y = clampSide(x-side/2, side), clampSide(y-side/2, side)
	c.things = append(c.things, app.SceneThing{Words: words, Box: b})
	c.selected = len(c.things) - 1
	c.Refresh()
	c.changed()
	return nil
}

// Remove deletes box i and reports the change.
func (c *SceneCanvas) Remove(i int) {
	if i < 0 || i >= len(c.things) {
		return
	}
	c.things = append(c.things[:i], c.things[i+1:]...)
	c.selected = min(i, len(c.things)-1)
	if len(c.things) == 0 {
		c.selected = -1
	}
	c.Refresh()
	c.changed()
}

// Clear removes every box and reports the change.
func (c *SceneCanvas) Clear() {
	if len(c.things) == 0 {
		return
	}
	c.things, c.selected = nil, -1
	c.Refresh()
	c.changed()
}

func (c *SceneCanvas) changed() {
	if c.OnChanged != nil {
		c.OnChanged()
	}
}

// shifted is b moved by (dx, dy), or with resize its width and height
// grown by them, kept inside the picture and no smaller than a region may
// be.
func shifted(b app.Region, dx, dy float64, resize bool) app.Region {
	if resize {
		b.W = math.Max(app.MinRegionSide, math.Min(1-b.X, b.W+dx))
		b.H = math.Max(app.MinRegionSide, math.Min(1-b.Y, b.H+dy))
	} else {
		b.X, b.Y = clampSide(b.X+dx, b.W), clampSide(b.Y+dy, b.H)
	}
	return b
}

func clampSide(v, side float64) float64 { return math.Max(0, math.Min(1-side, v)) }

// square is the picture's square inside the widget: its top-left corner
// and side, in points.
func (c *SceneCanvas) square() (fyne.Position, float32) {
	s := c.Size()
	side := min(s.Width, s.Height)
	return fyne.NewPos((s.Width-side)/2, (s.Height-side)/2), side
}

// toPicture turns a widget position into fractions of the picture.
func (c *SceneCanvas) toPicture(p fyne.Position) (x, y float64) {
	o, side := c.square()
	if side <= 0 {
		return 0, 0
	}
	return float64((p.X - o.X) / side), float64((p.Y - o.Y) / side)
}

// PointAt is the widget position of fractions (x, y) of the picture.
func (c *SceneCanvas) PointAt(x, y float64) fyne.Position {
	o, side := c.square()
	return fyne.NewPos(o.X+float32(x)*side, o.Y+float32(y)*side)
}

// hit finds the topmost box under p and whether p is on its resize
// handle.
func (c *SceneCanvas) hit(p fyne.Position) (int, bool) {
	_, side := c.square()
	x, y := c.toPicture(p)
	h := float64(handleSize) / float64(max(side, 1))
	for i := len(c.things) - 1; i >= 0; i-- {
		b := c.things[i].Box
		if x >= b.X+b.W-h && x <= b.X+b.W+h/2 && y >= b.Y+b.H-h && y <= b.Y+b.H+h/2 {
			return i, true
		}
		if b.Contains(x, y) {
			return i, false
		}
	}
	return -1, false
}

// Tapped selects the box under the pointer (none on empty space) and
// takes the keyboard focus.
func (c *SceneCanvas) Tapped(e *fyne.PointEvent) {
	i, _ := c.hit(e.Position)
	c.selected = i
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c); cv != nil {
		cv.Focus(c)
	}
	c.Refresh()
}

// Dragged moves or resizes the box the drag started on, by the drag's
// deltas summed (the pointer's start is the first event's position less
// its delta; a driver that reports the start itself is read that way too).
func (c *SceneCanvas) Dragged(e *fyne.DragEvent) {
	if c.drag < 0 {
		i, handle := c.hit(e.Position.Subtract(e.Dragged))
		if i < 0 {
			i, handle = c.hit(e.Position)
		}
		if i < 0 {
			return
		}
		c.drag, c.resizing, c.dragStart, c.dragTotal = i, handle, c.things[i].Box, fyne.Delta{}
		c.selected = i
	}
	c.dragTotal.DX += e.Dragged.DX
	c.dragTotal.DY += e.Dragged.DY
	_, side := c.square()
	dx, dy := float64(c.dragTotal.DX/max(side, 1)), float64(c.dragTotal.DY/max(side, 1))
	c.things[c.drag].Box = shifted(c.dragStart, dx, dy, c.resizing)
	c.Refresh()
}

// DragEnd ends a move or resize and reports the change.
func (c *SceneCanvas) DragEnd() {
	if c.drag < 0 {
		return
	}
	c.drag = -1
	c.changed()
}

// FocusGained, FocusLost and TypedRune make the canvas take keys.
func (c *SceneCanvas) FocusGained()   { c.focused = true; c.Refresh() }
func (c *SceneCanvas) FocusLost()     { c.focused = false; c.shift = false; c.Refresh() }
func (c *SceneCanvas) TypedRune(rune) {}

// KeyDown and KeyUp track Shift (arrows then resize).
func (c *SceneCanvas) KeyDown(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		c.shift = true
	}
}

func (c *SceneCanvas) KeyUp(k *fyne.KeyEvent) {
	if k.Name == desktop.KeyShiftLeft || k.Name == desktop.KeyShiftRight {
		c.shift = false
	}
}

// TypedKey moves (arrows), resizes (Shift + arrows) or removes (Delete,
// Backspace) the selected box; Tab selects the next box.
func (c *SceneCanvas) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyTab && len(c.things) > 0 {
		c.selected = (c.selected + 1) % len(c.things)
		c.Refresh()
		return
	}
	if c.selected < 0 || c.selected >= len(c.things) {
		return
	}
	b := c.things[c.selected].Box
	dx, dy := 0.0, 0.0
	switch k.Name {
	case fyne.KeyLeft:
		dx = -sceneStep
	case fyne.KeyRight:
		dx = sceneStep
	case fyne.KeyUp:
		dy = -sceneStep
	case fyne.KeyDown:
		dy = sceneStep
	case fyne.KeyDelete, fyne.KeyBackspace:
		c.Remove(c.selected)
		return
	case fyne.KeyPageUp, fyne.KeyPageDown:
		// Page Up brings the box one step to the front, Page Down one
		// step back (the stacking order is the list's).
		j := c.selected + 1
		if k.Name == fyne.KeyPageDown {
			j = c.selected - 1
		}
		if j < 0 || j >= len(c.things) {
			return
		}
		c.things[c.selected], c.things[j] = c.things[j], c.things[c.selected]
		c.selected = j
		c.Refresh()
		c.changed()
		return
	default:
		return
	}
	c.things[c.selected].Box = shifted(b, dx, dy, c.shift)
	c.Refresh()
	c.changed()
}

// MinSize is small: the canvas takes the square it is given.
func (c *SceneCanvas) MinSize() fyne.Size { return fyne.NewSquareSize(120) }

func (c *SceneCanvas) CreateRenderer() fyne.WidgetRenderer {
	r := &sceneRenderer{c: c, bg: canvas.NewRectangle(color.Transparent), frame: canvas.NewRectangle(color.Transparent),
		preview: canvas.NewImageFromImage(nil), empty: canvas.NewText("Drag concepts here", theme.Color(theme.ColorNamePlaceHolder))}
	r.preview.ScaleMode, r.preview.FillMode = canvas.ImageScalePixels, canvas.ImageFillStretch
	r.preview.Translucency = 0.35
	r.frame.StrokeWidth = 1
	r.empty.TextSize = theme.CaptionTextSize()
	r.empty.Alignment = fyne.TextAlignCenter
	return r
}

// sceneRenderer draws the square, the preview and one box per thing.
type sceneRenderer struct {
	c       *SceneCanvas
	bg      *canvas.Rectangle
	frame   *canvas.Rectangle
	preview *canvas.Image
	empty   *canvas.Text
	boxes   []*sceneBoxObjects
}

// sceneBoxObjects are the drawn parts of one box.
type sceneBoxObjects struct {
	rect   *canvas.Rectangle
	thumb  *canvas.Image
	label  *canvas.Text
	handle *canvas.Rectangle
}

// boxColours tell the boxes apart (as eval -regions' grid does).
var boxColours = []color.NRGBA{{230, 30, 30, 255}, {30, 90, 230, 255}, {20, 170, 60, 255}, {200, 120, 0, 255}}

func (r *sceneRenderer) Layout(fyne.Size) { r.place() }

func (r *sceneRenderer) MinSize() fyne.Size { return r.c.MinSize() }

func (r *sceneRenderer) Refresh() {
	c := r.c
	r.bg.FillColor = c.background
	r.frame.StrokeColor = theme.Color(theme.ColorNameInputBorder)
	if c.focused {
		r.frame.StrokeColor = theme.Color(theme.ColorNamePrimary)
	}
	r.preview.Image = c.preview
	r.preview.Hidden = c.preview == nil
	r.empty.Hidden = len(c.things) > 0
	for len(r.boxes) < len(c.things) {
		b := &sceneBoxObjects{rect: canvas.NewRectangle(color.Transparent), thumb: canvas.NewImageFromImage(nil),
			label: canvas.NewText("", color.Black), handle: canvas.NewRectangle(color.Black)}
		b.thumb.ScaleMode, b.thumb.FillMode = canvas.ImageScalePixels, canvas.ImageFillContain
		b.thumb.Translucency = 0.25
		b.label.TextSize = theme.CaptionTextSize()
		r.boxes = append(r.boxes, b)
	}
	r.boxes = r.boxes[:len(c.things)]
	for i, t := range c.things {
		b := r.boxes[i]
		col := boxColours[i%len(boxColours)]
		b.rect.StrokeColor = col
		b.rect.StrokeWidth = 1.5
		b.rect.FillColor = color.NRGBA{col.R, col.G, col.B, 0x22}
		if i == c.selected {
			b.rect.StrokeWidth = 3
			b.rect.FillColor = color.NRGBA{col.R, col.G, col.B, 0x44}
		}
		b.handle.FillColor = col
		b.handle.Hidden = i != c.selected
		name := strings.TrimSuffix(t.Words, "*")
		b.thumb.Image = nil
		if strings.HasSuffix(t.Words, "*") {
			b.thumb.Image = c.thumbs[name]
		}
		b.thumb.Hidden = b.thumb.Image == nil
		b.label.Text = t.Words
		if g := c.gates[name]; g != "" && strings.HasSuffix(t.Words, "*") {
			b.label.Text += " " + g
		}
		b.label.Color = col
	}
	r.place()
	canvas.Refresh(c)
}

// place lays the objects out over the widget's square.
func (r *sceneRenderer) place() {
	c := r.c
	o, side := c.square()
	r.bg.Move(o)
	r.bg.Resize(fyne.NewSquareSize(side))
	r.frame.Move(o)
	r.frame.Resize(fyne.NewSquareSize(side))
	r.preview.Move(o)
	r.preview.Resize(fyne.NewSquareSize(side))
	r.empty.Move(fyne.NewPos(o.X, o.Y+side/2-r.empty.MinSize().Height/2))
	r.empty.Resize(fyne.NewSize(side, r.empty.MinSize().Height))
	for i, t := range c.things {
		if i >= len(r.boxes) {
			break
		}
		b := r.boxes[i]
		p := c.PointAt(t.Box.X, t.Box.Y)
		sz := fyne.NewSize(float32(t.Box.W)*side, float32(t.Box.H)*side)
		b.rect.Move(p)
		b.rect.Resize(sz)
		ts := min(sz.Width, sz.Height) * 0.6
		b.thumb.Move(fyne.NewPos(p.X+(sz.Width-ts)/2, p.Y+(sz.Height-ts)/2))
		b.thumb.Resize(fyne.NewSquareSize(ts))
		b.label.Move(fyne.NewPos(p.X+3, p.Y+1))
		fitText(b.label, sz.Width-6)
		b.handle.Move(fyne.NewPos(p.X+sz.Width-handleSize, p.Y+sz.Height-handleSize))
		b.handle.Resize(fyne.NewSquareSize(handleSize))
	}
}

// fitText cuts a label to a width, ending it with "…".
func fitText(t *canvas.Text, width float32) {
	measure := func(s string) float32 {
		return fyne.MeasureText(s, t.TextSize, t.TextStyle).Width
	}
	if measure(t.Text) <= width {
		return
	}
	r := []rune(t.Text)
	for len(r) > 1 && measure(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	t.Text = string(r) + "…"
}

func (r *sceneRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.bg, r.preview, r.empty}
	for _, b := range r.boxes {
		objs = append(objs, b.rect, b.thumb, b.label, b.handle)
	}
	return append(objs, r.frame)
}

func (r *sceneRenderer) Destroy() {}
