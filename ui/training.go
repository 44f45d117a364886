package ui

import (
	"context"
	"errors"
	"fmt"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"conceptstudio/app"
)

// jobState is where a training job is.
type jobState int

const (
	jobQueued jobState = iota
	jobRunning
	jobDone
	jobFailed
	jobCancelled
)

// TrainingQueue runs training jobs one after another in the background,
// while the rest of the window stays usable. Each job shows a progress bar
// with the time left, its loss as a sparkline, a preview image when the
// trainer sends one, and Cancel.
type TrainingQueue struct {
	widget.BaseWidget

	// OnFinished is called on the main goroutine when a job ends; err is
	// nil on success and context.Canceled after Cancel.
	OnFinished func(spec TrainSpec, err error)
	// OnNew, when set, is what "New…" does (start a concept from a file
	// dialog, beside dropping images).
	OnNew func()

	trainer  Trainer
	jobs     []*trainJob
	list     *fyne.Container
	clear    *widget.Button           // clears the finished, failed and discarded cards
	newBtn   *widget.Button           // a new concept from a file dialog (OnNew)
	emptyBox *container.ThemeOverride // the note shown while there is no job
	body     fyne.CanvasObject
}

// trainJob is one queued or running concept.
type trainJob struct {
	spec   TrainSpec
	state  jobState
	cancel context.CancelFunc
	last   Progress

	title     *widget.Label
	status    *widget.Label
	bar       *widget.ProgressBar
	loss      *Sparkline
	preview   *canvas.Image
	cancelBtn *widget.Button
	resumeBtn *widget.Button // a cancelled job: continue where it stopped
	discard   *widget.Button // a cancelled job: throw its progress away
	stopped   *fyne.Container
	card      fyne.CanvasObject
}

// TrainingDiscarder throws away what a cancelled training kept (its
// checkpoint), when the trainer keeps any.
type TrainingDiscarder interface {
	DiscardTraining(name string) error
}

// NewTrainingQueue makes an empty queue over a trainer.
func NewTrainingQueue(t Trainer) *TrainingQueue {
	q := &TrainingQueue{trainer: t}
	q.ExtendBaseWidget(q)
	q.list = container.NewVBox()
	_, q.emptyBox = newHint("No training running. Drop 3-5 images of a thing on the window, or press New…, to teach it.", true)
	scroll := container.NewVScroll(container.NewVBox(q.emptyBox, q.list))
	scroll.SetMinSize(fyne.NewSize(220, 0))
	q.clear = widget.NewButtonWithIcon("Clear", theme.ContentClearIcon(), q.ClearFinished)
	q.clear.Importance = widget.LowImportance
	q.clear.Hide()
	q.newBtn = widget.NewButtonWithIcon("New…", theme.ContentAddIcon(), func() {
		if q.OnNew != nil {
			q.OnNew()
		}
	})
	q.newBtn.Importance = widget.LowImportance
	q.body = container.NewBorder(container.NewBorder(nil, nil,
		widget.NewLabelWithStyle("Training", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), container.NewHBox(q.clear, q.newBtn)),
		nil, nil, nil, scroll)
	return q
}

// CreateRenderer implements fyne.Widget.
func (q *TrainingQueue) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(q.body) }

// Enqueue adds a job; it starts at once when nothing else is training.
func (q *TrainingQueue) Enqueue(spec TrainSpec) {
	j := &trainJob{spec: spec}
	j.title = widget.NewLabelWithStyle(fmt.Sprintf("%s*  (%s)", spec.Name, methodTitle(spec.Method)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	j.title.Truncation = fyne.TextTruncateEllipsis
	j.status = widget.NewLabel("Waiting…")
	j.status.SizeName = theme.SizeNameCaptionText
	j.status.Wrapping = fyne.TextWrapWord
	j.bar = widget.NewProgressBar()
	j.loss = NewSparkline(200)
	j.preview = canvas.NewImageFromImage(nil)
	j.preview.ScaleMode = canvas.ImageScalePixels
	j.preview.FillMode = canvas.ImageFillContain
	j.preview.SetMinSize(fyne.NewSquareSize(64))
	j.cancelBtn = widget.NewButtonWithIcon("", theme.CancelIcon(), func() { q.Cancel(j) })
	j.cancelBtn.Importance = widget.LowImportance
	j.resumeBtn = widget.NewButtonWithIcon("Resume", theme.MediaPlayIcon(), func() { q.Resume(j) })
	j.discard = widget.NewButtonWithIcon("Discard", theme.DeleteIcon(), func() { q.Discard(j) })
	j.stopped = container.NewHBox(j.resumeBtn, j.discard)
	j.stopped.Hide()
	j.card = widget.NewCard("", "", container.NewBorder(
		container.NewBorder(nil, nil, nil, j.cancelBtn, j.title), nil,
		j.preview, nil,
		container.NewVBox(j.bar, j.loss, j.status, j.stopped)))
	q.jobs = append(q.jobs, j)
	q.relist()
	q.startNext()
}

// Busy reports whether a job is queued or running.
func (q *TrainingQueue) Busy() bool {
	for _, j := range q.jobs {
		if j.state == jobQueued || j.state == jobRunning {
			return true
		}
	}
	return false
}

// Cancel stops a running job or drops a queued one; a finished job's card
// is removed.
func (q *TrainingQueue) Cancel(j *trainJob) {
	switch j.state {
	case jobQueued:
		j.state = jobCancelled
		q.remove(j)
		if q.OnFinished != nil {
			q.OnFinished(j.spec, context.Canceled)
		}
	case jobRunning:
		j.cancel()
		j.status.SetText("Cancelling…")
		j.cancelBtn.Disable()
	default:
		q.remove(j)
	}
}

// CancelAll stops every job (the window is closing).
func (q *TrainingQueue) CancelAll() {
	for _, j := range append([]*trainJob(nil), q.jobs...) {
		if j.state == jobQueued || j.state == jobRunning {
			q.Cancel(j)
		}
	}
}

func (q *TrainingQueue) remove(j *trainJob) {
	for i, k := range q.jobs {
		if k == j {
			q.jobs = append(q.jobs[:i], q.jobs[i+1:]...)
			break
		}
	}
	q.relist()
}

func (q *TrainingQueue) relist() {
	objs := make([]fyne.CanvasObject, 0, len(q.jobs))
	for _, j := range q.jobs {
		objs = append(objs, j.card)
	}
	q.list.Objects = objs
	q.list.Refresh()
	if len(q.jobs) > 0 {
		q.emptyBox.Hide()
	} else {
		q.emptyBox.Show()
	}
	ended := false
	for _, j := range q.jobs {
		ended = ended || j.state == jobDone || j.state == jobFailed || j.state == jobCancelled
	}
	if ended {
		q.clear.Show()
	} else {
		q.clear.Hide()
	}
}

// startNext starts the first queued job when none is running.
func (q *TrainingQueue) startNext() {
	for _, j := range q.jobs {
		if j.state == jobRunning {
			return
		}
	}
	for _, j := range q.jobs {
		if j.state == jobQueued {
			q.start(j)
			return
		}
	}
}

func (q *TrainingQueue) start(j *trainJob) {
	ctx, cancel := context.WithCancel(context.Background())
	j.state, j.cancel = jobRunning, cancel
	j.status.SetText("Starting…")
	go func() {
		err := q.trainer.TrainConcept(ctx, j.spec, func(p Progress) {
			onMain(func() { q.apply(j, p) })
		})
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		cancel()
		onMain(func() { q.finish(j, err) })
	}()
}

// apply shows one progress report.
func (q *TrainingQueue) apply(j *trainJob, p Progress) {
	if j.state != jobRunning {
		return
	}
	j.last = p
	j.bar.SetValue(p.Fraction())
	if !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0) && p.Loss != 0 {
		j.loss.Add(p.Loss)
	}
	if p.Preview != nil {
		j.preview.Image = p.Preview
		j.preview.Refresh()
	}
	j.status.SetText(progressLine(p))
}

// progressLine is a report as one short line.
func progressLine(p Progress) string {
	s := ""
	if p.Total > 0 {
		s = fmt.Sprintf("step %d/%d", p.Step, p.Total)
	} else if p.Step > 0 {
		s = fmt.Sprintf("step %d", p.Step)
	}
	if p.Loss != 0 && !math.IsNaN(p.Loss) {
		s += fmt.Sprintf(" · loss %.4f", p.Loss)
	}
	if eta := p.ETA(); eta > 0 {
		s += " · " + formatETA(eta)
	}
	if p.Message != "" {
		s += " · " + p.Message
	}
	if s == "" {
		s = p.Stage
	}
	return s
}

func (q *TrainingQueue) finish(j *trainJob, err error) {
	j.cancelBtn.Enable()
	switch {
	case err == nil:
		j.state = jobDone
		j.bar.SetValue(1)
		j.status.SetText(fmt.Sprintf("Done: %s* is in the library.", j.spec.Name))
	case errors.Is(err, context.Canceled):
		j.state = jobCancelled
		j.status.SetText("Cancelled. What it learned so far is kept: Resume continues it, Discard throws it away.")
		j.stopped.Show()
	default:
		j.state = jobFailed
		j.status.SetText("Failed: " + app.Explain(err))
		j.status.Importance = widget.DangerImportance
		j.status.Refresh()
	}
	if q.OnFinished != nil {
		q.OnFinished(j.spec, err)
	}
	q.relist()
	q.startNext()
}

// Resume queues a cancelled job again; it continues where it stopped.
func (q *TrainingQueue) Resume(j *trainJob) {
	if j.state != jobCancelled {
		return
	}
	j.state = jobQueued
	j.stopped.Hide()
	j.status.SetText("Waiting…")
	q.relist()
	q.startNext()
}

// Discard throws away what a cancelled job kept and removes its card.
func (q *TrainingQueue) Discard(j *trainJob) {
	if d, ok := q.trainer.(TrainingDiscarder); ok {
		if err := d.DiscardTraining(j.spec.Name); err != nil {
			j.status.SetText("Cannot discard it: " + app.Explain(err))
			return
		}
	}
	q.remove(j)
}

// ClearFinished removes the cards of finished and failed jobs; cancelled
// ones are discarded.
func (q *TrainingQueue) ClearFinished() {
	for _, j := range append([]*trainJob(nil), q.jobs...) {
		switch j.state {
		case jobDone, jobFailed:
			q.remove(j)
		case jobCancelled:
			q.Discard(j)
		}
	}
}

// Sparkline draws a short series (a training loss) as a line.
type Sparkline struct {
	widget.BaseWidget
	values []float64
	keep   int
}

// NewSparkline keeps the last keep values.
func NewSparkline(keep int) *Sparkline {
	s := &Sparkline{keep: keep}
	s.ExtendBaseWidget(s)
	return s
}

// Add appends a value and redraws.
func (s *Sparkline) Add(v float64) {
	s.values = append(s.values, v)
	if len(s.values) > s.keep {
		s.values = s.values[len(s.values)-s.keep:]
	}
	s.Refresh()
}

// Values returns the series drawn.
func (s *Sparkline) Values() []float64 { return append([]float64(nil), s.values...) }

func (s *Sparkline) CreateRenderer() fyne.WidgetRenderer {
	r := &sparkRenderer{s: s, bg: canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))}
	r.Refresh()
	return r
}

type sparkRenderer struct {
	s     *Sparkline
	bg    *canvas.Rectangle
	lines []*canvas.Line
}

func (r *sparkRenderer) Destroy() {}

func (r *sparkRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 28) }

func (r *sparkRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.bg}
	for _, l := range r.lines {
		objs = append(objs, l)
	}
	return objs
}

func (r *sparkRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	vs := r.s.values
	if len(vs) < 2 {
		return
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < 1e-12 {
		hi = lo + 1
	}
	pad := float32(2)
	w, h := size.Width-2*pad, size.Height-2*pad
	pt := func(i int) fyne.Position {
		x := pad + w*float32(i)/float32(len(vs)-1)
		y := pad + h*float32(1-(vs[i]-lo)/(hi-lo))
		return fyne.NewPos(x, y)
	}
	for i, l := range r.lines {
		l.Position1, l.Position2 = pt(i), pt(i+1)
	}
}

func (r *sparkRenderer) Refresh() {
	n := max(len(r.s.values)-1, 0)
	col := theme.Color(theme.ColorNamePrimary)
	for len(r.lines) < n {
		r.lines = append(r.lines, canvas.NewLine(col))
	}
	r.lines = r.lines[:n]
	for _, l := range r.lines {
		l.StrokeColor = col
		l.StrokeWidth = 1.5
	}
	r.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
	r.bg.CornerRadius = theme.Size(theme.SizeNameInputRadius)
	r.Layout(r.s.Size())
	canvas.Refresh(r.s)
}
