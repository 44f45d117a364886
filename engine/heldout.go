package engine

import (
	"hash/fnv"

	"conceptstudio/engine/dataset"
)

// HeldOut reports whether an (object name, background colour) pair is kept
// out of base-model training, about one pair in eight, chosen by a hash so
// that it never changes. Evaluation prompts use these pairs, so they test
// combinations the model has never seen in a caption or an image.
func HeldOut(object, colour string) bool {
	h := fnv.New32a()
	h.Write([]byte(object + "|" + colour))
	return h.Sum32()%8 == 0
}

// sceneHeldOut says whether a scene shows a held-out pair.
func sceneHeldOut(a *dataset.Atlas, s dataset.Scene) bool {
	for _, o := range s.Objects {
		if HeldOut(a.Sprites[o.Sprite].Name, s.Background.Colour) {
			return true
		}
	}
	return false
}

// trainingScene draws a training scene that shows no held-out pair.
func trainingScene(a *dataset.Atlas, draw func() dataset.Scene) dataset.Scene {
	for {
		if s := draw(); !sceneHeldOut(a, s) {
			return s
		}
	}
}
