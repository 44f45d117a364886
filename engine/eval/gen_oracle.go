//go:build ignore

// gen_oracle trains the oracle classifier with eval.TrainOracle and copies
// the result over the embedded oracle.safetensors. Run it from
// engine/eval (go generate does):
//
//	go run gen_oracle.go [-dir DIR] [-steps N] [-budget 13m]
//
// A run interrupted with Ctrl-C resumes from its checkpoint in DIR.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"conceptstudio/engine/eval"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "conceptstudio-oracle"), "training `folder` (checkpoint, result)")
	steps := flag.Int("steps", 0, "training steps (0: the default)")
	budget := flag.Duration("budget", 0, "most training time, e.g. 13m (0: none; the schedule then ends with the steps)")
	out := flag.String("out", "oracle.safetensors", "where to copy the finished oracle")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	err := eval.TrainOracleWithin(ctx, *dir, *steps, *budget, func(step int, loss, acc float64) {
		fmt.Printf("step %5d  loss %.4f  train top-1 %.3f  %s\n", step, loss, acc, time.Since(start).Round(time.Second))
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, err := os.ReadFile(filepath.Join(*dir, eval.OracleFileName))
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	o, err := eval.DecodeOracle(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("held-out top-1 %.4f, %d bytes, trained in %.0f s\n", o.Record.HeldOutTop1, len(data), o.Record.TrainSeconds)
}
