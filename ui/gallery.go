package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// Saver asks the user where to save. done runs on the main goroutine with
// the chosen path, or "" when the user cancelled.
type Saver interface {
	SaveFile(title, suggested string, done func(path string, err error))
	ChooseFolder(title string, done func(dir string, err error))
	// OpenImage asks for one image file to open ("" when cancelled).
	OpenImage(title string, done func(path string, err error))
}

// Gallery shows the generated images, newest first, each with its
// settings; a click enlarges one, and the selected (or all) images are
// exported as PNGs that keep their settings.
type Gallery struct {
	widget.BaseWidget

	// OnStatus reports what an export did.
	OnStatus func(string)

	win      fyne.Window
	saver    Saver
	shots    []Shot
	selected map[*Shot]bool

	grid      *fyne.Container
	scale     *widget.Select // the export size, remembered
	cellSize  float32        // the side of a result's cell, following the width
	empty     *widget.Label
	exportSel *widget.Button
	exportAll *widget.Button
	clear     *widget.Button
	scroll    *container.Scroll
	body      fyne.CanvasObject
	enlarged  dialog.Dialog  // the open enlargement, for tests
	attention *widget.Select // its attention-map picker, when it has maps
}

const galleryCell = 136

// NewGallery makes an empty gallery; dialogs open over win.
func NewGallery(win fyne.Window, saver Saver) *Gallery {
	g := &Gallery{win: win, saver: saver, selected: map[*Shot]bool{}}
	g.ExtendBaseWidget(g)
	g.cellSize = galleryCell
	g.grid = container.NewGridWrap(fyne.NewSize(galleryCell, galleryCell+76))
	g.empty = widget.NewLabel("Generated images appear here.")
	g.empty.Alignment = fyne.TextAlignCenter
	g.exportSel = widget.NewButtonWithIcon("Export selected…", theme.DocumentSaveIcon(), func() { g.Export(g.Selected()) })
	g.exportAll = widget.NewButtonWithIcon("Export all…", theme.DocumentSaveIcon(), func() { g.Export(g.Shots()) })
	g.clear = widget.NewButtonWithIcon("Clear", theme.ContentClearIcon(), g.Clear)
	g.clear.Importance = widget.LowImportance
	g.scale = widget.NewSelect(scaleLabels(), func(label string) {
		if a := fyne.CurrentApp(); a != nil {
			a.Preferences().SetInt(exportScalePref, scaleOf(label))
		}
	})
	k := 1
	if a := fyne.CurrentApp(); a != nil {
		k = a.Preferences().IntWithFallback(exportScalePref, 1)
	}
	g.scale.SetSelected(scaleLabel(k))
	g.scroll = container.NewVScroll(g.grid)
	head := container.NewHBox(widget.NewLabelWithStyle("Gallery", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		layout.NewSpacer(), g.clear, widget.NewLabel("Size"), container.NewGridWrap(fyne.NewSize(76, g.scale.MinSize().Height), g.scale), g.exportSel, g.exportAll)
	g.body = container.NewBorder(head, nil, nil, nil, container.NewStack(g.scroll, container.NewCenter(g.empty)))
	g.refresh()
	return g
}

// CreateRenderer implements fyne.Widget.
func (g *Gallery) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(g.body) }

// Resize lays the gallery out with its results as large as four to a row
// allow (galleryCell to galleryCellMax, in steps of 8), so a big window
// shows big pictures.
func (g *Gallery) Resize(size fyne.Size) {
	if c := cellFor(size.Width); c != g.cellSize {
		g.cellSize = c
		g.grid.Layout = layout.NewGridWrapLayout(fyne.NewSize(c, c+76))
		g.refresh()
	}
	g.BaseWidget.Resize(size)
}

// galleryCellMax is the largest cell side.
const galleryCellMax = 264

// cellFor is the cell side for a gallery width: a quarter of it (less
// the scroll bar), rounded down to 8, within galleryCell..galleryCellMax.
func cellFor(width float32) float32 {
	c := float32(int((width-16)/4/8) * 8)
	return min(max(c, galleryCell), galleryCellMax)
}

// Add puts a batch of results at the top.
func (g *Gallery) Add(shots []Shot) {
	ns := make([]Shot, 0, len(shots)+len(g.shots))
	ns = append(ns, shots...)
	ns = append(ns, g.shots...)
	sel := map[int]bool{}
	for i := range g.shots {
		if g.selected[&g.shots[i]] {
			sel[i+len(shots)] = true
		}
	}
	g.shots = ns
	g.selected = map[*Shot]bool{}
	for i := range sel {
		g.selected[&g.shots[i]] = true
	}
	g.refresh()
	g.scroll.ScrollToTop()
}

// Clear empties the gallery.
func (g *Gallery) Clear() {
	g.shots = nil
	g.selected = map[*Shot]bool{}
	g.refresh()
}

// Shots returns all results, newest first.
func (g *Gallery) Shots() []Shot { return append([]Shot(nil), g.shots...) }

// Selected returns the selected results, newest first.
func (g *Gallery) Selected() []Shot {
	var out []Shot
	for i := range g.shots {
		if g.selected[&g.shots[i]] {
			out = append(out, g.shots[i])
		}
	}
	return out
}

// Select marks the i-th result (newest first) as selected or not.
func (g *Gallery) Select(i int, on bool) {
	if i < 0 || i >= len(g.shots) {
		return
	}
	if on {
		g.selected[&g.shots[i]] = true
	} else {
		delete(g.selected, &g.shots[i])
	}
	g.refresh()
}

func (g *Gallery) refresh() {
	cells := make([]fyne.CanvasObject, 0, len(g.shots))
	for i := range g.shots {
		cells = append(cells, g.cell(i))
	}
	g.grid.Objects = cells
	g.grid.Refresh()
	g.empty.Hidden = len(g.shots) > 0
	g.empty.Refresh()
	if len(g.shots) == 0 { // an empty grid is still one row tall: no scroll bar
		g.scroll.Hide()
	} else {
		g.scroll.Show()
	}
	if len(g.shots) == 0 {
		g.exportAll.Disable()
		g.clear.Disable()
	} else {
		g.exportAll.Enable()
		g.clear.Enable()
	}
	if len(g.Selected()) == 0 {
		g.exportSel.Disable()
	} else {
		g.exportSel.Enable()
	}
}

func (g *Gallery) cell(i int) fyne.CanvasObject {
	s := &g.shots[i]
	img := newTappableImage(s.Image, fyne.NewSquareSize(g.cellSize-8), func() { g.Enlarge(i) })
	check := widget.NewCheck(shotTitle(*s), func(on bool) {
		if on {
			g.selected[s] = true
		} else {
			delete(g.selected, s)
		}
		if len(g.Selected()) == 0 {
			g.exportSel.Disable()
		} else {
			g.exportSel.Enable()
		}
	})
	check.Checked = g.selected[s]
	caption := func(text string) *widget.Label {
		l := widget.NewLabel(text)
		l.SizeName = theme.SizeNameCaptionText
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	gates := strings.Join(s.Spec.Gates, " ")
	if s.Spec.GlobalLocking {
		gates += " (global)"
	}
	lines := container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()),
		caption(fmt.Sprintf("%d steps · cfg %s", s.Spec.Steps, strconv.FormatFloat(s.Spec.Guidance, 'g', -1, 64))))
	if gates != "" {
		lines.Add(caption(gates))
	}
	return container.NewBorder(nil, container.NewVBox(check, lines), nil, nil, img)
}

// shotTitle is the short name of a result: its seed and index.
func shotTitle(s Shot) string { return fmt.Sprintf("seed %d #%d", s.Spec.Seed, s.Index) }

// shotDetails lists a result's settings on one line.
func shotDetails(s Shot) string {
	parts := []string{fmt.Sprintf("%d steps", s.Spec.Steps), "cfg " + strconv.FormatFloat(s.Spec.Guidance, 'g', -1, 64),
		"layout " + strconv.FormatFloat(s.Spec.Layout, 'g', -1, 64)}
	parts = append(parts, s.Spec.Gates...)
	if s.Spec.GlobalLocking {
		parts = append(parts, "global locking")
	}
	return strings.Join(parts, " · ")
}

// Enlarge opens the i-th result large, pixels kept sharp.
func (g *Gallery) Enlarge(i int) {
	if i < 0 || i >= len(g.shots) {
		return
	}
	s := g.shots[i]
	img := canvas.NewImageFromImage(s.Image)
	img.ScaleMode = canvas.ImageScalePixels
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSquareSize(384))
	var attention fyne.CanvasObject = layout.NewSpacer()
	if len(s.Attention) > 0 {
		attention = g.attentionPicker(s, img)
	}
	prompt := widget.NewLabel(s.Spec.Prompt)
	prompt.Wrapping = fyne.TextWrapWord
	details := widget.NewLabel(shotTitle(s) + " · " + shotDetails(s))
	details.Wrapping = fyne.TextWrapWord
	export := widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), func() { g.Export([]Shot{s}) })
	content := container.NewBorder(nil, container.NewVBox(prompt, details, container.NewHBox(attention, layout.NewSpacer(), export)), nil, nil, img)
	d := dialog.NewCustom(shotTitle(s), "Close", content, g.win)
	g.enlarged = d
	d.Show()
}

// attentionPicker offers the shot's attention maps over the enlarged image:
// concept words first (Perfusion's key locking should keep each on its
// object), then the other words; "off" shows the plain image.
func (g *Gallery) attentionPicker(s Shot, img *canvas.Image) fyne.CanvasObject {
	const off = "off"
	var words []string
	for _, concepts := range []bool{true, false} {
		for _, m := range s.Attention {
			if strings.HasSuffix(m.Word, "*") == concepts {
				words = append(words, m.Word)
			}
		}
	}
	sel := widget.NewSelect(append([]string{off}, words...), func(w string) {
		img.Image = s.Image
		for _, m := range s.Attention {
			if m.Word == w {
				img.Image = attentionOverlay(s.Image, m.Map, 256)
			}
		}
		img.Refresh()
	})
	sel.SetSelectedIndex(0)
	g.attention = sel
	return container.NewHBox(widget.NewLabel("Attention to"), sel)
}

// attentionOverlay draws the image size×size (nearest, so its pixels stay
// sharp) under the map (bilinear, its range stretched to 0..1), coloured
// from transparent through orange to red as attention grows.
func attentionOverlay(src image.Image, m *image.Gray, size int) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, size, size))
	sb, mb := src.Bounds(), m.Bounds()
	// stretch the map's own range to 0..1, so the least attended region
	// shows the plain image whatever the word's overall share
	lo, hi := uint8(255), uint8(0)
	for y := mb.Min.Y; y < mb.Max.Y; y++ {
		for x := mb.Min.X; x < mb.Max.X; x++ {
			v := m.GrayAt(x, y).Y
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	span := max(float64(hi)-float64(lo), 1)
	at := func(x, y int) float64 {
		x, y = min(max(x, 0), mb.Dx()-1), min(max(y, 0), mb.Dy()-1)
		return (float64(m.GrayAt(mb.Min.X+x, mb.Min.Y+y).Y) - float64(lo)) / span
	}
	for py := 0; py < size; py++ {
		fy := (float64(py)+0.5)*float64(mb.Dy())/float64(size) - 0.5
		y0 := int(math.Floor(fy))
		ty := fy - float64(y0)
		for px := 0; px < size; px++ {
			fx := (float64(px)+0.5)*float64(mb.Dx())/float64(size) - 0.5
			x0 := int(math.Floor(fx))
			tx := fx - float64(x0)
			v := (1-ty)*((1-tx)*at(x0, y0)+tx*at(x0+1, y0)) + ty*((1-tx)*at(x0, y0+1)+tx*at(x0+1, y0+1))
			r, gg, b, _ := src.At(sb.Min.X+px*sb.Dx()/size, sb.Min.Y+py*sb.Dy()/size).RGBA()
			// heat colour: orange at low attention, red at the most
			hr, hg, hb := 255.0, 165*(1-v), 0.0
			a := 0.8 * v
			mix := func(c uint32, h float64) uint8 { return uint8(float64(c>>8)*(1-a) + h*a + 0.5) }
			out.SetNRGBA(px, py, color.NRGBA{mix(r, hr), mix(gg, hg), mix(b, hb), 255})
		}
	}
	return out
}

// Export saves shots: one asks for a file name, several for a folder.
func (g *Gallery) Export(shots []Shot) {
	if len(shots) == 0 {
		return
	}
	if len(shots) == 1 {
		g.saver.SaveFile("Export image", shotFileName(shots[0]), func(path string, err error) {
			if err != nil || path == "" {
				g.report(err, "")
				return
			}
			g.report(writeShot(shots[0], path, g.ExportScale()), "Exported "+filepath.Base(path)+".")
		})
		return
	}
	g.saver.ChooseFolder(fmt.Sprintf("Export %d images to", len(shots)), func(dir string, err error) {
		if err != nil || dir == "" {
			g.report(err, "")
			return
		}
		for _, s := range shots {
			if err := writeShot(s, freeName(dir, shotFileName(s)), g.ExportScale()); err != nil {
				g.report(err, "")
				return
			}
		}
		g.report(nil, fmt.Sprintf("Exported %d images to %s.", len(shots), dir))
	})
}

func (g *Gallery) report(err error, ok string) {
	msg := ok
	if err != nil {
		msg = "Export failed: " + err.Error()
	}
	if msg != "" && g.OnStatus != nil {
		g.OnStatus(msg)
	}
}

// shotFileName is a result's suggested file name.
func shotFileName(s Shot) string {
	p := app.Slug(s.Spec.Prompt)
	if p == "" {
		p = "image"
	}
	return fmt.Sprintf("%s-seed%d-%d.png", p, s.Spec.Seed, s.Index)
}

// freeName is dir/name, numbered when that file exists.
func freeName(dir, name string) string {
	p := filepath.Join(dir, name)
	ext := filepath.Ext(name)
	for n := 2; ; n++ {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p
		}
		p = filepath.Join(dir, fmt.Sprintf("%s-%d%s", strings.TrimSuffix(name, ext), n, ext))
	}
}

// exportScalePref remembers the export size between sessions.
const exportScalePref = "export_scale"

// scaleLabel names an export scale in the size menu ("×1": the model's
// own pixels).
func scaleLabel(k int) string { return fmt.Sprintf("×%d", max(k, 1)) }

func scaleLabels() []string {
	var out []string
	for _, k := range app.ExportScales {
		out = append(out, scaleLabel(k))
	}
	return out
}

func scaleOf(label string) int {
	for _, k := range app.ExportScales {
		if scaleLabel(k) == label {
			return k
		}
	}
	return 1
}

// ExportScale is the chosen export size: each pixel as a k×k square.
func (g *Gallery) ExportScale() int { return scaleOf(g.scale.Selected) }

// writeShot writes a result as a PNG with its settings (the app's when it
// rendered the image, else made from the spec), scaled up k times.
func writeShot(s Shot, path string, k int) error {
	meta := s.Meta
	if meta == nil {
		meta = map[string]string{
			"prompt": s.Spec.Prompt, "seed": strconv.FormatInt(s.Spec.Seed, 10), "index": strconv.Itoa(s.Index),
			"steps": strconv.Itoa(s.Spec.Steps), "guidance": strconv.FormatFloat(s.Spec.Guidance, 'g', -1, 64),
			"layout": strconv.FormatFloat(s.Spec.Layout, 'g', -1, 64),
		}
		if len(s.Spec.Gates) > 0 {
			meta["gates"] = strings.Join(s.Spec.Gates, ",")
		}
	}
	return app.ExportPNG(path, s.Image, meta, k)
}

// tappableImage is an image that does something when clicked.
type tappableImage struct {
	widget.BaseWidget
	img   *canvas.Image
	onTap func()
}

func newTappableImage(img image.Image, size fyne.Size, onTap func()) *tappableImage {
	t := &tappableImage{img: canvas.NewImageFromImage(img), onTap: onTap}
	t.img.ScaleMode = canvas.ImageScalePixels
	t.img.FillMode = canvas.ImageFillContain
	t.img.SetMinSize(size)
	t.ExtendBaseWidget(t)
	return t
}

func (t *tappableImage) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.img) }

// Tapped implements fyne.Tappable.
func (t *tappableImage) Tapped(*fyne.PointEvent) {
	if t.onTap != nil {
		t.onTap()
	}
}
