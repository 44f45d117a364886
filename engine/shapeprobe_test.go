package engine

import (
	"context"
	"testing"
)

// TestShapeProbeFromTruth: the probe started from the ground truth
// barely noised gives back the truth (an untrained model's prediction
// hardly moves a picture at 3% of the schedule), so its score is near
// the ceiling; the same untrained model from noise names next to
// nothing. So the start reaches the sampler, and the probe's score
// follows how much of the truth a model keeps.
func TestShapeProbeFromTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("samples 24 pictures twice")
	}
	b, err := newTinyBase(32)
	if err != nil {
		t.Fatal(err)
	}
	classes := GridClasses[:12]
	ctx := context.Background()
	near, _, err := b.EvalShape(ctx, classes, 2, ShapeSampling{Steps: 5, FromTruth: 0.03}, nil)
	if err != nil {
		t.Fatal(err)
	}
	far, _, err := b.EvalShape(ctx, classes, 2, ShapeSampling{Steps: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("from the truth at 0.03: %.3f (ceiling %.3f); from noise %.3f", near.Generated.Top1, near.Truth.Top1, far.Generated.Top1)
	// Untrained, the model keeps the start's noise: a few points below.
	if near.Generated.Top1 < near.Truth.Top1-0.3 {
		t.Errorf("started from the truth at 3%% of the schedule: top-1 %.3f, ceiling %.3f", near.Generated.Top1, near.Truth.Top1)
	}
	if far.Generated.Top1 > 0.25 {
		t.Errorf("an untrained model from noise names %.3f of the shapes", far.Generated.Top1)
	}
}
