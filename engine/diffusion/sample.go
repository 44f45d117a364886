package diffusion

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// SamplerKind selects the sampling algorithm.
type SamplerKind int

const (
	// DDIM (Song et al. 2021) as diffusers' DDIMScheduler: deterministic
	// with Eta = 0, DDPM-like ancestral noise with Eta = 1.
	DDIM SamplerKind = iota
	// EulerAncestral as diffusers' EulerAncestralDiscreteScheduler: Euler
	// steps in σ space (σ = √((1−ᾱ)/ᾱ)) with fresh noise after each step.
	EulerAncestral
)

func (k SamplerKind) String() string {
	switch k {
	case DDIM:
		return "ddim"
	case EulerAncestral:
		return "euler_a"
	}
	return fmt.Sprintf("SamplerKind(%d)", int(k))
}

// DefaultSteps is the number of sampling steps when Options.Steps is 0.
const DefaultSteps = 25

// Options configures Sample; the zero value is DDIM, 25 steps, trailing
// spacing, η = 0, no clipping.
type Options struct {
	Sampler SamplerKind
	// Steps is the number of model calls (0: DefaultSteps), at most T.
	Steps   int
	Spacing Spacing
	// Eta scales DDIM's per-step noise (0 deterministic, 1 DDPM-like);
	// ignored by EulerAncestral.
	Eta float64
	// ClipX0 clamps each predicted x0 to [−1, 1] before it is used (for
	// DDIM, ε is then recomputed from the clamped x0, as diffusers'
	// clip_sample).
	ClipX0 bool
	// Init, when set, is a picture ([batch, n], like the result) the
	// sampler starts from instead of pure noise: DDIM skips the steps
	// whose timestep is above InitStrength·T and starts at the first one
	// below it from Init noised to that timestep (SDEdit). The noise comes
	// from the same random source, so a seed gives one image.
	Init         []float32
	InitStrength float64
	// Progress, if set, is called after each step with (done, total).
	Progress func(step, total int)
}

// Sample draws batch samples of n values each by running the reverse
// process with model, and returns them as [batch, n]. kind is what model
// predicts. The initial noise and any per-step noise come from rng, in
// that order, so equal seeds give equal images. ctx is checked before each
// model call; on cancellation Sample returns ctx.Err() (context.Canceled
// or context.DeadlineExceeded).
//
// Both samplers end with ᾱ = 1 after the last step (diffusers'
// set_alpha_to_one / final σ = 0), so the result is the model's last x0
// prediction. DDIM starts from x ~ N(0, I); EulerAncestral starts from
// N(0, (σ_first² + 1)·I) in σ space, which is the same distribution, and
// feeds the model x/√(σ² + 1). Between steps DDIM goes to the next
// timestep of the list (equal to diffusers' t − T/steps when steps divides
// T).
func Sample(ctx context.Context, s *Schedule, kind PredKind, model Denoiser, batch, n int, rng *rand.Rand, opt Options) ([]float32, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := kind.valid(); err != nil {
		return nil, err
	}
	if batch < 1 || n < 1 {
		return nil, fmt.Errorf("diffusion: cannot sample shape [%d, %d]", batch, n)
	}
	if model == nil || rng == nil {
		return nil, fmt.Errorf("diffusion: Sample needs a model and a random source")
	}
	if !(opt.Eta >= 0) || math.IsInf(opt.Eta, 0) {
		return nil, fmt.Errorf("diffusion: eta %g must be finite and >= 0", opt.Eta)
	}
	steps := opt.Steps
	if steps == 0 {
		steps = DefaultSteps
	}
	ts, err := Timesteps(s.T, steps, opt.Spacing)
	if err != nil {
		return nil, err
	}
	r := &run{
		ctx: ctx, s: s, kind: kind, model: model, batch: batch, rng: rng, opt: opt, ts: ts,
		x:  make([]float64, batch*n),
		in: make([]float32, batch*n),
		t:  make([]int, batch),
	}
	switch opt.Sampler {
	case DDIM:
		err = r.ddim()
	case EulerAncestral:
		err = r.eulerAncestral()
	default:
		err = fmt.Errorf("diffusion: unknown sampler %d", int(opt.Sampler))
	}
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(r.x))
	for i, v := range r.x {
		out[i] = float32(v)
	}
	return out, nil
}

// run is the state shared by the samplers.
type run struct {
	ctx   context.Context
	s     *Schedule
	kind  PredKind
	model Denoiser
	batch int
	rng   *rand.Rand
	opt   Options
	ts    []int

	x  []float64 // running sample, float64 between steps
	in []float32 // model input buffer
	t  []int     // model timestep buffer
}

// predict checks ctx, calls the model on scale·x at timestep ts[i] and
// validates its output.
func (r *run) predict(i int, scale float64) ([]float32, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	for j, v := range r.x {
		r.in[j] = float32(v * scale)
	}
	for j := range r.t {
		r.t[j] = r.ts[i]
	}
	pred, err := r.model(r.in, r.t, r.batch)
	if err != nil {
		return nil, fmt.Errorf("diffusion: step %d (t=%d): %w", i+1, r.ts[i], err)
	}
	if len(pred) != len(r.x) {
		return nil, fmt.Errorf("diffusion: step %d (t=%d): model returned %d values, want %d", i+1, r.ts[i], len(pred), len(r.x))
	}
	for _, p := range pred {
		if !finite(float64(p)) {
			return nil, fmt.Errorf("diffusion: step %d (t=%d): model output is not finite", i+1, r.ts[i])
		}
	}
	return pred, nil
}

func (r *run) progress(i int) {
	if r.opt.Progress != nil {
		r.opt.Progress(i+1, len(r.ts))
	}
}

func clip(v float64) float64 { return max(-1, min(1, v)) }
