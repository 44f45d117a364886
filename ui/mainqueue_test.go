package ui

import (
	"os"
	"sync"
	"testing"
	"time"
)

// mainQueue stands in for the window's goroutine in tests: background
// work posts its widget updates here (onMain), and the test goroutine
// runs them while it waits (wait, eventually, drainMain), so widgets are
// only touched by the test goroutine, as they are only touched by the
// window's in the program.
type mainQueue struct {
	mu sync.Mutex
	fs []func()
}

func (q *mainQueue) post(f func()) {
	q.mu.Lock()
	q.fs = append(q.fs, f)
	q.mu.Unlock()
}

// drain runs what was posted, and what that posts, until none is left.
func (q *mainQueue) drain() {
	for {
		q.mu.Lock()
		fs := q.fs
		q.fs = nil
		q.mu.Unlock()
		if len(fs) == 0 {
			return
		}
		for _, f := range fs {
			f()
		}
	}
}

var testMainQueue = &mainQueue{}

// drainMain runs the widget updates background work has posted so far.
func drainMain() { testMainQueue.drain() }

// recv waits for a value on ch, running posted widget updates meanwhile;
// it fails the test after 5 s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		drainMain()
		select {
		case v := <-ch:
			drainMain()
			return v
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for " + what)
		}
	}
}

func TestMain(m *testing.M) {
	onMain = testMainQueue.post
	os.Exit(m.Run())
}
