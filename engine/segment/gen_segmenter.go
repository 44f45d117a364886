//go:build ignore

// gen_segmenter trains the segmenter with segment.Train and copies the
// result over the embedded segmenter.safetensors. Run it from
// engine/segment (go generate does):
//
//	go run gen_segmenter.go [-dir DIR] [-steps N] [-budget 40m] [-for N]
//
// A run interrupted with Ctrl-C (or a budget spent) resumes from its
// checkpoint in DIR; each sitting copies what it has so far.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"conceptstudio/engine/segment"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "conceptstudio-segmenter"), "training `folder` (checkpoint, result)")
	steps := flag.Int("steps", 0, "training steps (0: the default)")
	budget := flag.Duration("budget", 0, "most training time, all sittings, e.g. 40m (0: none)")
	stopAfter := flag.Int("for", 0, "steps in this sitting (0: to the end)")
	out := flag.String("out", "segmenter.safetensors", "where to copy the finished segmenter")
	neighbours := flag.Float64("neighbours", 0, "share of pictures with sharp, vivid things beside and behind the thing")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := segment.DefaultTrain()
	if *steps > 0 {
		opt.Steps = *steps
	}
	opt.Budget, opt.StopAfter, opt.Neighbours = *budget, *stopAfter, *neighbours
	err := segment.Train(ctx, *dir, opt, func(p segment.Progress) {
		fmt.Printf("step %d/%d loss %.4f IoU %.3f %.0f s\n", p.Step, p.Total, p.Loss, p.IoU, p.Seconds)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, err := os.ReadFile(filepath.Join(*dir, segment.File))
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err == nil {
		var s *segment.Segmenter
		if s, err = segment.Decode(data); err == nil {
			var v float64
			if v, err = segment.ValidationIoU(s, 512, 99); err == nil {
				fmt.Printf("validation IoU %.3f on 512 fresh photo-like pictures\n", v)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(*out, time.Now().Format(time.RFC3339))
}
