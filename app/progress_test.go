package app

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressFractionAndETA(t *testing.T) {
	p := Progress{Step: 25, Total: 100, Elapsed: 10 * time.Second}
	if got := p.Fraction(); got != 0.25 {
		t.Errorf("Fraction = %v, want 0.25", got)
	}
	if got := p.ETA(); got != 30*time.Second {
		t.Errorf("ETA = %v, want 30s", got)
	}
	// A job resumed at step 40 of 100 that did 10 steps in 20 s has 50
	// steps left at 2 s each.
	if got := (Progress{Step: 50, From: 40, Total: 100, Elapsed: 20 * time.Second}).ETA(); got != 100*time.Second {
		t.Errorf("ETA of a resumed job = %v, want 1m40s", got)
	}
	if got := (Progress{Step: 3}).ETA(); got != 0 {
		t.Errorf("ETA with unknown total = %v, want 0", got)
	}
	if got := (Progress{Step: 150, Total: 100}).Fraction(); got != 1 {
		t.Errorf("Fraction past the end = %v, want 1", got)
	}
}

func TestFormatProgress(t *testing.T) {
	p := Progress{Stage: "training", Step: 5, Total: 10, Loss: 0.1234, Elapsed: 5 * time.Second}
	got := FormatProgress("train", p, 10)
	want := "train training [#####.....] 5/10  50% loss 0.1234 ETA 5s"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestTextProgressTerminalRedrawsOneLine(t *testing.T) {
	var b bytes.Buffer
	f := NewTextProgress(&b, "x", true, nil)
	for i := 1; i <= 4; i++ {
		f(Progress{Step: i, Total: 4})
	}
	out := b.String()
	if strings.Count(out, "\r") != 4 || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("want 4 redraws and one final newline, got %q", out)
	}
}

func TestTextProgressPlainIsThrottled(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	f := NewTextProgress(&b, "x", false, func() time.Time { return now })
	for i := 1; i <= 100; i++ {
		now = now.Add(time.Second) // one report a second
		f(Progress{Step: i, Total: 100})
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	// First report, then one per 10 s, and the last: 1 + 9 + 1.
	if len(lines) < 10 || len(lines) > 12 {
		t.Fatalf("want about 11 lines, got %d:\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[len(lines)-1], "100/100") {
		t.Errorf("the last line must show the end, got %q", lines[len(lines)-1])
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("plain output must not contain carriage returns")
	}
}
