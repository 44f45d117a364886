package diffusion

import (
	"fmt"
	"math"
)

// PredKind is what the network is trained to predict from (x_t, t).
type PredKind int

const (
	// Epsilon: the added noise ε (DDPM; Stable Diffusion 1.x).
	Epsilon PredKind = iota
	// VPrediction: v = √ᾱ·ε − √(1−ᾱ)·x0 (Salimans & Ho; SD 2.x 768).
	VPrediction
	// SamplePrediction: the clean sample x0 itself.
	SamplePrediction
)

// String gives diffusers' prediction_type name.
func (k PredKind) String() string {
	switch k {
	case Epsilon:
		return "epsilon"
	case VPrediction:
		return "v_prediction"
	case SamplePrediction:
		return "sample"
	}
	return fmt.Sprintf("PredKind(%d)", int(k))
}

// ParsePredKind reads a diffusers prediction_type name.
func ParsePredKind(s string) (PredKind, error) {
	for _, k := range []PredKind{Epsilon, VPrediction, SamplePrediction} {
		if s == k.String() {
			return k, nil
		}
	}
	return 0, fmt.Errorf("diffusion: unknown prediction type %q", s)
}

func (k PredKind) valid() error {
	if k < Epsilon || k > SamplePrediction {
		return fmt.Errorf("diffusion: unknown prediction kind %d", int(k))
	}
	return nil
}

// toX0Eps converts one prediction p at x_t into (x0, ε), where a = √ᾱ_t and
// b = √(1−ᾱ_t). For Epsilon, x0 = (x − b·ε)/a is ill-conditioned where ᾱ
// is tiny (the noisiest timesteps); v and x0 predictions are not.
func toX0Eps(k PredKind, x, p, a, b float64) (x0, eps float64) {
	switch k {
	case Epsilon:
		return (x - b*p) / a, p
	case VPrediction:
		return a*x - b*p, b*x + a*p
	default: // SamplePrediction
		return p, (x - a*p) / b
	}
}

// PredToX0Eps converts a batch of raw network outputs pred, made at x_t
// with per-sample timesteps t, into the predicted clean samples x0 and
// noise ε. xt and pred are [B, n] with B = len(t).
func (s *Schedule) PredToX0Eps(kind PredKind, xt, pred []float32, t []int) (x0, eps []float32, err error) {
	n, err := s.batchShape(xt, t, pred)
	if err != nil {
		return nil, nil, err
	}
	if err := kind.valid(); err != nil {
		return nil, nil, err
	}
	x0 = make([]float32, len(xt))
	eps = make([]float32, len(xt))
	for bi, ti := range t {
		a, b := s.SqrtAlphaBar(ti), s.SqrtOneMinusAlphaBar(ti)
		for i := bi * n; i < (bi+1)*n; i++ {
			xv, ev := toX0Eps(kind, float64(xt[i]), float64(pred[i]), a, b)
			x0[i], eps[i] = float32(xv), float32(ev)
		}
	}
	return x0, eps, nil
}

// batchShape checks that t holds valid timesteps and that every slice in
// data has len(t)·n elements, and returns n.
func (s *Schedule) batchShape(x []float32, t []int, others ...[]float32) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if len(t) == 0 || len(x)%len(t) != 0 {
		return 0, fmt.Errorf("diffusion: %d values do not split into %d samples", len(x), len(t))
	}
	for i, o := range others {
		if len(o) != len(x) {
			return 0, fmt.Errorf("diffusion: operand %d has %d values, want %d", i+2, len(o), len(x))
		}
	}
	for i, ti := range t {
		if ti < 0 || ti >= s.T {
			return 0, fmt.Errorf("diffusion: timestep t[%d] = %d outside [0, %d)", i, ti, s.T)
		}
	}
	return len(x) / len(t), nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
