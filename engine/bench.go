package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorgonia.org/tensor"

	"conceptstudio/engine/autoenc"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/diffusion"
	"conceptstudio/engine/kernels"
	"conceptstudio/engine/model"
	"conceptstudio/engine/nn"
	"conceptstudio/engine/optim"
)

// BenchOptions size the benchmark.
type BenchOptions struct {
	Batch int          // training batch (default 32)
	Steps int          // timed training steps (default 5)
	Model model.Config // the trained network (default model.Reference)
	// ModelName names Model in the report ("reference" when Model is unset).
	ModelName string
	SkipTrain bool
	SkipSgemm bool
	// SkipSample leaves out the sampling timings.
	SkipSample bool
	Replicas   int // model replicas sharing the batch (0: one per core)
}

// BenchResult is what `conceptstudio bench` reports. Ratios are computed
// from numbers measured in the same run.
type BenchResult struct {
	BLAS            string  `json:"blas"`
	Threads         int     `json:"threads"`
	SgemmGFLOPS512  float64 `json:"sgemm_gflops_512"`
	SgemmGFLOPS1024 float64 `json:"sgemm_gflops_1024"`
	// SgemmGFLOPSAllCores is 1024³ products run one per core at once.
	SgemmGFLOPSAllCores float64 `json:"sgemm_gflops_all_cores"`
	SerialBLAS          bool    `json:"serial_blas"`
	// GPU is the GPU large products run on in the cudagpu build ("" in
	// the default build).
	GPU            string  `json:"gpu,omitempty"`
	Config         string  `json:"config,omitempty"` // the trained network
	Params         int     `json:"params"`
	Batch          int     `json:"batch"`
	Replicas       int     `json:"replicas"`
	StepMS         float64 `json:"train_step_ms"`
	ImgPerS        float64 `json:"train_img_per_s"`
	ForwardGFLOP   float64 `json:"forward_gflop_per_image"`
	TrainGFLOPS    float64 `json:"train_gflops"`
	RatioToSgemm   float64 `json:"train_gflops_over_sgemm"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	AllocMBPerStep float64 `json:"alloc_mb_per_step"`
	// SampleSeconds is 4 images × 25 DDIM steps with classifier-free
	// guidance (one batch of 8 per step) on the same network.
	SampleSeconds float64 `json:"sample_4x25_guided_s"`
	// SampleSecondsBase is the same for the shipped base model's config
	// (what the window's generate button runs).
	SampleSecondsBase float64 `json:"sample_4x25_guided_base_config_s"`
	// SampleSecondsLatent is the same for the latent design (the base
	// UNet on 16×16×4 latents, decoded to 64×64 pictures by the default
	// autoencoder): what a 64-pixel base would cost.
	SampleSecondsLatent float64 `json:"sample_4x25_guided_latent_64px_s"`
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
		opt.Model, opt.ModelName = model.Reference(), "reference"
	}
	if progress == nil {
		progress = func(string, int, int) {}
	}
	r := BenchResult{Config: opt.ModelName, BLAS: kernels.BLAS(), GPU: kernels.GPU(), Threads: runtime.GOMAXPROCS(0), Batch: opt.Batch, SerialBLAS: kernels.Serial()}
	if !opt.SkipSgemm {
		progress("sgemm", 0, 3)
		r.SgemmGFLOPS512 = sgemmGFLOPS(512, 20, 1)
		progress("sgemm", 1, 3)
		r.SgemmGFLOPS1024 = sgemmGFLOPS(1024, 5, 1)
		progress("sgemm", 2, 3)
		// One independent product per core at once: what the whole
		// machine does when every core runs its own BLAS call.
		r.SgemmGFLOPSAllCores = sgemmGFLOPS(1024, 4, r.Threads)
		progress("sgemm", 3, 3)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if !opt.SkipTrain {
		if err := benchTrain(ctx, opt, &r, progress); err != nil {
			return r, err
		}
	}
	if !opt.SkipSample {
		progress("sampling", 0, 3)
		var err error
		if r.SampleSeconds, err = benchSample(ctx, opt.Model, nil); err != nil {
			return r, err
		}
		progress("sampling", 1, 3)
		if atlas, err := dataset.LoadAtlas(); err == nil {
			tok := dataset.NewTokenizer(atlas, dataset.DefaultReserved)
			if r.SampleSecondsBase, err = benchSample(ctx, EmbeddedConfig(tok), nil); err != nil {
				return r, err
			}
			progress("sampling", 2, 3)
			ae, err := autoenc.Untrained(autoenc.Default(), 1)
			if err != nil {
				return r, err
			}
			defer ae.Close()
			if r.SampleSecondsLatent, err = benchSample(ctx, latentConfig(BaseConfig(tok), ae.Record.Config), ae); err != nil {
				return r, err
			}
		}
		progress("sampling", 3, 3)
	}
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

// benchSample times what the generate button does for 4 images × 25 DDIM
// steps with classifier-free guidance (each step one batch of 8: the
// unconditional and conditional halves), through the same sampling code,
// on untrained weights of config c (with ae, on its latents, decoded).
func benchSample(ctx context.Context, c model.Config, ae *autoenc.Model) (float64, error) {
	b := &Base{Cfg: c, Pred: diffusion.VPrediction, Sched: diffusion.Cosine(diffusion.DefaultT), W: nn.NewWeights(tensor.Float32, 1), AE: ae}
	defer b.closeNets()
	encode := func(prompt string) ([]int, int, error) {
		ids := make([]int, c.MaxLen)
		if prompt == "" {
			return ids, 0, nil
		}
		ids[0], ids[1], ids[2] = 1, 2, 3
		return ids, 3, nil
	}
	opt := GenerateOptions{Prompt: "a cat", N: 4, Steps: 25, Guidance: 5, Seed: 1, Sampler: diffusion.DDIM}
	// The first call builds the nets; time the second.
	if _, err := b.sample(ctx, GenerateOptions{Prompt: "a", N: 4, Steps: 1, Guidance: 5, Seed: 1}, encode, b.netWith, nil, nil); err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := b.sample(ctx, opt, encode, b.netWith, nil, nil); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

func benchTrain(ctx context.Context, opt BenchOptions, r *BenchResult, progress func(string, int, int)) error {
	c := opt.Model
	w := nn.NewWeights(tensor.Float32, 1)
	reps, err := newReplicas(w, c, opt.Batch, opt.Replicas, model.NetOptions{}, nil)
	if err != nil {
		return err
	}
	defer reps.Close()
	r.Params = w.Count()
	r.Replicas = len(reps.nets)
	r.ForwardGFLOP = reps.nets[0].FLOPs() / float64(reps.per) / 1e9
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
	per := n / B
	set := func(net *model.Net, lo, hi int) error {
		return net.Set(x[lo*per:hi*per], t[lo:hi], ids[lo*c.MaxLen:hi*c.MaxLen], lengths[lo:hi], target[lo*per:hi*per], nil)
	}
	adam := optim.NewAdamW(optim.Group{LR: 1e-4, WeightDecay: 0.01})
	step := func() error {
		if _, err := reps.run(set); err != nil {
			return err
		}
		optim.ClipGradNorm(reps.Params, 1)
		return adam.Step(reps.Params)
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
	sec := elapsed.Seconds() / float64(opt.Steps)
	r.StepMS = sec * 1000
	r.ImgPerS = float64(B) / sec
	r.TrainGFLOPS = 3 * r.ForwardGFLOP * float64(B) / sec
	best := max(r.SgemmGFLOPS512, r.SgemmGFLOPS1024, r.SgemmGFLOPSAllCores)
	if best > 0 {
		r.RatioToSgemm = r.TrainGFLOPS / best
	}
	return nil
}

// sgemmGFLOPS times n×n×n float32 products, workers at a time, and
// returns the total GFLOPS.
func sgemmGFLOPS(n, reps, workers int) float64 {
	type mats struct{ a, b, c []float32 }
	ms := make([]mats, workers)
	for w := range ms {
		ms[w] = mats{make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)}
		for i := range ms[w].a {
			ms[w].a[i], ms[w].b[i] = float32(i%7)*0.1, float32(i%5)*0.1
		}
		kernels.Gemm(false, false, n, n, n, 1, ms[w].a, n, ms[w].b, n, 0, ms[w].c, n)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for w := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := ms[w]
			for i := 0; i < reps; i++ {
				kernels.Gemm(false, false, n, n, n, 1, m.a, n, m.b, n, 0, m.c, n)
			}
		}()
	}
	wg.Wait()
	return 2 * float64(n*n*n) * float64(reps*workers) / time.Since(start).Seconds() / 1e9
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
	kind := "threaded"
	if r.SerialBLAS {
		kind = "serial"
	}
	fmt.Fprintf(&b, "BLAS                 %s, %s, %d cores\n", r.BLAS, kind, r.Threads)
	if r.GPU != "" {
		fmt.Fprintf(&b, "GPU                  %s\n", r.GPU)
	}
	fmt.Fprintf(&b, "sgemm 512 / 1024     %.1f / %.1f GFLOPS (one call); %.1f GFLOPS (one call per core)\n", r.SgemmGFLOPS512, r.SgemmGFLOPS1024, r.SgemmGFLOPSAllCores)
	if r.StepMS > 0 {
		fmt.Fprintf(&b, "model                %s: %.2fM params, %.3f GFLOP forward per image\n", r.Config, float64(r.Params)/1e6, r.ForwardGFLOP)
		fmt.Fprintf(&b, "train step (batch %d) %.0f ms, %.1f img/s (%d replicas)\n", r.Batch, r.StepMS, r.ImgPerS, r.Replicas)
		fmt.Fprintf(&b, "achieved             %.1f GFLOPS = %.0f%% of the best sgemm above\n", r.TrainGFLOPS, 100*r.RatioToSgemm)
	}
	if r.SampleSeconds > 0 {
		fmt.Fprintf(&b, "sampling             %.2f s for 4 images × 25 steps with guidance (base config: %.2f s at 32×32; its latent design: %.2f s at 64×64)\n", r.SampleSeconds, r.SampleSecondsBase, r.SampleSecondsLatent)
	}
	fmt.Fprintf(&b, "peak RSS             %.0f MB (%.1f MB allocated per step)\n", r.PeakRSSMB, r.AllocMBPerStep)
	return b.String()
}
