package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"conceptstudio/engine"
	"conceptstudio/engine/autoenc"
)

// AutoencoderRequest trains (or checks) the latent design's autoencoder:
// 64×64 renders ↔ 16×16×4 latents (engine/autoenc).
type AutoencoderRequest struct {
	Dir       string
	Steps     int     // length of the schedule (0: 20000)
	StopAfter int     // steps in this sitting (0: to the end)
	Batch     int     // (0: 16)
	CPUHours  float64 // stop once the run has used this much CPU time (0: no limit)
	Config    string  // "default" or "tiny" (tests)
	// Check measures the folder's model instead of training: the shape
	// judge on renders straight and through the autoencoder; Out writes
	// the reconstruction grid (PNG).
	Check bool
	Out   string
	Seeds int // -check: scenes per class (0: 2)
	JSON  bool
}

// Autoencoder runs the request.
func (a *App) Autoencoder(ctx context.Context, req AutoencoderRequest, progress ProgressFunc) error {
	if req.Dir == "" {
		return usageError("missing -dir DIR")
	}
	if req.Steps < 0 || req.StopAfter < 0 || req.Batch < 0 || req.CPUHours < 0 || req.Seeds < 0 {
		return usageError("-steps, -for, -batch, -cpu-hours and -seeds must not be negative")
	}
	if req.Out != "" && !strings.EqualFold(filepath.Ext(req.Out), ".png") {
		return usageError("-out %s: the grid is a .png file", req.Out)
	}
	if req.Check {
		return a.checkAutoencoder(req)
	}
	opt := autoenc.TrainOptions{Dir: req.Dir, Steps: req.Steps, StopAfter: req.StopAfter, Batch: req.Batch,
		CPUBudget: time.Duration(req.CPUHours * float64(time.Hour)), CPUTime: engine.ProcessCPU}
	switch req.Config {
	case "", "default":
	case "tiny":
		opt.Config = autoenc.Tiny()
	default:
		return usageError("-config %q: choose default or tiny", excerpt(req.Config))
	}
	start := time.Now()
	err := autoenc.Train(ctx, opt, func(p autoenc.Progress) {
		msg := p.Message
		if p.CPUHours > 0 && msg == "" {
			msg = fmt.Sprintf("%.2f CPU-hours", p.CPUHours)
		}
		progress.report(Progress{Stage: "autoencoder", Step: p.Step, Total: p.Total, Loss: p.Loss, Elapsed: time.Since(start), Message: msg})
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Out, filepath.Join(req.Dir, autoenc.ModelFile))
	return nil
}

// checkAutoencoder reports how many shapes the folder's autoencoder keeps.
func (a *App) checkAutoencoder(req AutoencoderRequest) error {
	m, err := autoenc.Load(filepath.Join(req.Dir, autoenc.ModelFile))
	if err != nil {
		return fmt.Errorf("no autoencoder to check in %s: %w", req.Dir, err)
	}
	defer m.Close()
	seeds := req.Seeds
	if seeds == 0 {
		seeds = 2
	}
	rep, grid, err := engine.CheckAutoencoder(m, seeds)
	if err != nil {
		return err
	}
	if req.Out != "" {
		if err := writePNG(req.Out, grid); err != nil {
			return err
		}
	}
	if req.JSON {
		return a.writeJSON(rep)
	}
	fmt.Fprintf(a.Out, "autoencoder at step %d (latent scale %.3f), %d renders, judged colour-blind\n", rep.Steps, rep.Scale, rep.Images)
	fmt.Fprintf(a.Out, "  ground truth          %v\n", rep.Truth)
	fmt.Fprintf(a.Out, "  through the autoencoder %v (the ceiling of a latent model on it)\n", rep.Through)
	fmt.Fprintf(a.Out, "  reconstruction error  MSE %.5f, PSNR %.1f dB\n", rep.MSE, rep.PSNR)
	if req.Out != "" {
		fmt.Fprintln(a.Out, req.Out)
	}
	return nil
}
