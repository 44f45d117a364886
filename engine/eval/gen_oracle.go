//go:build ignore

// gen_oracle trains the oracle classifier with eval.TrainOracle and copies
// the result over the embedded oracle.safetensors (with -judge: trains the
// colour-blind shape judge with eval.TrainJudge into judge.safetensors).
// Run it from engine/eval (go generate does):
//
//	go run gen_oracle.go [-judge] [-dir DIR] [-steps N] [-budget 13m]
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

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "conceptstudio-oracle"), "training `folder` (checkpoint, result)")
	steps := flag.Int("steps", 0, "training steps (0: the default)")
	budget := flag.Duration("budget", 0, "most training time, e.g. 13m (0: none; the schedule then ends with the steps)")
	out := flag.String("out", "", "where to copy the finished classifier (default oracle.safetensors, or judge.safetensors with -judge)")
	judge := flag.Bool("judge", false, "train the colour-blind shape judge instead of the oracle")
	check := flag.String("check", "", "only measure this classifier `file` on the validation scenes and their controls")
	flag.Parse()
	if *check != "" {
		if err := validate(*check); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	train := eval.TrainOracleWithin
	if *judge {
		train = eval.TrainJudge
		if *dir == filepath.Join(os.TempDir(), "conceptstudio-oracle") {
			*dir = filepath.Join(os.TempDir(), "conceptstudio-judge")
		}
	}
	if *out == "" {
		*out = "oracle.safetensors"
		if *judge {
			*out = "judge.safetensors"
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	err := train(ctx, *dir, *steps, *budget, func(step int, loss, acc float64) {
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
	o.Close()
	if err := validate(*out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// validate prints a classifier's scores on the validation scenes (four
// per class) and their controls.
func validate(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	o, err := eval.DecodeOracle(data)
	if err != nil {
		return err
	}
	defer o.Close()
	a, err := dataset.LoadAtlas()
	if err != nil {
		return err
	}
	v, err := eval.ValidateJudge(o, a, 4, 1)
	if err != nil {
		return err
	}
	fmt.Printf("%s (input %q)\n", path, o.Record.Config.Input)
	fmt.Printf("  ground truth  %v\n  colour only   %v\n  hue rotated   %v\n  shuffled      %v\n  chance        top-1 %.3f\n",
		v.Truth, v.ColourOnly, v.HueRotated, v.Shuffled, v.Chance)
	return nil
}
