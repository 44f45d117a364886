package main

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conceptstudio/internal/testenv"
)

// windowRun is the program running under Xvfb for an end-to-end window
// test: its output, a stage name for failures, and what a person does
// to it (xdotool keys and clicks) and sees (screenshots).
type windowRun struct {
	t       *testing.T
	display string
	cmd     *exec.Cmd
	out     lockedBuffer
	exited  chan error
	began   time.Time
	shots   string // screenshots go here, named prefix-N-label.png
	prefix  string
	n       int
	stage   string
	win     string // the window's X id, once found
}

// startWindow starts cmd (its Env set) on display and waits for its
// window to appear and draw.
func startWindow(t *testing.T, display, shots, prefix string, cmd *exec.Cmd) *windowRun {
	t.Helper()
	w := &windowRun{t: t, display: display, cmd: cmd, exited: make(chan error, 1), began: time.Now(), shots: shots, prefix: prefix}
	cmd.Stdout, cmd.Stderr = &w.out, &w.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	w.stage = "window opens"
	w.wait(60*time.Second, "the window", func() bool {
		x := exec.Command("xdotool", "search", "--name", "Concept Studio")
		x.Env = append(os.Environ(), "DISPLAY="+display)
		o, err := x.Output()
		w.win = strings.TrimSpace(strings.Split(string(o), "\n")[0])
		return err == nil && w.win != ""
	})
	return w
}

func (w *windowRun) fail(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("stage %q: %s\nprogram output:\n%s", w.stage, fmt.Sprintf(format, args...), w.out.String())
}

// wait polls ok until it holds, failing after limit or when the program
// exits.
func (w *windowRun) wait(limit time.Duration, what string, ok func() bool) {
	w.t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.fail("timed out after %s waiting for %s", limit, what)
		}
		select {
		case err := <-w.exited:
			w.fail("the program exited (%v) while waiting for %s", err, what)
		default:
		}
	}
}

func (w *windowRun) xdo(args ...string) string {
	w.t.Helper()
	x := exec.Command("xdotool", args...)
	x.Env = append(os.Environ(), "DISPLAY="+w.display)
	o, err := x.CombinedOutput()
	if err != nil {
		w.fail("xdotool %s: %v %s", strings.Join(args, " "), err, o)
	}
	return strings.TrimSpace(string(o))
}

// shoot takes a screenshot of the whole screen.
func (w *windowRun) shoot(label string) image.Image {
	w.t.Helper()
	w.n++
	path := filepath.Join(w.shots, fmt.Sprintf("%s-%d-%s.png", w.prefix, w.n, label))
	if o, err := exec.Command("import", "-display", w.display, "-window", "root", path).CombinedOutput(); err != nil {
		w.fail("screenshot: %v %s", err, o)
	}
	w.t.Logf("%5.1f s  %s: %s", time.Since(w.began).Seconds(), w.stage, path)
	return testenv.ReadPNG(w.t, path)
}

// drawn waits until the window shows more than a blank frame and
// returns what it shows.
func (w *windowRun) drawn() image.Image {
	w.t.Helper()
	var img image.Image
	w.wait(30*time.Second, "the window to draw", func() bool {
		time.Sleep(300 * time.Millisecond)
		img = w.shoot("window")
		return distinctColours(img) >= 16
	})
	return img
}
