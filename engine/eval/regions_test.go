package eval

import (
	"image"
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

// TestScoreRegionsTellsConceptsOfOneClassApart: two sprites of one class
// (the world's two styles) stand for two concepts of that class; each is
// found in its own box by its references, and handing each the other's
// references puts both in the wrong box.
func TestScoreRegionsTellsConceptsOfOneClassApart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the judge")
	}
	judge, err := LoadJudge()
	if err != nil {
		t.Fatal(err)
	}
	a, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	rd := dataset.NewRenderer(a)
	boxes := RegionLayouts[2][0]
	var right, swapped RegionRates
	for _, class := range a.Names() {
		sp := a.SpritesNamed(class)
		if len(sp) < 2 {
			continue
		}
		var scene dataset.Scene
		refs := make([][][]float32, 2)
		for i := range 2 {
			cx, cy := boxes[i].Centre()
			scene.Objects = append(scene.Objects, dataset.Placed{Sprite: sp[i], CX: cx, CY: cy, Extent: 0.4})
			alone := dataset.Scene{Objects: []dataset.Placed{{Sprite: sp[i], CX: 0.5, CY: 0.5, Extent: 0.8}}, Background: dataset.Background{Colour: "white"}}
			f, err := judge.Features([]image.Image{rd.RenderImage(alone, 32)})
			if err != nil {
				t.Fatal(err)
			}
			refs[i] = f
		}
		scene.Background = dataset.Background{Colour: "white"}
		img := rd.RenderImage(scene, 32)
		s, err := ScoreRegions(img, boxes, []RegionThing{{class, refs[0]}, {class, refs[1]}}, judge)
		if err != nil {
			t.Fatal(err)
		}
		right.Add(s)
		if s, err = ScoreRegions(img, boxes, []RegionThing{{class, refs[1]}, {class, refs[0]}}, judge); err != nil {
			t.Fatal(err)
		}
		swapped.Add(s)
		if right.Images == 30 {
			break
		}
	}
	t.Logf("own references %+v\nswapped %+v", right, swapped)
	if right.Images < 10 {
		t.Fatalf("only %d classes with two sprites", right.Images)
	}
	if right.InBox < 0.8 || right.OwnBest < 0.8 {
		t.Errorf("own references: %.2f in box, %.2f own best; want ≥ 0.8", right.InBox, right.OwnBest)
	}
	if swapped.InBox > 0.2 {
		t.Errorf("swapped references: %.2f in box; want ≤ 0.2", swapped.InBox)
	}
}
