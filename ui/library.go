package ui

import (
	"fmt"
	"math"
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

// LibraryPanel lists the concepts with their thumbnail, method, size on
// disk and identity score; each can be used in the prompt, renamed,
// exported, shown with its training images or deleted (with Undo).
type LibraryPanel struct {
	widget.BaseWidget

	// OnUse puts name* into the prompt.
	OnUse func(name string)
	// OnPlace puts name* on the scene canvas, centred at the absolute
	// position at (a row dragged there; nil at: the menu's "Place in
	// scene", the canvas's middle).
	OnPlace func(name string, at *fyne.Position)
	// OnStatus reports what an action did.
	OnStatus func(string)
	// OnChanged is called after the list was (re)loaded.
	OnChanged func([]ConceptInfo)
	// OnRetrain asks for the outdated concepts to be trained again on the
	// base model in use (the "Retrain all" bar).
	OnRetrain func([]OutdatedConcept)

	win      fyne.Window
	lib      ConceptLibrary
	saver    Saver
	concepts []ConceptInfo

	list     *widget.List
	empty    fyne.CanvasObject
	undoBar  *fyne.Container
	undoText *widget.Label
	undoBtn  *widget.Button
	undoID   string
	body     fyne.CanvasObject

	outdated    []OutdatedConcept
	outdatedBar *fyne.Container
	outdatedMsg *widget.Label
	retrain     *widget.Button
}

// NewLibraryPanel makes the panel and loads the list.
func NewLibraryPanel(win fyne.Window, lib ConceptLibrary, saver Saver) *LibraryPanel {
	p := &LibraryPanel{win: win, lib: lib, saver: saver}
	p.ExtendBaseWidget(p)
	p.list = widget.NewList(func() int { return len(p.concepts) }, p.newRow, p.updateRow)
	p.list.OnSelected = func(i widget.ListItemID) {
		p.list.UnselectAll()
		if i < len(p.concepts) && p.OnUse != nil && p.concepts[i].Problem == "" {
			p.OnUse(p.concepts[i].Name)
		}
	}
	empty := widget.NewLabel("No concepts yet.\nDrop 3-5 images of\nyour thing on this\nwindow to teach it.")
	empty.Alignment = fyne.TextAlignCenter
	p.empty = container.NewCenter(empty)
	p.undoText = widget.NewLabel("")
	p.undoText.Truncation = fyne.TextTruncateEllipsis
	p.undoBtn = widget.NewButtonWithIcon("Undo", theme.ContentUndoIcon(), p.Undo)
	p.undoBar = container.NewBorder(nil, nil, nil, p.undoBtn, p.undoText)
	p.undoBar.Hide()
	p.outdatedMsg = widget.NewLabel("")
	p.outdatedMsg.Wrapping = fyne.TextWrapWord
	p.outdatedMsg.SizeName = theme.SizeNameCaptionText
	p.retrain = widget.NewButtonWithIcon("Retrain all", theme.ViewRefreshIcon(), func() {
		if p.OnRetrain != nil && len(p.outdated) > 0 {
			list := p.outdated
			p.SetOutdated(nil)
			p.OnRetrain(list)
		}
	})
	p.retrain.Importance = widget.HighImportance
	p.outdatedBar = container.NewVBox(p.outdatedMsg, p.retrain)
	p.outdatedBar.Hide()
	p.body = container.NewBorder(
		container.NewVBox(widget.NewLabelWithStyle("Concepts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), p.outdatedBar),
		p.undoBar, nil, nil, container.NewStack(p.list, p.empty))
	p.Reload()
	return p
}

// CreateRenderer implements fyne.Widget.
func (p *LibraryPanel) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(p.body) }

// Concepts returns the list as shown.
func (p *LibraryPanel) Concepts() []ConceptInfo { return append([]ConceptInfo(nil), p.concepts...) }

// Names returns the names of the usable concepts.
func (p *LibraryPanel) Names() []string {
	var out []string
	for _, c := range p.concepts {
		if c.Problem == "" {
			out = append(out, c.Name)
		}
	}
	return out
}

// Reload reads the library again.
func (p *LibraryPanel) Reload() {
	cs, err := p.lib.Concepts()
	if err != nil {
		p.status("Cannot read the concept library: " + app.Explain(err))
	}
	p.concepts = cs
	p.list.Refresh()
	if len(cs) == 0 {
		p.empty.Show()
	} else {
		p.empty.Hide()
	}
	if p.OnChanged != nil {
		p.OnChanged(p.Concepts())
	}
}

// SetOutdated shows (or, with none, hides) the bar that offers to retrain
// the concepts made for another base model.
func (p *LibraryPanel) SetOutdated(list []OutdatedConcept) {
	p.outdated = list
	if len(list) == 0 {
		p.outdatedBar.Hide()
		return
	}
	names := make([]string, len(list))
	for i, c := range list {
		names[i] = c.Name + "*"
	}
	p.outdatedMsg.SetText(fmt.Sprintf("%d concept(s) were made for another base model and cannot draw with this one: %s. Retraining learns them again from the images the library keeps.", len(list), strings.Join(names, ", ")))
	p.outdatedBar.Show()
}

// Outdated is what the retrain bar offers (tests).
func (p *LibraryPanel) Outdated() []OutdatedConcept { return p.outdated }

func (p *LibraryPanel) status(s string) {
	if p.OnStatus != nil {
		p.OnStatus(s)
	}
}

// libraryRow is one row of the list: the thumbnail, then the name (with
// the menu button beside it), the class, method and size, and the identity
// score, each on its own line. The lines under the name run under the menu
// button, so that a class of two words fits at the window's default width.
type libraryRow struct {
	widget.BaseWidget
	box    *fyne.Container
	thumb  *canvas.Image
	name   *widget.Label
	class  *widget.Label
	detail *widget.Label
	score  *widget.Label
	menu   *widget.Button

	panel    *LibraryPanel
	concept  string // the concept shown (no star)
	broken   bool   // it cannot be used
	dragging bool
	dragAt   fyne.Position
}

func (p *LibraryPanel) newRow() fyne.CanvasObject {
	caption := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.SizeName = theme.SizeNameCaptionText
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	r := &libraryRow{thumb: canvas.NewImageFromImage(nil), name: widget.NewLabelWithStyle("concept", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		class: caption("class"), detail: caption("method"), score: caption("score")}
	r.thumb.ScaleMode = canvas.ImageScalePixels
	r.thumb.FillMode = canvas.ImageFillContain
	r.thumb.SetMinSize(fyne.NewSquareSize(44))
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.menu = widget.NewButtonWithIcon("", theme.MoreHorizontalIcon(), nil)
	r.menu.Importance = widget.LowImportance
	text := container.New(layout.NewCustomPaddedVBoxLayout(-theme.Padding()*2),
		container.NewBorder(nil, nil, nil, r.menu, r.name), r.class, r.detail, r.score)
	r.box = container.NewBorder(nil, nil, container.NewVBox(r.thumb), nil, text)
	r.ExtendBaseWidget(r)
	return r
}

func (r *libraryRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.box) }

// Dragged follows a row being dragged (towards the scene canvas).
func (r *libraryRow) Dragged(e *fyne.DragEvent) { r.dragAt = e.AbsolutePosition; r.dragging = true }

// DragEnd drops the row's concept where the drag ended.
func (r *libraryRow) DragEnd() {
	if !r.dragging {
		return
	}
	r.dragging = false
	if r.panel != nil && r.panel.OnPlace != nil && r.concept != "" && !r.broken {
		at := r.dragAt
		r.panel.OnPlace(r.concept, &at)
	}
}

func (p *LibraryPanel) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(p.concepts) {
		return
	}
	c := p.concepts[i]
	r := o.(*libraryRow)
	r.panel, r.concept, r.broken = p, c.Name, c.Problem != ""
	r.thumb.Image, r.thumb.Resource = c.Thumbnail, nil
	if c.Thumbnail == nil {
		r.thumb.Resource = theme.FileImageIcon()
	}
	r.thumb.Refresh()
	r.name.SetText(c.Name + "*")
	r.class.SetText(c.Class)
	if c.Problem != "" {
		r.detail.Importance = widget.DangerImportance
		r.detail.SetText(c.Problem)
		r.score.SetText("")
	} else {
		r.detail.Importance = widget.MediumImportance
		r.detail.SetText(methodTitle(c.Method) + " · " + humanBytes(c.Size))
		r.score.SetText(conceptScore(c))
	}
	r.menu.OnTapped = func() {
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(r.menu).Add(fyne.NewPos(0, r.menu.Size().Height))
		widget.ShowPopUpMenuAtPosition(p.menuFor(c.Name), p.win.Canvas(), pos)
	}
}

// conceptScore is the last line of a row: the identity score, when the
// concept was measured.
func conceptScore(c ConceptInfo) string {
	if math.IsNaN(c.Identity) {
		return ""
	}
	return fmt.Sprintf("identity %.2f", c.Identity)
}

func (p *LibraryPanel) menuFor(name string) *fyne.Menu {
	return fyne.NewMenu(name,
		fyne.NewMenuItem("Use in prompt", func() {
			if p.OnUse != nil {
				p.OnUse(name)
			}
		}),
		fyne.NewMenuItem("Place in scene", func() {
			if p.OnPlace != nil {
				p.OnPlace(name, nil)
			}
		}),
		fyne.NewMenuItem("Rename…", func() { p.askRename(name) }),
		fyne.NewMenuItem("Export…", func() { p.Export(name) }),
		fyne.NewMenuItem("Show training images", func() { p.ShowTrainingImages(name) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Delete", func() { p.Delete(name) }),
	)
}

// humanBytes formats a file size.
func humanBytes(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.0f KB", float64(n)/1024)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
	}
}

func (p *LibraryPanel) askRename(name string) {
	e := widget.NewEntry()
	e.SetText(name)
	e.Validator = func(s string) error {
		if !validConceptName(s) {
			return fmt.Errorf("lower-case letters and digits, starting with a letter")
		}
		return nil
	}
	dialog.ShowForm("Rename "+name+"*", "Rename", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("New name", e)}, func(ok bool) {
			if ok {
				p.Rename(name, e.Text)
			}
		}, p.win)
}

// Rename renames a concept and reloads.
func (p *LibraryPanel) Rename(name, newName string) {
	if name == newName {
		return
	}
	if err := p.lib.RenameConcept(name, newName); err != nil {
		p.status(fmt.Sprintf("Cannot rename %s*: %s", name, app.Explain(err)))
		return
	}
	p.Reload()
	p.status(fmt.Sprintf("Renamed %s* to %s*. Prompts that use %s* need the new name.", name, newName, name))
}

// Delete moves a concept to the trash and offers Undo.
func (p *LibraryPanel) Delete(name string) {
	id, err := p.lib.DeleteConcept(name)
	if err != nil {
		p.status(fmt.Sprintf("Cannot delete %s*: %s", name, app.Explain(err)))
		return
	}
	p.undoID = id
	p.undoText.SetText(fmt.Sprintf("Deleted %s*.", name))
	p.undoBar.Show()
	p.Reload()
	p.status(fmt.Sprintf("Deleted %s*. Undo brings it back.", name))
}

// Undo restores the last deleted concept.
func (p *LibraryPanel) Undo() {
	if p.undoID == "" {
		return
	}
	if err := p.lib.RestoreConcept(p.undoID); err != nil {
		p.status("Cannot restore: " + app.Explain(err))
		return
	}
	p.undoID = ""
	p.undoBar.Hide()
	p.Reload()
	p.status("Restored.")
}

// Export asks where to save a concept file and writes it.
func (p *LibraryPanel) Export(name string) {
	p.saver.SaveFile("Export "+name+"*", name+".concept.safetensors", func(path string, err error) {
		if err != nil {
			p.status("Export failed: " + app.Explain(err))
			return
		}
		if path == "" {
			return
		}
		if err := p.lib.ExportConcept(name, path); err != nil {
			p.status(fmt.Sprintf("Cannot export %s*: %s", name, app.Explain(err)))
			return
		}
		p.status(fmt.Sprintf("Exported %s* to %s.", name, path))
	})
}

// noTrainingImages is what the training-images dialog says for a concept
// the library keeps no images of.
func noTrainingImages(name string) string {
	return fmt.Sprintf("The library has no training images for %s*.\n"+
		"Concepts imported from a file, or trained before Concept Studio\n"+
		"kept their images, have none; the concept itself works as usual.", name)
}

// ShowTrainingImages opens the images a concept was trained on, or says
// that the library has none.
func (p *LibraryPanel) ShowTrainingImages(name string) {
	imgs, err := p.lib.TrainingImages(name)
	if err != nil {
		p.status(fmt.Sprintf("Cannot show the training images of %s*: %s", name, app.Explain(err)))
		return
	}
	title := fmt.Sprintf("Training images of %s*", name)
	if len(imgs) == 0 {
		dialog.ShowInformation(title, noTrainingImages(name), p.win)
		p.status(fmt.Sprintf("%s* has no training images in the library.", name))
		return
	}
	grid := container.NewGridWrap(fyne.NewSquareSize(128))
	for _, im := range imgs {
		ci := canvas.NewImageFromImage(im)
		ci.FillMode = canvas.ImageFillContain
		ci.ScaleMode = canvas.ImageScaleSmooth // photos, shown at half their stored size
		grid.Add(ci)
	}
	d := dialog.NewCustom(title, "Close", container.NewVScroll(grid), p.win)
	d.Resize(fyne.NewSize(560, 420))
	d.Show()
}
