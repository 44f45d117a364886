package eval

import (
	"image"
	"math/rand/v2"
	"reflect"
	"testing"

	"conceptstudio/engine/dataset"
)

func TestParsePrompt(t *testing.T) {
	for _, c := range []struct {
		text string
		want Prompt
	}{
		{"a dog", Prompt{Objects: []string{"dog"}}},
		{"a big dog on the left, on a blue background", Prompt{Objects: []string{"dog"}, Position: "left", Sizes: [2]string{"big"}, Background: "blue"}},
		{"in the top right corner, a small teapot on a striped green background", Prompt{Objects: []string{"teapot"}, Position: "top right", Sizes: [2]string{"small"}, Background: "green", Pattern: "striped"}},
		{"a cat on the left of a teapot, on a pink background", Prompt{Objects: []string{"cat", "teapot"}, Relation: dataset.RelLeftOf, Background: "pink"}},
		{"grapes at the bottom", Prompt{Objects: []string{"grapes"}, Position: "bottom"}},
		{"on a blue gradient background, a teddy bear in the middle", Prompt{Objects: []string{"teddy bear"}, Position: "centre", Background: "blue", Pattern: "gradient"}},
		{"a small sks* next to a big ice cream", Prompt{Objects: []string{"sks*", "ice cream"}, Relation: dataset.RelNextTo, Sizes: [2]string{"small", "big"}}},
		{"an owl above a car on an orange background", Prompt{Objects: []string{"owl", "car"}, Relation: dataset.RelAbove, Background: "orange"}},
	} {
		got, err := ParsePrompt(c.text)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.text, got, c.want)
		}
	}
	for _, bad := range []string{"", "on a blue background", "a dog on a mauve background", "a dog on the left on the right"} {
		if p, err := ParsePrompt(bad); err == nil {
			t.Errorf("%q: no error (%+v)", bad, p)
		}
	}
}

// TestParsePromptMatchesDescribe: every caption the dataset writes parses
// back to the PromptFor of its scene.
func TestParsePromptMatchesDescribe(t *testing.T) {
	a, _ := testAtlas(t)
	rng := rand.New(rand.NewPCG(8, 8))
	for i := 0; i < 500; i++ {
		sc := a.RandomScene(rng, dataset.DefaultSceneOptions())
		caption, st := dataset.Describe(a, sc, rng)
		got, err := ParsePrompt(caption)
		if err != nil {
			t.Fatalf("%q: %v", caption, err)
		}
		if want := PromptFor(a, sc, st); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", caption, got, want)
		}
	}
}

// TestScoreImageOnRenders: the dataset's own renders satisfy their
// captions' stated attributes (≥ 95% of attributes, pairs included).
func TestScoreImageOnRenders(t *testing.T) {
	o := testOracle(t)
	a, r := testAtlas(t)
	rng := rand.New(rand.NewPCG(9, 9))
	var sat, total int
	per := map[string][2]int{}
	for i := 0; i < 300; i++ {
		sc := a.RandomScene(rng, dataset.DefaultSceneOptions())
		_, st := dataset.Describe(a, sc, rng)
		s := ScoreImage(render(r, sc), PromptFor(a, sc, st), o)
		sat += s.Satisfied
		total += s.Total
		for _, c := range s.Checks {
			v := per[c.Attribute]
			v[1]++
			if c.OK {
				v[0]++
			}
			per[c.Attribute] = v
		}
	}
	t.Logf("renders: %d of %d stated attributes satisfied; by attribute %v", sat, total, per)
	if sat < total*95/100 {
		t.Errorf("only %d of %d attributes satisfied on the dataset's own renders", sat, total)
	}
}

// TestScoreImageWrongPrompt: a render fails the attributes it does not
// have.
func TestScoreImageWrongPrompt(t *testing.T) {
	o := testOracle(t)
	a, r := testAtlas(t)
	dog, _ := a.Sprite("dog", dataset.StyleTwemoji)
	p, _ := a.PlaceSingle(nil, dog, "left", "big", false)
	img := render(r, dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: "blue"}})
	s := ScoreImage(img, Prompt{Objects: []string{"dog"}, Background: "red", Position: "right", Sizes: [2]string{"small"}}, o)
	if s.Satisfied != 0 || s.Total != 3 || s.Fraction != 0 {
		t.Errorf("wrong prompt: %+v", s)
	}
	s = ScoreImage(img, Prompt{Objects: []string{"dog"}, Background: "blue", Position: "left", Sizes: [2]string{"big"}}, o)
	if s.Satisfied != 3 || s.Fraction != 1 {
		t.Errorf("right prompt: %+v", s)
	}
	if s := ScoreImage(img, Prompt{Objects: []string{"dog"}}, o); s.Total != 0 || s.Fraction != 1 {
		t.Errorf("nothing stated: %+v", s)
	}
	// A pair prompt on a one-object image fails its pair checks.
	s = ScoreImage(img, Prompt{Objects: []string{"dog", "cat"}, Relation: dataset.RelLeftOf}, o)
	if s.Satisfied != 0 || s.Total != 2 {
		t.Errorf("pair prompt on one object: %+v", s)
	}
	// Two objects: the subject is found by the oracle whichever side it is.
	cat, _ := a.Sprite("cat", dataset.StyleNoto)
	ps, _ := a.PlacePair(nil, cat, dog, dataset.RelRightOf, [2]string{"big", "small"}, [2]bool{})
	img2 := render(r, dataset.Scene{Objects: ps[:], Relation: dataset.RelRightOf, Background: dataset.Background{Colour: "yellow"}})
	s = ScoreImage(img2, Prompt{Objects: []string{"cat", "dog"}, Relation: dataset.RelRightOf, Sizes: [2]string{"big", "small"}, Background: "yellow"}, o)
	if s.Fraction != 1 {
		t.Errorf("right pair prompt: %+v", s)
	}
	s = ScoreImage(img2, Prompt{Objects: []string{"cat", "dog"}, Relation: dataset.RelLeftOf}, o)
	if s.Satisfied != 1 || s.Total != 2 {
		t.Errorf("wrong relation: %+v", s)
	}
	var nilOracle *Oracle
	s = ScoreImage(img2, Prompt{Objects: []string{"cat", "dog"}, Relation: dataset.RelNextTo}, nilOracle)
	if s.Total != 1 || s.Satisfied != 1 {
		t.Errorf("next to without an oracle: %+v", s)
	}
	_ = image.Image(img2)
}

// TestSecondObjectJudgedColourBlind: ScoreImage's "object 2" check, given
// the colour-blind judge, passes on two-object renders (the ceiling) and
// fails when each sprite is an ellipse of its mean colour (a control at
// chance), where the colour oracle passes far more of those: why eval
// -base names both objects with the judge.
func TestSecondObjectJudgedColourBlind(t *testing.T) {
	a, r := testAtlas(t)
	judge, oracle := testJudge(t), testOracle(t)
	rng := rand.New(rand.NewPCG(12, 12))
	var n, truth, blobJudge, blobOracle int
	for n < 120 {
		sc := a.RandomScene(rng, dataset.DefaultSceneOptions())
		if len(sc.Objects) != 2 {
			continue
		}
		_, st := dataset.Describe(a, sc, rng)
		p := PromptFor(a, sc, st)
		second := func(img image.Image, o *Oracle) bool {
			for _, c := range ScoreImage(img, p, o).Checks {
				if c.Attribute == "object 2" {
					return c.OK
				}
			}
			return false
		}
		n++
		if second(render(r, sc), judge) {
			truth++
		}
		blob := FromNHWC(ColourOnly(r, sc, 32), 32)
		if second(blob, judge) {
			blobJudge++
		}
		if second(blob, oracle) {
			blobOracle++
		}
	}
	t.Logf("second object named, %d two-object scenes: renders %d, colour-only blobs %d (colour oracle %d)", n, truth, blobJudge, blobOracle)
	if truth < n*85/100 {
		t.Errorf("the judge names the second object of only %d of %d renders", truth, n)
	}
	if blobJudge > n*10/100 {
		t.Errorf("the judge names %d of %d colour-only blobs", blobJudge, n)
	}
	if blobOracle < 2*blobJudge+n/10 {
		t.Errorf("the colour oracle names %d blobs, the judge %d: the control no longer tells them apart", blobOracle, blobJudge)
	}
}
