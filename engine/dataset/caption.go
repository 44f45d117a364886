package dataset

import (
	"math/rand/v2"
	"strings"
)

// Stated says which of a scene's attributes a caption states, so that
// evaluation checks only those (the scene itself holds the truth).
type Stated struct {
	Size       [2]bool // per object
	Position   bool    // single object: its Position
	Relation   bool    // pair: the relation (always stated for pairs)
	Background bool    // the colour, and the pattern if there is one
}

// Caption probabilities (see doc.go for the grammar).
const (
	pNameOnly     = 0.12 // single object: just "a dog"
	pSize         = 0.40 // single object: state the size
	pPosition     = 0.65 // single object: state the position
	pBackground   = 0.75 // state the background
	pPairSize     = 0.25 // pair: state each object's size
	pBackgroundAt = 0.25 // the background phrase comes first
)

// Caption describes a scene in words, drawing the wording (which
// attributes, in which order) from rng.
func Caption(a *Atlas, s Scene, rng *rand.Rand) string {
	c, _ := Describe(a, s, rng)
	return c
}

// Describe is Caption that also says which attributes the caption states.
func Describe(a *Atlas, s Scene, rng *rand.Rand) (string, Stated) {
	var st Stated
	if len(s.Objects) == 0 {
		return "", st
	}
	bgPhrase := backgroundPhrase(s.Background)
	if len(s.Objects) == 1 {
		p := s.Objects[0]
		if rng.Float64() < pNameOnly {
			return nounPhrase(a, p.Sprite, ""), st
		}
		st.Size = [2]bool{rng.Float64() < pSize}
		st.Position = rng.Float64() < pPosition
		st.Background = rng.Float64() < pBackground
		size := ""
		if st.Size[0] {
			size = p.Size
		}
		np := nounPhrase(a, p.Sprite, size)
		pos := PositionPhrase(p.Position)
		u := rng.Float64()
		switch {
		case st.Position && st.Background:
			switch {
			case u < 0.4:
				return np + " " + pos + ", " + bgPhrase, st
			case u < 0.6:
				return np + " " + bgPhrase + ", " + pos, st
			case u < 0.8:
				return pos + ", " + np + " " + bgPhrase, st
			default:
				return bgPhrase + ", " + np + " " + pos, st
			}
		case st.Position:
			if u < 0.7 {
				return np + " " + pos, st
			}
			return pos + ", " + np, st
		case st.Background:
			if u < 1-pBackgroundAt {
				return np + " " + bgPhrase, st
			}
			return bgPhrase + ", " + np, st
		default:
			return np, st
		}
	}
	st.Relation = true
	var nps [2]string
	for i := range 2 {
		size := ""
		if rng.Float64() < pPairSize {
			st.Size[i] = true
			size = s.Objects[i].Size
		}
		nps[i] = nounPhrase(a, s.Objects[i].Sprite, size)
	}
	core := nps[0] + " " + RelationPhrase(s.Relation) + " " + nps[1]
	if rng.Float64() >= pBackground {
		return core, st
	}
	st.Background = true
	if rng.Float64() < pBackgroundAt {
		return bgPhrase + ", " + core, st
	}
	return core + ", " + bgPhrase, st
}

// article is "a", "an" or, for a plural, "".
func article(next string, plural bool) string {
	if plural {
		return ""
	}
	if next != "" && strings.ContainsRune("aeiou", rune(next[0])) {
		return "an"
	}
	return "a"
}

// nounPhrase is "a dog", "a big dog", "an owl", "small grapes".
// NounPhrase is a sprite's name with its article and an optional size
// word, as captions write it: "a big teddy bear", "big cherries".
func NounPhrase(a *Atlas, sprite int, size string) string { return nounPhrase(a, sprite, size) }

// BackgroundPhrase is a background as captions write it: "on a blue
// background", "on a striped red background".
func BackgroundPhrase(bg Background) string { return backgroundPhrase(bg) }

func nounPhrase(a *Atlas, sprite int, size string) string {
	sp := a.Sprites[sprite]
	words := sp.Name
	if size != "" {
		words = size + " " + words
	}
	if art := article(words, sp.Plural); art != "" {
		return art + " " + words
	}
	return words
}

// PositionPhrase is the caption words for a position: "on the left",
// "at the top", "in the middle", "in the top left corner".
func PositionPhrase(pos string) string {
	switch pos {
	case "left", "right":
		return "on the " + pos
	case "top", "bottom":
		return "at the " + pos
	case "centre":
		return "in the middle"
	}
	return "in the " + pos + " corner"
}

// RelationPhrase is the caption words for a relation: "on the left of",
// "above", "next to".
func RelationPhrase(rel string) string {
	switch rel {
	case RelLeftOf, RelRightOf:
		return "on the " + rel
	}
	return rel
}

// backgroundPhrase is "on a blue background", "on an orange background",
// "on a striped green background", "on a blue gradient background".
func backgroundPhrase(bg Background) string {
	words := bg.String()
	return "on " + article(words, false) + " " + words + " background"
}

// GrammarWords are all the words captions use besides the emoji names.
func GrammarWords() []string {
	w := []string{
		"a", "an", "the", "of", "on", "in", "at", "to",
		"left", "right", "top", "bottom", "middle", "corner",
		"next", "above", "below", "small", "big", "background",
	}
	for _, c := range Colours {
		w = append(w, c.Name)
	}
	return append(w, Patterns...)
}
