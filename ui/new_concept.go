package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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

// methodChoice is one method as the new-concept sheet offers it.
type methodChoice struct {
	id, label string
	oneImage  bool // the default when one picture is dropped
}

// methodChoices are the methods offered (the method registry's order),
// with what each costs.
var methodChoices = func() []methodChoice {
	var out []methodChoice
	for _, m := range app.Methods() {
		out = append(out, methodChoice{string(m.Name), m.Title + " — " + m.About, m.ForOneImage})
	}
	return out
}()

// defaultMethod is the method the sheet starts with for n dropped
// pictures: the one-picture method (e4t, where the model carries its
// encoder) for one, else the first of the others (Perfusion).
func defaultMethod(n int) methodChoice {
	for _, m := range methodChoices {
		if m.oneImage == (n == 1) {
			return m
		}
	}
	return methodChoices[0]
}

// NewConceptSheet is the form that turns dropped images into a training
// job: the images (any can be removed), a name, the class word (suggested
// from the base model's vocabulary) and the method. The name has the focus
// when it opens; Enter moves from the name to the class and trains from
// there.
type NewConceptSheet struct {
	images    []string
	strip     *fyne.Container
	count     *widget.Label
	name      *widget.Entry
	class     *widget.SelectEntry
	classHint *widget.Label
	classOpts []string // the class suggestions offered now
	method    *widget.RadioGroup
	train     *widget.Button
	dialog    dialog.Dialog

	lex     lexicon
	vocab   []string
	taken   map[string]bool
	onTrain func(TrainSpec)

	// check checks dropped files (nil: no checks); checks holds its
	// answers by path, checking is how many checks are running.
	check  func([]string) []ImageCheck
	checks map[string]ImageCheck
	// checkGen numbers the checks started, shownGen is the newest whose
	// answers the sheet shows: an older check that ends later (it saw
	// fewer images) is not shown over a newer one.
	checkGen, shownGen int
	checking           int

	// add asks for one more image (SetOpener); nil: drops only.
	add    func(done func(path string))
	addBtn *widget.Button

	// cuts lets a person adjust a cut-out (SetCutOuts); nil: no Adjust.
	cuts   CutOuts
	win    fyne.Window
	adjust *cutOutDialog // the open editor, if any
}

// ShowNewConcept opens the sheet over win. vocab may be nil (no
// suggestions, nothing flagged); taken are the names in use; check, when
// not nil, checks the images in the background and the sheet marks each
// image it finds a problem or a doubt with, in words.
func ShowNewConcept(win fyne.Window, images, vocab, taken []string, check func([]string) []ImageCheck, onTrain func(TrainSpec)) *NewConceptSheet {
	s := &NewConceptSheet{images: append([]string(nil), images...), lex: newLexicon(nil, vocab), vocab: vocab,
		taken: map[string]bool{}, onTrain: onTrain, check: check, checks: map[string]ImageCheck{}, win: win}
	sort.Strings(s.vocab)
	for _, t := range taken {
		s.taken[t] = true
	}
	s.strip = container.NewHBox()
	s.count = widget.NewLabel("")
	s.count.SizeName = theme.SizeNameCaptionText

	s.name = widget.NewEntry()
	s.name.SetPlaceHolder("teddy")
	s.name.Validator = s.checkName
	s.name.OnChanged = func(string) { s.update() }
	s.name.SetText(suggestName(images, s.taken))

	s.class = widget.NewSelectEntry(nil)
	s.class.SetPlaceHolder("teddy bear")
	var classHintBox fyne.CanvasObject
	s.classHint, classHintBox = newHint("", true)
	s.classHint.SizeName = theme.SizeNameCaptionText // classChanged refreshes it
	s.class.OnChanged = func(string) { s.classChanged() }
	// Enter in the name moves on to the class; Enter there trains.
	s.name.OnSubmitted = func(string) { win.Canvas().Focus(s.class) }
	s.class.OnSubmitted = func(string) { s.Train() }

	labels := make([]string, len(methodChoices))
	for i, m := range methodChoices {
		labels[i] = m.label
	}
	s.method = widget.NewRadioGroup(labels, nil)
	s.method.Required = true
	s.method.SetSelected(defaultMethod(len(images)).label)

	s.train = widget.NewButtonWithIcon("Train", theme.MediaPlayIcon(), s.Train)
	s.train.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { s.dialog.Hide() })
	s.addBtn = widget.NewButtonWithIcon("Add image…", theme.ContentAddIcon(), func() {
		if s.add != nil {
			s.add(s.AddImage)
		}
	})
	s.addBtn.Hide()

	form := widget.NewForm(
		widget.NewFormItem("Name", s.name),
		widget.NewFormItem("Kind of thing", container.NewVBox(s.class, classHintBox)),
		widget.NewFormItem("Method", s.method),
	)
	form.Items[0].HintText = "the prompt uses it as name*: lower-case letters and digits, starting with a letter"
	content := container.NewBorder(
		container.NewVBox(container.NewHScroll(s.strip), container.NewBorder(nil, nil, nil, s.addBtn, s.count), widget.NewSeparator()),
		container.NewHBox(layout.NewSpacer(), cancel, s.train), nil, nil, container.NewVScroll(withReadableHints(form)))
	s.dialog = dialog.NewCustomWithoutButtons("Teach a new concept", content, win)
	s.rebuildStrip()
	s.startChecks()
	s.classChanged()
	s.dialog.Resize(fyne.NewSize(620, max(560, min(720, win.Canvas().Size().Height-40))))
	s.dialog.Show()
	win.Canvas().Focus(s.name)
	return s
}

// suggestName makes a name from the first image's file name.
func suggestName(images []string, taken map[string]bool) string {
	if len(images) == 0 {
		return ""
	}
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(images[0]), filepath.Ext(images[0])))
	var b strings.Builder
	for _, r := range base {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9' && b.Len() > 0) {
			b.WriteRune(r)
		}
		if r == '-' || r == '_' || r == ' ' || b.Len() >= 16 {
			if b.Len() > 0 {
				break
			}
		}
	}
	n := strings.TrimRight(b.String(), "0123456789") // bear1.png, bear2.png: bear
	if !validConceptName(n) || taken[n] {
		return ""
	}
	return n
}

func (s *NewConceptSheet) checkName(n string) error {
	switch {
	case n == "":
		return errors.New("give the concept a name")
	case !validConceptName(n):
		return errors.New("use lower-case letters and digits, starting with a letter (at most 32)")
	case s.taken[n]:
		return fmt.Errorf("%s* already exists: choose another name", n)
	}
	return nil
}

// startChecks checks the sheet's images, all together (what is found
// across images changes with each one), in the background; the answers
// reach the sheet on the window's goroutine.
func (s *NewConceptSheet) startChecks() {
	if s.check == nil || len(s.images) == 0 {
		return
	}
	s.checking++
	s.checkGen++
	gen := s.checkGen
	s.rebuildStrip()
	paths := append([]string(nil), s.images...)
	go func() {
		res := s.check(paths)
		onMain(func() {
			if gen > s.shownGen {
				s.shownGen = gen
				for _, c := range res {
					s.checks[c.Path] = c
				}
			}
			s.checking--
			s.rebuildStrip()
		})
	}()
}

// thumbFor is an image's picture in the strip: the object cut out of it
// over a checkerboard (or the checked thumbnail when none could be), a
// broken-image icon for a file that cannot be read, or (without checks)
// the file itself.
func (s *NewConceptSheet) thumbFor(p string) *canvas.Image {
	if c, ok := s.checks[p]; ok {
		switch {
		case c.Cutout != nil: // what training will learn from
			return canvas.NewImageFromImage(c.Cutout)
		case c.Thumbnail != nil:
			return canvas.NewImageFromImage(c.Thumbnail)
		case c.Problem != "":
			return canvas.NewImageFromResource(theme.BrokenImageIcon())
		}
		return canvas.NewImageFromResource(theme.FileImageIcon())
	}
	if s.check != nil { // not checked yet: no decoding here
		return canvas.NewImageFromResource(theme.FileImageIcon())
	}
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return canvas.NewImageFromFile(p)
	}
	return canvas.NewImageFromResource(theme.BrokenImageIcon())
}

func (s *NewConceptSheet) rebuildStrip() {
	cells := make([]fyne.CanvasObject, 0, len(s.images))
	bad := 0
	for _, p := range s.images {
		img := s.thumbFor(p)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSquareSize(88))
		// The remove button sits on the image's corner (with its own
		// background, to show on any picture) so that the file name has the
		// cell's whole width.
		rm := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { s.Remove(p) })
		name := widget.NewLabel(filepath.Base(p))
		name.SizeName = theme.SizeNameCaptionText
		name.Truncation = fyne.TextTruncateEllipsis
		corner := container.NewVBox(container.NewHBox(layout.NewSpacer(), rm))
		var under fyne.CanvasObject = name
		size := fyne.NewSize(100, 130)
		if c, ok := s.checks[p]; ok && s.cuts != nil && c.Thumbnail != nil {
			// A picture that could be read can have its cut-out adjusted
			// (the way out when none was found, or the wrong thing was).
			adj := widget.NewButtonWithIcon("Adjust…", theme.ContentCutIcon(), func() { s.Adjust(p) })
			adj.Importance = widget.LowImportance
			under = container.NewVBox(name, adj)
			size.Height += 40
		}
		if c := s.checks[p]; c.Problem != "" || c.Warning != "" {
			mark := widget.NewLabel(c.Problem)
			mark.Importance = widget.DangerImportance
			if c.Problem == "" {
				mark.SetText(c.Warning)
				mark.Importance = widget.WarningImportance
			} else {
				bad++
			}
			mark.SizeName = theme.SizeNameCaptionText
			mark.Wrapping = fyne.TextWrapWord
			// Room for the whole reason: a wrapped label's height is
			// known once it has its width (a fixed 70 pixels cut long
			// reasons and pushed the picture out of its cell).
			size.Width = 140
			mark.Resize(fyne.NewSize(size.Width, 0))
			size.Height += mark.MinSize().Height + theme.Padding()
			under = container.NewVBox(under, mark)
		}
		cells = append(cells, container.NewGridWrap(size,
			container.NewBorder(nil, under, nil, nil, container.NewStack(img, corner))))
	}
	s.strip.Objects = cells
	s.strip.Refresh()
	switch n := len(s.images); {
	case n == 0:
		s.count.SetText("No images left: drop some on the window.")
	case s.checking > 0:
		s.count.SetText(fmt.Sprintf("%d image(s): checking them…", n))
	case bad > 0:
		s.count.SetText(fmt.Sprintf("%d of %d image(s) cannot train, as marked: fix them with Adjust…, remove them (the bin on each), or drop others.", bad, n))
	case n < 3:
		s.count.SetText(fmt.Sprintf("%d image(s). 3-5 images of the same thing work best.", n))
	default:
		s.count.SetText(fmt.Sprintf("%d images.", n))
	}
	s.update()
}

// Remove drops one image from the set.
func (s *NewConceptSheet) Remove(path string) {
	for i, p := range s.images {
		if p == path {
			s.images = append(s.images[:i], s.images[i+1:]...)
			break
		}
	}
	s.rebuildStrip()
}

// SetCutOuts lets the sheet offer "adjust the cut-out" (the scissors on
// each picture that could be read).
func (s *NewConceptSheet) SetCutOuts(c CutOuts) {
	s.cuts = c
	s.rebuildStrip()
}

// Adjust opens the cut-out editor on one image; the cut-out it makes
// takes the image's place in the set (and is checked like any image).
func (s *NewConceptSheet) Adjust(path string) {
	if s.cuts == nil {
		return
	}
	img, err := s.cuts.Picture(path, 512)
	if err != nil {
		dialog.ShowError(err, s.win)
		return
	}
	s.adjust = showCutOutDialog(s.win, path, img, s.checks[path].Cutout, s.cuts, func(cut string) {
		for i, p := range s.images {
			if p == path {
				s.images[i] = cut
			}
		}
		s.startChecks() // the others' marks may change with it (a duplicate, a cut helped by the others)
		s.rebuildStrip()
	})
}

// SetOpener gives the sheet a way to ask for one more image (a file
// dialog); the sheet then shows "Add image…".
func (s *NewConceptSheet) SetOpener(open func(done func(path string))) {
	s.add = open
	if open != nil {
		s.addBtn.Show()
	} else {
		s.addBtn.Hide()
	}
}

// AddImage adds one image to the set (again: nothing) and checks the set
// again: what is found across images (a near duplicate, another object,
// a photo cut with the others' help) changes with each image.
func (s *NewConceptSheet) AddImage(path string) {
	if path == "" {
		return
	}
	for _, p := range s.images {
		if p == path {
			return
		}
	}
	s.images = append(s.images, path)
	s.rebuildStrip()
	s.startChecks()
}

// Checking reports whether image checks are still running.
func (s *NewConceptSheet) Checking() bool { return s.checking > 0 }

// Images are the images the concept will be trained on.
func (s *NewConceptSheet) Images() []string { return append([]string(nil), s.images...) }

// classChanged offers vocabulary words for the word being typed and flags
// words the base model does not know.
func (s *NewConceptSheet) classChanged() {
	text := s.class.Text
	words := strings.Fields(strings.ToLower(text))
	last := ""
	if len(words) > 0 && !strings.HasSuffix(text, " ") {
		last = words[len(words)-1]
	}
	var opts []string
	prefix := strings.TrimSuffix(text, last)
	for _, w := range s.vocab {
		if last != "" && strings.HasPrefix(w, last) && w != last {
			opts = append(opts, prefix+w)
			if len(opts) == 12 {
				break
			}
		}
	}
	s.classOpts = opts
	s.class.SetOptions(opts)
	var unknown []string
	for _, w := range words {
		if !s.lex.knowsWord(w) {
			unknown = append(unknown, w)
		}
	}
	switch {
	case len(unknown) > 0:
		s.classHint.SetText(fmt.Sprintf("unknown word(s): %s — the base model does not know them; use words it knows (e.g. %s)",
			strings.Join(unknown, ", "), strings.Join(s.someWords(3), ", ")))
		s.classHint.Importance = widget.DangerImportance
	case s.vocab == nil:
		s.classHint.SetText("The kind of thing it is, in words the base model knows (e.g. teddy bear).")
		s.classHint.Importance = widget.LowImportance
	default:
		s.classHint.SetText("The kind of thing it is: the concept starts from this and keeps its place in prompts.")
		s.classHint.Importance = widget.LowImportance
	}
	s.classHint.Refresh()
	s.update()
}

// someWords are a few vocabulary words for the hint.
func (s *NewConceptSheet) someWords(n int) []string {
	var out []string
	for _, w := range []string{"teddy", "bear", "cup", "dog", "cat", "car", "apple", "ball"} {
		if s.lex.knowsWord(w) && s.vocab != nil {
			out = append(out, w)
		}
		if len(out) == n {
			return out
		}
	}
	for _, w := range s.vocab {
		if len(out) == n {
			break
		}
		out = append(out, w)
	}
	return out
}

// ClassHint is the line under the class word.
func (s *NewConceptSheet) ClassHint() string { return s.classHint.Text }

// Method is the chosen method's id.
func (s *NewConceptSheet) Method() string {
	for _, m := range methodChoices {
		if m.label == s.method.Selected {
			return m.id
		}
	}
	return "perfusion"
}

// SetMethod chooses a method by id.
func (s *NewConceptSheet) SetMethod(id string) {
	for _, m := range methodChoices {
		if m.id == id {
			s.method.SetSelected(m.label)
		}
	}
}

func (s *NewConceptSheet) problem() error {
	if err := s.checkName(s.name.Text); err != nil {
		return err
	}
	if strings.TrimSpace(s.class.Text) == "" {
		return errors.New("say what kind of thing it is")
	}
	if len(s.images) == 0 {
		return errors.New("no images")
	}
	if s.checking > 0 {
		return errors.New("the images are being checked")
	}
	for _, p := range s.images {
		if s.checks[p].Problem != "" {
			return errors.New("remove the images marked as unusable")
		}
	}
	return nil
}

func (s *NewConceptSheet) update() {
	if s.train == nil || s.class == nil {
		return
	}
	if s.problem() != nil {
		s.train.Disable()
	} else {
		s.train.Enable()
	}
}

// Train enqueues the job and closes the sheet.
func (s *NewConceptSheet) Train() {
	if s.problem() != nil {
		return
	}
	spec := TrainSpec{Name: s.name.Text, Class: strings.Join(strings.Fields(s.class.Text), " "),
		Method: s.Method(), Images: s.Images()}
	s.dialog.Hide()
	if s.onTrain != nil {
		s.onTrain(spec)
	}
}
