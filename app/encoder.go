package app

import (
	"context"
	"fmt"
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
	opt := engine.EncoderTrainOptions{Dir: req.Dir, Steps: req.Steps, StopAfter: req.StopAfter, Batch: req.Batch,
		CPUBudget: time.Duration(req.CPUHours * float64(time.Hour))}
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
	fmt.Fprintf(a.Out, "%s\n", req.Dir+"/"+engine.EncoderFile)
	return nil
}
