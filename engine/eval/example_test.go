package eval_test

import (
	"fmt"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/eval"
)

// Read a rendered scene's attributes back and score it against its
// prompt.
func Example() {
	a, err := dataset.LoadAtlas()
	if err != nil {
		fmt.Println(err)
		return
	}
	r := dataset.NewRenderer(a)
	dog, _ := a.Sprite("dog", dataset.StyleTwemoji)
	p, _ := a.PlaceSingle(nil, dog, "top right", "small", false)
	scene := dataset.Scene{Objects: []dataset.Placed{p}, Background: dataset.Background{Colour: "blue"}}
	img := r.RenderImage(scene, 32)

	bg, _ := eval.BackgroundColour(img)
	mask := eval.ForegroundMask(img, bg)
	fmt.Println(bg, eval.Position(mask), eval.Size(mask))

	prompt, _ := eval.ParsePrompt("a small dog in the top right corner, on a red background")
	s := eval.ScoreImage(img, prompt, nil)
	fmt.Printf("%d of %d stated attributes\n", s.Satisfied, s.Total)
	for _, c := range s.Checks {
		fmt.Println(c.Attribute, c.Want, c.Got, c.OK)
	}
	// Output:
	// blue top right small
	// 2 of 3 stated attributes
	// background red blue false
	// position top right top right true
	// size small small true
}
