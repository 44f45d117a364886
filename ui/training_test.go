package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// stepTrainer reports the steps it is told to and then waits to be
// cancelled, recording why its context ended.
type stepTrainer struct {
	mu     sync.Mutex
	steps  chan Progress
	acks   chan struct{}
	ended  []error
	specs  []TrainSpec
	finish chan error
}

func newStepTrainer() *stepTrainer {
	return &stepTrainer{steps: make(chan Progress), acks: make(chan struct{}), finish: make(chan error, 4)}
}

func (s *stepTrainer) TrainConcept(ctx context.Context, spec TrainSpec, progress func(Progress)) error {
	s.mu.Lock()
	s.specs = append(s.specs, spec)
	s.mu.Unlock()
	for {
		select {
		case p := <-s.steps:
			progress(p) // posted to the window's queue; report drains it
			s.acks <- struct{}{}
		case err := <-s.finish:
			return err
		case <-ctx.Done():
			s.mu.Lock()
			s.ended = append(s.ended, ctx.Err())
			s.mu.Unlock()
			return ctx.Err()
		}
	}
}

// report sends one progress report and waits until the window showed it.
func (s *stepTrainer) report(p Progress) {
	s.steps <- p
	<-s.acks
	drainMain()
}

func (s *stepTrainer) started() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.specs) }

func TestTrainingJobShowsProgressAndCancels(t *testing.T) {
	newTestApp(t)
	tr := newStepTrainer()
	q := NewTrainingQueue(tr)
	test.NewTempWindow(t, q)
	// OnFinished runs in the window's queue (drained by the waits here):
	// guard the list anyway, and wait for it, not only for the
	// job's state, which is set first.
	var mu sync.Mutex
	var finishedList []error
	q.OnFinished = func(_ TrainSpec, err error) { mu.Lock(); finishedList = append(finishedList, err); mu.Unlock() }
	finished := func() []error { mu.Lock(); defer mu.Unlock(); return append([]error(nil), finishedList...) }

	q.Enqueue(TrainSpec{Name: "teddy", Class: "teddy bear", Method: "perfusion", Images: []string{"a.png"}})
	q.Enqueue(TrainSpec{Name: "mug", Class: "cup", Method: "lora"})
	eventually(t, "the first job to start", func() bool { return tr.started() == 1 })
	if !q.Busy() || q.jobs[1].state != jobQueued {
		t.Fatal("the second job should wait in the queue")
	}
	j := q.jobs[0]
	for i, loss := range []float64{0.9, 0.5, 0.4} {
		tr.report(Progress{Step: (i + 1) * 10, Total: 100, Loss: loss, Elapsed: time.Duration(i+1) * 10 * time.Second, Preview: solid(uint8(i * 50))})
	}
	if n := len(j.loss.Values()); n != 3 {
		t.Fatalf("sparkline has %d values, want 3", n)
	}
	if j.bar.Value != 0.3 {
		t.Fatalf("bar at %v, want 0.3", j.bar.Value)
	}
	if st := j.status.Text; !strings.Contains(st, "step 30/100") || !strings.Contains(st, "loss 0.4000") || !strings.Contains(st, "min") {
		t.Fatalf("status %q (want steps, loss and time left)", st)
	}
	if j.preview.Image == nil {
		t.Fatal("no preview image")
	}
	if n := len(test.WidgetRenderer(j.loss).Objects()); n != 3 { // background + 2 segments
		t.Fatalf("sparkline draws %d objects, want 3", n)
	}

	test.Tap(j.cancelBtn)
	eventually(t, "the cancel to reach the trainer", func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.ended) == 1 })
	if !errors.Is(tr.ended[0], context.Canceled) {
		t.Fatalf("the trainer saw %v", tr.ended[0])
	}
	eventually(t, "the cancelled state", func() bool { return j.state == jobCancelled && len(finished()) == 1 })
	if !errors.Is(finished()[0], context.Canceled) {
		t.Fatalf("OnFinished got %v", finished())
	}
	// The next job starts by itself and can finish.
	eventually(t, "the second job", func() bool { return tr.started() == 2 })
	tr.finish <- nil
	eventually(t, "the second job to finish", func() bool { return q.jobs[1].state == jobDone && len(finished()) == 2 && !q.Busy() })
	if f := finished(); f[1] != nil {
		t.Fatalf("finished %v", f)
	}
	// A failure is shown in words.
	q.Enqueue(TrainSpec{Name: "cat", Method: "ti"})
	eventually(t, "the third job", func() bool { return tr.started() == 3 })
	tr.finish <- errors.New("out of memory")
	// The state is set before the words (finish): wait for both.
	eventually(t, "the failure shown in words", func() bool {
		return q.jobs[2].state == jobFailed && strings.Contains(q.jobs[2].status.Text, "out of memory")
	})
}

func TestClosingWhileTrainingAsksFirst(t *testing.T) {
	tr := newStepTrainer()
	f := &fakeBackend{concepts: testConcepts(), train: tr.TrainConcept}
	m, w, _ := newTestScreen(t, f, nil)
	m.training.Enqueue(TrainSpec{Name: "teddy", Method: "perfusion"})
	eventually(t, "the job to start", func() bool { return tr.started() == 1 })
	m.confirmClose()
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("closing during training did not ask")
	}
	tr.mu.Lock()
	n := len(tr.ended)
	tr.mu.Unlock()
	if n != 0 {
		t.Fatal("asking already cancelled the training")
	}
}

// discardingTrainer is a stepTrainer that records discards.
type discardingTrainer struct {
	*stepTrainer
	discarded []string
}

func (d *discardingTrainer) DiscardTraining(name string) error {
	d.discarded = append(d.discarded, name)
	return nil
}

// TestCancelledTrainingResumesOrDiscards: a cancelled job's card offers
// Resume (the job runs again, from where the trainer kept it) and Discard
// (the trainer throws its progress away and the card goes); Clear removes
// finished cards together.
func TestCancelledTrainingResumesOrDiscards(t *testing.T) {
	newTestApp(t)
	tr := &discardingTrainer{stepTrainer: newStepTrainer()}
	q := NewTrainingQueue(tr)
	test.NewTempWindow(t, q)
	q.Enqueue(TrainSpec{Name: "teddy", Class: "teddy bear", Method: "perfusion"})
	eventually(t, "the job to start", func() bool { return tr.started() == 1 })
	j := q.jobs[0]
	test.Tap(j.cancelBtn)
	eventually(t, "the cancelled state", func() bool { return j.state == jobCancelled })
	if !j.stopped.Visible() || !strings.Contains(j.status.Text, "Resume continues it") || !q.clear.Visible() {
		t.Fatalf("cancelled card: buttons shown %v, status %q", j.stopped.Visible(), j.status.Text)
	}
	test.Tap(j.resumeBtn)
	eventually(t, "the job to run again", func() bool { return tr.started() == 2 && j.state == jobRunning })
	if j.stopped.Visible() {
		t.Fatal("Resume and Discard still shown on a running job")
	}
	test.Tap(j.cancelBtn)
	eventually(t, "the cancelled state", func() bool { return j.state == jobCancelled })
	test.Tap(j.discard)
	if len(q.jobs) != 0 || len(tr.discarded) != 1 || tr.discarded[0] != "teddy" {
		t.Fatalf("after Discard: %d cards, discarded %v", len(q.jobs), tr.discarded)
	}
	// Two jobs end, one fails: Clear removes both cards.
	q.Enqueue(TrainSpec{Name: "a", Method: "ti"})
	q.Enqueue(TrainSpec{Name: "b", Method: "ti"})
	eventually(t, "the first job", func() bool { return tr.started() == 3 })
	tr.finish <- nil
	eventually(t, "the second job", func() bool { return tr.started() == 4 })
	tr.finish <- errors.New("boom")
	eventually(t, "both ended", func() bool { return !q.Busy() && len(q.jobs) == 2 })
	test.Tap(q.clear)
	if len(q.jobs) != 0 || q.clear.Visible() {
		t.Fatalf("after Clear: %d cards", len(q.jobs))
	}
}
