package engine

import (
	"math/rand/v2"
	"testing"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// TestPlanFrames: the frames planned from a prompt keep what its words
// say — a position, a size, a relation between two things, the boxes of
// the canvas — and draw the rest as the world does; a prompt that names
// nothing gets none, and the same rng gives the same frames.
func TestPlanFrames(t *testing.T) {
	plan := func(prompt string, seed uint64, regions ...region.Region) [model.FrameSlots]model.Frame {
		return planFrames(dataset.Words(prompt), regions, rand.New(rand.NewPCG(seed, 1)))
	}
	for seed := uint64(0); seed < 20; seed++ {
		f := plan("a big dog on the left, on a blue background", seed)
		if f[0].CX > 0.4 || f[0].Extent < 0.42 || f[1].Extent != 0 {
			t.Fatalf("a big dog on the left: %+v", f)
		}
		f = plan("in the bottom right corner, a small cat", seed)
		if f[0].CX < 0.6 || f[0].CY < 0.6 || f[0].Extent > 0.41 {
			t.Fatalf("a small cat in the bottom right corner: %+v", f)
		}
		f = plan("a cat on the right of a big teapot", seed)
		if f[0].CX <= f[1].CX || f[1].Extent < 0.42 || f[0].Extent == 0 {
			t.Fatalf("a cat on the right of a big teapot: %+v", f)
		}
		f = plan("a cat above a teapot on a striped green background", seed)
		if f[0].CY >= f[1].CY {
			t.Fatalf("a cat above a teapot: %+v", f)
		}
	}
	if plan("a dog", 3) != plan("a dog", 3) {
		t.Error("the same rng planned different frames")
	}
	if plan("a dog", 3) == plan("a dog", 4) && plan("a dog", 5) == plan("a dog", 6) {
		t.Error("an unstated place is always the same")
	}
	if f := plan("on a blue background", 1); f != ([model.FrameSlots]model.Frame{}) {
		t.Errorf("a prompt naming nothing got frames %+v", f)
	}
	f := plan("a teapot next to a cat", 1, region.Region{Name: "cat", X: 0.1, Y: 0.2, W: 0.3, H: 0.4}, region.Region{Name: "teapot", X: 0.5, Y: 0.5, W: 0.5, H: 0.2})
	want := [model.FrameSlots]model.Frame{{CX: 0.75, CY: 0.6, Extent: 0.5}, {CX: 0.25, CY: 0.4, Extent: 0.4}}
	for i := range f {
		if d := f[i].CX - want[i].CX + f[i].CY - want[i].CY + f[i].Extent - want[i].Extent; d*d > 1e-18 {
			t.Errorf("boxes: slot %d is %+v, want %+v (the prompt's order)", i, f[i], want[i])
		}
	}
}
