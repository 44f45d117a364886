package eval

import (
	"testing"

	"conceptstudio/engine/dataset"
)

// TestScoreRegionsOnRendersNoModelMade: things drawn in their boxes are
// found there (the ceiling); the same pictures against boxes handed to
// the wrong things fail; ellipses of the sprites' colours are not found.
func TestScoreRegionsOnRendersNoModelMade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the judge on 3×40 pictures")
	}
	judge, err := LoadJudge()
	if err != nil {
		t.Fatal(err)
	}
	a, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	scenes := RegionScenes(a, 0, 6, 11)
	if len(scenes) != 6*7 {
		t.Fatalf("%d scenes, want 42", len(scenes))
	}
	v, err := ValidateRegions(judge, a, scenes, 32)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("truth %+v\nwrong boxes %+v\ncolour only %+v", v.Truth, v.WrongBoxes, v.ColourOnly)
	if v.Truth.InBox < 0.8 || v.Truth.OwnBest < 0.8 {
		t.Errorf("ground truth: %.2f of things in their boxes, %.2f their own box's best; want ≥ 0.8", v.Truth.InBox, v.Truth.OwnBest)
	}
	if v.WrongBoxes.InBox > 0.25 || v.WrongBoxes.All > 0.05 {
		t.Errorf("wrong boxes: %.2f in box, %.2f all; want ≤ 0.25 and ≤ 0.05", v.WrongBoxes.InBox, v.WrongBoxes.All)
	}
	if v.ColourOnly.Found > 0.3 || v.ColourOnly.InBox > v.Truth.InBox/2 {
		t.Errorf("colour-only ellipses: %.2f found, %.2f in box", v.ColourOnly.Found, v.ColourOnly.InBox)
	}
}
