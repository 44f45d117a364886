package app

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"conceptstudio/engine"
)

// EncoderRequest pretrains the e4t method's encoder for a base model.
type EncoderRequest struct {
	Dir       string
	ModelPath string  // "" for the embedded base model
	Steps     int     // length of the schedule (0: 4000)
	StopAfter int     // steps in this sitting (0: to the end)
	Batch     int     // (0: 16)
	CPUHours  float64 // stop once the run has used this much CPU time (0: no limit)
	Config    string  // "default" or "tiny" (tests)
	// Values adds the value head (offsets to the concept word's value in
	// every cross-attention layer), UNet the frozen UNet's features of
	// the noised picture as a second input: E4T's other halves.
	Values, UNet bool
	// Attach writes the base model with the folder's encoder in it to
	// this file (F16, as the embedded model ships) instead of training.
	Attach string
}

// Encoder runs the request: a resumable run in req.Dir whose
// encoder.safetensors `train -method e4t -encoder FILE` uses.
func (a *App) Encoder(ctx context.Context, req EncoderRequest, progress ProgressFunc) error {
	if req.Dir == "" {
		return usageError("missing -dir DIR")
	}
	if req.Steps < 0 || req.StopAfter < 0 || req.Batch < 0 || req.CPUHours < 0 {
		return usageError("-steps, -for, -batch and -cpu-hours must not be negative")
	}
	base, err := a.base(req.ModelPath)
	if err != nil {
		return err
	}
	if req.Attach != "" {
		enc, err := engine.LoadEncoder(filepath.Join(req.Dir, engine.EncoderFile))
		if err != nil {
			return err
		}
		prev := base.Encoder
		if err := base.AttachEncoder(enc); err != nil {
			return err
		}
		defer func() { base.Encoder = prev }() // the loaded base stays as it was for this App
		if err := base.Save(req.Attach, true); err != nil {
			return fmt.Errorf("cannot write %s: %w", req.Attach, err)
		}
		fmt.Fprintln(a.Out, req.Attach)
		return nil
	}
	opt := engine.EncoderTrainOptions{Dir: req.Dir, Steps: req.Steps, StopAfter: req.StopAfter, Batch: req.Batch,
		CPUBudget: time.Duration(req.CPUHours * float64(time.Hour)), ValueHead: req.Values, UNetInput: req.UNet}
	switch req.Config {
	case "", "default":
	case "tiny":
		opt.Config = engine.TinyEncoderConfig(base.Cfg.TextDim)
	default:
		return usageError("-config %q: choose default or tiny", excerpt(req.Config))
	}
	start := time.Now()
	err = base.TrainEncoder(ctx, opt, func(p engine.EncoderProgress) {
		msg := p.Message
		if p.CPUHours > 0 && msg == "" {
			msg = fmt.Sprintf("%.2f CPU-hours", p.CPUHours)
		}
		progress.report(Progress{Stage: "encoder", Step: p.Step, Total: p.Total, Loss: p.Loss, Elapsed: time.Since(start), Message: msg})
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Out, filepath.Join(req.Dir, engine.EncoderFile))
	return nil
}
