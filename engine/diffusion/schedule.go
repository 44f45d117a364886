package diffusion

import (
	"fmt"
	"math"
)

// DefaultT is the usual number of training timesteps.
const DefaultT = 1000

// Schedule is a discrete noise schedule over timesteps 0…T−1: Betas[t] is
// the variance added at step t, Alphas[t] = 1 − Betas[t] and
// AlphasCumprod[t] = ᾱ_t = Π_{s≤t} Alphas[s]. Methods taking a timestep
// panic when t is outside [0, T), like a slice index.
type Schedule struct {
	T                            int
	Betas, Alphas, AlphasCumprod []float64
}

// FromBetas builds a schedule from its betas, each in (0, 1).
func FromBetas(betas []float64) (*Schedule, error) {
	if len(betas) == 0 {
		return nil, fmt.Errorf("diffusion: empty schedule")
	}
	s := &Schedule{
		T:             len(betas),
		Betas:         append([]float64(nil), betas...),
		Alphas:        make([]float64, len(betas)),
		AlphasCumprod: make([]float64, len(betas)),
	}
	prod := 1.0
	for t, b := range betas {
		if !(b > 0 && b < 1) {
			return nil, fmt.Errorf("diffusion: beta[%d] = %g is outside (0, 1)", t, b)
		}
		s.Alphas[t] = 1 - b
		prod *= 1 - b
		s.AlphasCumprod[t] = prod
	}
	return s, nil
}

// Cosine is the schedule of Nichol & Dhariwal (2021), as diffusers'
// "squaredcos_cap_v2": with f(u) = cos²((u + 0.008)/1.008 · π/2),
// β_t = min(1 − f((t+1)/T)/f(t/T), 0.999). For T = 1000, ᾱ_0 ≈ 0.99996 and
// ᾱ_999 ≈ 2.4e-9. It panics if T < 1.
func Cosine(T int) *Schedule {
	f := func(u float64) float64 {
		c := math.Cos((u + 0.008) / 1.008 * math.Pi / 2)
		return c * c
	}
	betas := make([]float64, mustT(T))
	for i := range betas {
		betas[i] = min(1-f(float64(i+1)/float64(T))/f(float64(i)/float64(T)), 0.999)
	}
	return mustSchedule(betas)
}

// ScaledLinear is Stable Diffusion's schedule, diffusers'
// "scaled_linear": betas = linspace(√0.00085, √0.012, T)², so β_0 = 0.00085
// and β_{T−1} = 0.012 (in float64, where diffusers rounds to float32). It
// panics if T < 1.
func ScaledLinear(T int) *Schedule {
	lo, hi := math.Sqrt(0.00085), math.Sqrt(0.012)
	betas := make([]float64, mustT(T))
	step := 0.0
	if T > 1 {
		step = (hi - lo) / float64(T-1)
	}
	for i := range betas {
		r := float64(i)*step + lo // as numpy.linspace
		betas[i] = r * r
	}
	if T > 1 {
		betas[T-1] = 0.012 // linspace ends exactly on its stop value
	}
	return mustSchedule(betas)
}

func mustT(T int) int {
	if T < 1 {
		panic(fmt.Sprintf("diffusion: schedule length %d < 1", T))
	}
	return T
}

func mustSchedule(betas []float64) *Schedule {
	s, err := FromBetas(betas)
	if err != nil {
		panic(err)
	}
	return s
}

// SqrtAlphaBar is √ᾱ_t, the signal coefficient of x_t.
func (s *Schedule) SqrtAlphaBar(t int) float64 { return math.Sqrt(s.AlphasCumprod[t]) }

// SqrtOneMinusAlphaBar is √(1−ᾱ_t), the noise coefficient of x_t.
func (s *Schedule) SqrtOneMinusAlphaBar(t int) float64 { return math.Sqrt(1 - s.AlphasCumprod[t]) }

// SNR is the signal-to-noise ratio ᾱ_t/(1−ᾱ_t).
func (s *Schedule) SNR(t int) float64 {
	a := s.AlphasCumprod[t]
	return a / (1 - a)
}

// Sigma is the noise level of timestep t in the variance-exploding
// parametrisation used by Euler samplers, √((1−ᾱ_t)/ᾱ_t) = 1/√SNR.
func (s *Schedule) Sigma(t int) float64 {
	a := s.AlphasCumprod[t]
	return math.Sqrt((1 - a) / a)
}

// check reports a schedule whose slices disagree with T.
func (s *Schedule) check() error {
	if s == nil || s.T < 1 || len(s.AlphasCumprod) != s.T {
		return fmt.Errorf("diffusion: invalid schedule")
	}
	return nil
}
