package optim

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// A one-parameter problem: minimise (v-3)², gradient 2(v-3).
func quadratic() (*Param, func(step int) (float64, error)) {
	p := &Param{Name: "v", Value: []float32{0}, Grad: []float32{0}}
	return p, func(int) (float64, error) {
		d := p.Value[0] - 3
		p.Grad[0] = 2 * d
		return float64(d * d), nil
	}
}

func TestLoopTrainsReportsAndSaves(t *testing.T) {
	p, grads := quadratic()
	var saved, reported, after []int
	var lrs []int
	l := &Loop{
		Params: []*Param{p}, Adam: NewAdamW(Group{LR: 0.1}),
		Schedule:    func(step int) { lrs = append(lrs, step) },
		Grads:       grads,
		After:       func(done int, last bool) error { after = append(after, done); return nil },
		Save:        func(done int) error { saved = append(saved, done); return nil },
		SaveSteps:   25,
		Report:      func(r Report) { reported = append(reported, r.Done) },
		ReportEvery: 40,
	}
	done, err := l.Run(context.Background(), 10, 100)
	if err != nil || done != 100 {
		t.Fatalf("Run = %d, %v; want 100 steps", done, err)
	}
	if math.Abs(float64(p.Value[0])-3) > 0.2 {
		t.Fatalf("v = %v after 90 steps, want near 3", p.Value[0])
	}
	if want := []int{25, 50, 75}; !slices.Equal(saved, want) {
		t.Fatalf("saved after %v, want %v (every 25 steps, not at the end without SaveAtEnd)", saved, want)
	}
	if want := []int{40, 80, 100}; !slices.Equal(reported, want) {
		t.Fatalf("reported after %v, want %v (every 40 and at the end)", reported, want)
	}
	if len(after) != 90 || after[0] != 11 || len(lrs) != 90 || lrs[0] != 10 {
		t.Fatalf("After ran %d times from %v, Schedule %d times from %v; want 90 from 11 and 10", len(after), after[:1], len(lrs), lrs[:1])
	}
}

func TestLoopSkipsNonFiniteSteps(t *testing.T) {
	p := &Param{Name: "v", Value: []float32{1}, Grad: []float32{0}}
	skipped := 0
	l := &Loop{Params: []*Param{p}, Adam: NewAdamW(Group{LR: 0.1}), Skipped: &skipped,
		Grads: func(step int) (float64, error) {
			p.Grad[0] = 1
			if step%2 == 1 {
				p.Grad[0] = float32(math.NaN())
			}
			return 0, nil
		}}
	if _, err := l.Run(context.Background(), 0, 10); err != nil {
		t.Fatal(err)
	}
	if skipped != 5 || l.Adam.StepCount() != 5 {
		t.Fatalf("skipped %d, optimizer steps %d; want 5 and 5", skipped, l.Adam.StepCount())
	}
	if math.IsNaN(float64(p.Value[0])) {
		t.Fatal("a non-finite gradient reached the parameter")
	}
}

func TestLoopStopsAtItsBudgetAndSaves(t *testing.T) {
	p, grads := quadratic()
	var clock time.Duration
	used := 1.0 // seconds from an earlier sitting
	var saved []int
	l := &Loop{Params: []*Param{p}, Adam: NewAdamW(Group{LR: 0.1}),
		Grads:  func(step int) (float64, error) { clock += time.Second; return grads(step) },
		After:  func(int, bool) error { clock += time.Hour; return nil }, // not counted
		Save:   func(done int) error { saved = append(saved, done); return nil },
		Budget: &Budget{Limit: 5 * time.Second, Clock: func() time.Duration { return clock }, Used: &used}}
	done, err := l.Run(context.Background(), 0, 100)
	if err != nil || done != 4 || used != 5 {
		t.Fatalf("Run = %d, %v with %v s used; want 4 steps (1 s each after 1 s before) and 5 s", done, err, used)
	}
	if !slices.Equal(saved, []int{4}) {
		t.Fatalf("saved after %v, want [4]: a sitting ended by its budget checkpoints", saved)
	}
	if done, _ := l.Run(context.Background(), 4, 100); done != 4 {
		t.Fatalf("a spent budget ran %d more steps", done-4)
	}
}

func TestLoopSavesWhenCancelled(t *testing.T) {
	p, grads := quadratic()
	ctx, cancel := context.WithCancel(context.Background())
	var saved []int
	l := &Loop{Params: []*Param{p}, Adam: NewAdamW(Group{LR: 0.1}), Grads: grads,
		After: func(done int, _ bool) error {
			if done == 7 {
				cancel()
			}
			return nil
		},
		Save: func(done int) error { saved = append(saved, done); return nil }}
	done, err := l.Run(ctx, 0, 100)
	if !errors.Is(err, context.Canceled) || done != 7 || !slices.Equal(saved, []int{7}) {
		t.Fatalf("Run = %d, %v, saved %v; want 7, context.Canceled, [7]", done, err, saved)
	}
	if err != context.Canceled {
		t.Fatalf("err = %#v, want ctx's own error when the checkpoint succeeds", err)
	}
	l.Save = func(int) error { return errors.New("disk full") }
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := l.Run(ctx2, 7, 100); !errors.Is(err, context.Canceled) || err.Error() != "context canceled\ndisk full" {
		t.Fatalf("err = %v, want both the cancellation and the failed checkpoint", err)
	}
}
