package app

import (
	"image/color"
	"strings"

	"conceptstudio/engine"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/region"
)

// SceneThing is one box of the scene canvas: what it holds, as the prompt
// names it ("teddy*", "cat", "teddy bear"), and where.
type SceneThing = region.Thing

// MaxSceneThings is the most boxes a scene holds.
const MaxSceneThings = region.MaxRegions

// ScenePrompt writes a scene as a prompt where the caption grammar can
// say it; exact is false for three or four things (their regions say
// where). background is a background's words ("white", "striped blue"),
// "" for none.
func ScenePrompt(things []SceneThing, background string) (prompt string, exact bool) {
	return region.ScenePrompt(things, background)
}

// FollowPrompt moves a scene's boxes to agree with an edited prompt
// (region.FollowPrompt); moved says whether any did.
func FollowPrompt(prompt string, things []SceneThing) ([]SceneThing, bool) {
	return region.FollowPrompt(dataset.Words(prompt), things)
}

// SceneThings rebuilds a scene from a prompt and its regions (a restored
// PNG): each region's box with the prompt's words for its thing.
func SceneThings(prompt string, regions []Region) ([]SceneThing, error) {
	words, err := engine.RegionWords(prompt, regions)
	if err != nil {
		return nil, usageError("%s", plainRegionError(err))
	}
	out := make([]SceneThing, len(regions))
	for i, r := range regions {
		out[i] = SceneThing{Words: words[i], Box: r}
	}
	return out, nil
}

// RegionName is the name a box for a thing's words goes by: its last word
// without the star ("teddy" for teddy*, "bear" for teddy bear).
func RegionName(words string) string {
	f := strings.Fields(words)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[len(f)-1], "*")
}

// NamedColour is a background colour the model knows.
type NamedColour struct {
	Name string
	RGB  color.NRGBA
}

// BackgroundColours are the background colours the model knows, in its
// vocabulary's order.
func BackgroundColours() []NamedColour {
	var out []NamedColour
	for _, c := range dataset.Colours {
		out = append(out, NamedColour{c.Name, c.RGB})
	}
	return out
}

// PromptWords are a prompt's words as the model reads them (lower case,
// letters, digits and the pseudo-words' star).
func PromptWords(prompt string) []string { return dataset.Words(prompt) }

// BackgroundPatterns are the background patterns the model knows.
func BackgroundPatterns() []string { return append([]string(nil), dataset.Patterns...) }

// BackgroundWords writes a background as a prompt says it: "blue",
// "striped blue", "blue gradient" ("" for no colour).
func BackgroundWords(colour, pattern string) string {
	if colour == "" {
		return ""
	}
	return dataset.Background{Colour: colour, Pattern: pattern}.String()
}

// BackgroundOf is the background a prompt states: "on a striped blue
// background" gives colour "blue" and pattern "striped" ("" for none).
func BackgroundOf(prompt string) (colour, pattern string) {
	words := dataset.Words(prompt)
	for i, w := range words {
		if w != "background" {
			continue
		}
		for j := i - 1; j >= 0 && words[j] != "on"; j-- {
			for _, c := range dataset.Colours {
				if words[j] == c.Name {
					colour = c.Name
				}
			}
			for _, p := range dataset.Patterns {
				if words[j] == p {
					pattern = p
				}
			}
		}
		return colour, pattern
	}
	return "", ""
}

// MinRegionSide is the smallest side of a box, as a fraction of the
// picture.
const MinRegionSide = region.MinSide
