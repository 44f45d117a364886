package app

import (
	"fmt"
	"image"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress is one report from a long job. It is data: the command line
// draws it as a bar, the window binds it to widgets.
type Progress struct {
	Stage   string        // what is happening now, e.g. "training"
	Step    int           // steps done
	Total   int           // steps in all (0 when unknown)
	Loss    float64       // latest loss, when the job has one (NaN or 0 otherwise)
	Elapsed time.Duration // time since the job started
	From    int           // the step it started from (a resumed job's first step)
	Message string        // an optional line for the user
	Preview image.Image   // a preview picture, when the job makes one (training)
}

// Fraction is the share of the job done, in [0, 1]; 0 when Total is unknown.
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return 0
	}
	f := float64(p.Step) / float64(p.Total)
	return min(max(f, 0), 1)
}

// ETA estimates the time left from the rate so far; 0 when unknown.
func (p Progress) ETA() time.Duration {
	done := p.Step - p.From
	if done <= 0 || p.Total <= 0 || p.Step >= p.Total {
		return 0
	}
	per := p.Elapsed / time.Duration(done)
	return per * time.Duration(p.Total-p.Step)
}

// ProgressFunc receives progress reports. It may be nil.
type ProgressFunc func(Progress)

// report calls f when it is set.
func (f ProgressFunc) report(p Progress) {
	if f != nil {
		f(p)
	}
}

// NewTextProgress returns a reporter writing to w. On a terminal it redraws
// one bar line in place; otherwise it prints a plain line at most every
// 10 seconds (and at the end), so logs stay readable. now may be nil.
func NewTextProgress(w io.Writer, label string, tty bool, now func() time.Time) ProgressFunc {
	if now == nil {
		now = time.Now
	}
	var mu sync.Mutex
	var last time.Time
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		done := p.Total > 0 && p.Step >= p.Total
		if tty {
			fmt.Fprintf(w, "\r\x1b[K%s", FormatProgress(label, p, 30))
			if done {
				fmt.Fprintln(w)
			}
			return
		}
		t := now()
		if !done && !last.IsZero() && t.Sub(last) < 10*time.Second && p.Message == "" {
			return
		}
		last = t
		fmt.Fprintln(w, FormatProgress(label, p, 0))
	}
}

// FormatProgress renders one report as a line: label, optional bar of the
// given width, step counts, percentage, loss, ETA and message.
func FormatProgress(label string, p Progress, barWidth int) string {
	var b strings.Builder
	b.WriteString(label)
	if p.Stage != "" {
		b.WriteString(" " + p.Stage)
	}
	if p.Total > 0 {
		if barWidth > 0 {
			n := int(p.Fraction()*float64(barWidth) + 0.5)
			b.WriteString(" [" + strings.Repeat("#", n) + strings.Repeat(".", barWidth-n) + "]")
		}
		fmt.Fprintf(&b, " %d/%d %3.0f%%", p.Step, p.Total, 100*p.Fraction())
	} else if p.Step > 0 {
		fmt.Fprintf(&b, " step %d", p.Step)
	}
	if p.Loss != 0 && p.Loss == p.Loss {
		fmt.Fprintf(&b, " loss %.4f", p.Loss)
	}
	if eta := p.ETA(); eta > 0 {
		fmt.Fprintf(&b, " ETA %s", eta.Round(time.Second))
	}
	if p.Message != "" {
		b.WriteString(" " + p.Message)
	}
	return b.String()
}
