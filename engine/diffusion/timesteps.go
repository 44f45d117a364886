package diffusion

import (
	"fmt"
	"math"
)

// Spacing picks which of the T training timesteps a sampler with fewer
// steps visits; the names and formulas are diffusers' timestep_spacing.
type Spacing int

const (
	// Trailing: round(arange(T, 0, −T/steps)) − 1, e.g. 999, 959, …, 39 for
	// T = 1000 and 25 steps. It starts at the last, noisiest timestep
	// (Lin et al. 2023, "Common diffusion noise schedules and sample steps
	// are flawed"), and is the default.
	Trailing Spacing = iota
	// Leading: arange(0, steps)·(T div steps), reversed, e.g. 960, 920, …, 0
	// (diffusers' default with steps_offset 0).
	Leading
)

func (s Spacing) String() string {
	switch s {
	case Trailing:
		return "trailing"
	case Leading:
		return "leading"
	}
	return fmt.Sprintf("Spacing(%d)", int(s))
}

// Timesteps lists the timesteps a sampler visits, noisiest first, for T
// training steps and 1 ≤ steps ≤ T sampling steps.
func Timesteps(T, steps int, spacing Spacing) ([]int, error) {
	if steps < 1 || steps > T {
		return nil, fmt.Errorf("diffusion: %d sampling steps outside [1, %d]", steps, T)
	}
	ts := make([]int, steps)
	switch spacing {
	case Leading:
		ratio := T / steps
		for i := range ts {
			ts[i] = (steps - 1 - i) * ratio
		}
	case Trailing:
		// numpy.arange(T, 0, -T/steps) writes start, start+δ, then
		// start + i·(second − start); np.round rounds half to even.
		start := float64(T)
		delta := -float64(T) / float64(steps)
		second := start + delta
		step := second - start
		for i := range ts {
			v := start + float64(i)*step
			switch i {
			case 0:
				v = start
			case 1:
				v = second
			}
			ts[i] = int(math.RoundToEven(v)) - 1
		}
	default:
		return nil, fmt.Errorf("diffusion: unknown timestep spacing %d", int(spacing))
	}
	return ts, nil
}
