package engine

import (
	"context"
	"image"
	"slices"
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

// TestShapeProbeShowsItsReferences: probing a refs design keeps the
// reference picture each image was given (a sprite of the class over the
// checkerboard) and draws it in the grid beside the image; drawn without
// references, there are none to show.
func TestShapeProbeShowsItsReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("samples 8 pictures")
	}
	b, err := newTinyBase(32)
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.Cfg
	cfg.Frames, cfg.Refs = true, true
	g, err := NewBase(cfg, b.Tok, b.Pred, 5)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	classes := GridClasses[:2]
	_, si, err := g.EvalShape(ctx, classes, 2, ShapeSampling{Steps: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(si.Refs) != 2 || len(si.Refs[0]) != 2 {
		t.Fatalf("references for %d classes, want 2 × 2", len(si.Refs))
	}
	board := refImage(make([]float32, 32*32*4), 32)
	for r, row := range si.Refs {
		for c, img := range row {
			if slices.Equal(img.(*image.NRGBA).Pix, board.Pix) {
				t.Errorf("%s, seed %d: the reference shows nothing", classes[r], c)
			}
		}
	}
	with, without := ShapeGrid(si, 2, 2).Bounds().Dx(), 0
	_, si2, err := g.EvalShape(ctx, classes, 2, ShapeSampling{Steps: 2, NoRefs: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if si2.Refs != nil {
		t.Error("drawn without references, the probe shows some")
	}
	without = ShapeGrid(si2, 2, 2).Bounds().Dx()
	if with <= without {
		t.Errorf("the grid is %d wide with references and %d without: they are not drawn", with, without)
	}
}
