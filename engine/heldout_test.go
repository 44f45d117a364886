package engine

import (
	"math/rand/v2"
	"testing"

	"conceptstudio/engine/dataset"
)

func TestHeldOutPairsNeverTrain(t *testing.T) {
	a, err := dataset.LoadAtlas()
	if err != nil {
		t.Fatal(err)
	}
	held, total := 0, 0
	for _, name := range a.Names() {
		for _, c := range dataset.Colours {
			total++
			if HeldOut(name, c.Name) {
				held++
			}
		}
	}
	if held < total/12 || held > total/5 {
		t.Fatalf("%d of %d pairs held out; want about 1 in 8", held, total)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 3000; i++ {
		s := trainingScene(a, func() dataset.Scene { return a.RandomScene(rng, dataset.DefaultSceneOptions()) })
		if sceneHeldOut(a, s) {
			t.Fatal("a training scene shows a held-out pair")
		}
	}
}
