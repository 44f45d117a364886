package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"conceptstudio/engine/kernels"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/optim"
)

// BenchOptions size the benchmark.
type BenchOptions struct {
	Batch     int // training batch (default 32)
	Steps     int // timed training steps (default 5)
	Model     model.Config
	SkipTrain bool
	SkipSgemm bool
}

// BenchResult is what `conceptstudio bench` reports. Ratios are computed
// from numbers measured in the same run.
type BenchResult struct {
	BLAS            string  `json:"blas"`
	Threads         int     `json:"threads"`
	SgemmGFLOPS512  float64 `json:"sgemm_gflops_512"`
	SgemmGFLOPS1024 float64 `json:"sgemm_gflops_1024"`
	Params          int     `json:"params"`
	Batch           int     `json:"batch"`
	StepMS          float64 `json:"train_step_ms"`
	ImgPerS         float64 `json:"train_img_per_s"`
	ForwardGFLOP    float64 `json:"forward_gflop_per_image"`
	TrainGFLOPS     float64 `json:"train_gflops"`
	RatioToSgemm    float64 `json:"train_gflops_over_sgemm"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	AllocMBPerStep  float64 `json:"alloc_mb_per_step"`
}

// Bench measures sgemm and the reference model's training step.
func Bench(ctx context.Context, opt BenchOptions, progress func(stage string, step, total int)) (BenchResult, error) {
	if opt.Batch == 0 {
		opt.Batch = 32
	}
	if opt.Steps == 0 {
		opt.Steps = 5
	}
	if opt.Model.Channels == nil {
		opt.Model = model.Reference()
	}
	if progress == nil {
		progress = func(string, int, int) {}
	}
	r := BenchResult{BLAS: kernels.BLAS(), Threads: runtime.GOMAXPROCS(0), Batch: opt.Batch}
	if !opt.SkipSgemm {
		progress("sgemm", 0, 2)
		r.SgemmGFLOPS512 = sgemmGFLOPS(512, 20)
		progress("sgemm", 1, 2)
		r.SgemmGFLOPS1024 = sgemmGFLOPS(1024, 5)
		progress("sgemm", 2, 2)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if !opt.SkipTrain {
		if err := benchTrain(ctx, opt, &r, progress); err != nil {
			return r, err
		}
	}
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

func benchTrain(ctx context.Context, opt BenchOptions, r *BenchResult, progress func(string, int, int)) error {
	c := opt.Model
	w := nn.NewWeights(tensor.Float32, 1)
	net, err := model.Build(w, c, model.NetOptions{Batch: opt.Batch, Train: true})
	if err != nil {
		return err
	}
	defer net.Close()
	r.Params = w.Count()
	r.ForwardGFLOP = net.FLOPs() / float64(opt.Batch) / 1e9
	rng := rand.New(rand.NewPCG(1, 2))
	B := opt.Batch
	n := B * c.ImageSize * c.ImageSize * c.InChannels
	x, target := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], target[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	t := make([]float64, B)
	ids := make([]int, B*c.MaxLen)
	lengths := make([]int, B)
	for i := range t {
		t[i] = float64(rng.IntN(1000))
		lengths[i] = 2 + rng.IntN(c.MaxLen-1)
		for j := 0; j < lengths[i]; j++ {
			ids[i*c.MaxLen+j] = 1 + rng.IntN(c.Vocab-1)
		}
	}
	if err := net.Set(x, t, ids, lengths, target, nil); err != nil {
		return err
	}
	params := learnable(net, nil)
	adam := optim.NewAdamW(optim.Group{LR: 1e-4, WeightDecay: 0.01})
	step := func() error {
		if err := net.Run(); err != nil {
			return err
		}
		params.collect()
		optim.ClipGradNorm(params.Params, 1)
		return adam.Step(params.Params)
	}
	const warm = 2
	total := warm + opt.Steps
	var elapsed time.Duration
	var ms0, ms1 runtime.MemStats
	for i := 0; i < total; i++ {
		if i == warm {
			runtime.ReadMemStats(&ms0)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		progress("train step", i, total)
		start := time.Now()
		if err := step(); err != nil {
			return err
		}
		if i >= warm {
			elapsed += time.Since(start)
		}
	}
	runtime.ReadMemStats(&ms1)
	r.AllocMBPerStep = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(opt.Steps) / (1 << 20)
	progress("train step", total, total)
	per := elapsed.Seconds() / float64(opt.Steps)
	r.StepMS = per * 1000
	r.ImgPerS = float64(B) / per
	r.TrainGFLOPS = 3 * net.FLOPs() / per / 1e9
	best := max(r.SgemmGFLOPS512, r.SgemmGFLOPS1024)
	if best > 0 {
		r.RatioToSgemm = r.TrainGFLOPS / best
	}
	return nil
}

// sgemmGFLOPS times n×n×n float32 products.
func sgemmGFLOPS(n, reps int) float64 {
	a := make([]float32, n*n)
	b := make([]float32, n*n)
	c := make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	kernels.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	start := time.Now()
	for i := 0; i < reps; i++ {
		kernels.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	}
	return 2 * float64(n*n*n) * float64(reps) / time.Since(start).Seconds() / 1e9
}

// peakRSSMB reads the process's peak resident set size (Linux), 0 elsewhere.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// String renders the result as a small table.
func (r BenchResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "BLAS                 %s, %d threads\n", r.BLAS, r.Threads)
	fmt.Fprintf(&b, "sgemm 512 / 1024     %.1f / %.1f GFLOPS\n", r.SgemmGFLOPS512, r.SgemmGFLOPS1024)
	if r.StepMS > 0 {
		fmt.Fprintf(&b, "model                %.2fM params, %.3f GFLOP forward per image\n", float64(r.Params)/1e6, r.ForwardGFLOP)
		fmt.Fprintf(&b, "train step (batch %d) %.0f ms, %.1f img/s\n", r.Batch, r.StepMS, r.ImgPerS)
		fmt.Fprintf(&b, "achieved             %.1f GFLOPS = %.0f%% of sgemm\n", r.TrainGFLOPS, 100*r.RatioToSgemm)
	}
	fmt.Fprintf(&b, "peak RSS             %.0f MB (%.1f MB allocated per step)\n", r.PeakRSSMB, r.AllocMBPerStep)
	return b.String()
}
