package optim

import (
	"context"
	"errors"
	"time"
)

// Loop is the training loop every trainer shares (a concept, the base
// model, the judge and oracle, the autoencoder): it runs the steps of one
// sitting, updates the parameters (gradient clipping at ClipNorm, a step
// whose gradients are not finite is skipped, the learning-rate schedule,
// AdamW, the moving average), counts the run's budget, reports the loss
// over a window of steps, checkpoints every so often, and when ctx ends
// checkpoints before it returns ctx's error. What a step computes and
// what a checkpoint holds stay with the trainer, in the functions below.
type Loop struct {
	Params []*Param
	Adam   *AdamW
	EMA    *EMA    // updated after each optimizer step when not nil
	Clip   float64 // the largest gradient norm (0: 1)

	// Schedule sets the optimizer groups' learning rates for the update
	// of step `step` (0-based); nil keeps them as they are.
	Schedule func(step int)
	// Grads runs the batch of step `step` (0-based), forward and
	// backward, leaving each Param's Grad set, and returns its loss.
	Grads func(step int) (loss float64, err error)
	// After runs once a step is done (`done` steps in all) and reported;
	// last says it is the sitting's last. Optional.
	After func(done int, last bool) error

	// Save writes a checkpoint of a run `done` steps in; nil: none.
	Save func(done int) error
	// SaveEvery and SaveSteps checkpoint after a step once this much
	// time has passed since the last checkpoint, or every this many
	// steps (zero: not by that rule); SaveAtEnd also after the last
	// step. Steps ending a sitting early (the budget) always save.
	SaveEvery time.Duration
	SaveSteps int
	SaveAtEnd bool

	// Budget, when not nil, ends the run once it is spent (checked after
	// every step; a sitting whose budget is already spent runs no step).
	Budget *Budget

	// Report receives the mean loss over every ReportEvery steps (0: each
	// step), and over the steps since the last report at the sitting's
	// end. Optional.
	Report      func(Report)
	ReportEvery int
	// Skipped counts the steps whose gradients were not finite, when not
	// nil (kept in the trainer's state across sittings).
	Skipped *int
}

// Report is one window of a Loop's steps.
type Report struct {
	Done    int     // steps done
	Loss    float64 // mean over the window
	Steps   int     // steps in the window
	Seconds float64 // wall time of the window
}

// Budget ends a run after it has used Limit of a clock, over all its
// sittings: Used (in the trainer's checkpointed state) counts the seconds
// so far. Only the steps count: the clock is read again after checkpoints
// and After, so sampling and saving do not.
type Budget struct {
	Limit time.Duration
	Clock func() time.Duration // the process's CPU time, or wall time
	Used  *float64             // seconds, all sittings
	mark  time.Duration
}

// Spent reports whether the budget is used up.
func (b *Budget) Spent() bool {
	return b != nil && b.Limit > 0 && *b.Used >= b.Limit.Seconds()
}

func (b *Budget) tick() {
	if b == nil {
		return
	}
	now := b.Clock()
	*b.Used += (now - b.mark).Seconds()
	b.mark = now
}

func (b *Budget) restart() {
	if b != nil {
		b.mark = b.Clock()
	}
}

// Run runs steps from..to-1 (0-based; `from` steps are already done) and
// returns the number of steps done when it stopped: `to`, fewer when the
// budget ran out, or with ctx's error when ctx ended (joined with the
// checkpoint's, if that failed too).
func (l *Loop) Run(ctx context.Context, from, to int) (int, error) {
	clip := l.Clip
	if clip == 0 {
		clip = 1
	}
	every := max(l.ReportEvery, 1)
	done := from
	if l.Budget.Spent() {
		return done, nil
	}
	l.Budget.restart()
	lastSave, windowStart := time.Now(), time.Now()
	var windowLoss float64
	var windowN int
	save := func() error {
		if l.Save == nil {
			return nil
		}
		err := l.Save(done)
		lastSave = time.Now()
		return err
	}
	for done < to {
		if err := ctx.Err(); err != nil {
			l.Budget.tick()
			if serr := save(); serr != nil {
				return done, errors.Join(err, serr)
			}
			return done, err
		}
		loss, err := l.Grads(done)
		if err != nil {
			return done, err
		}
		if _, finite := ClipGradNorm(l.Params, clip); !finite {
			if l.Skipped != nil {
				*l.Skipped++
			}
		} else {
			if l.Schedule != nil {
				l.Schedule(done)
			}
			if err := l.Adam.Step(l.Params); err != nil {
				return done, err
			}
			if l.EMA != nil {
				if err := l.EMA.Update(l.Params); err != nil {
					return done, err
				}
			}
		}
		done++
		windowLoss += loss
		windowN++
		l.Budget.tick()
		early := l.Budget.Spent()
		last := done == to || early
		if l.Report != nil && (done%every == 0 || last) {
			l.Report(Report{Done: done, Loss: windowLoss / float64(windowN), Steps: windowN, Seconds: time.Since(windowStart).Seconds()})
			windowLoss, windowN, windowStart = 0, 0, time.Now()
		}
		if l.After != nil {
			if err := l.After(done, last); err != nil {
				return done, err
			}
		}
		byTime := l.SaveEvery > 0 && time.Since(lastSave) > l.SaveEvery
		bySteps := l.SaveSteps > 0 && done%l.SaveSteps == 0 && !last
		if byTime || bySteps || early || (last && l.SaveAtEnd) {
			if err := save(); err != nil {
				return done, err
			}
		}
		l.Budget.restart()
		if early {
			break
		}
	}
	return done, nil
}
