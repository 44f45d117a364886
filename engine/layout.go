package engine

import (
	"slices"

	"conceptstudio/engine/dataset"
)

// Layout guidance: a prompt that relates two things ("a teddy* on the left
// of a teapot*", "a cat above a car") says where each goes, but a small
// base model only learns to place "an object on the left", not which one
// (relation_prior ≈ 0 in eval -base). At sampling time the prompt's words
// are parsed, and the words that name each thing lose attention in the
// other thing's half of the image: a penalty on their image-to-text
// attention scores there, in every cross-attention layer
// (model.NetOptions.PlaceGuide), so each half draws only its own thing.
// The halves follow the caption grammar's pairs (dataset.PlacePair):
// left/right of, above/below, and "next to" side by side with the first
// thing on the left.
//
// Measured with eval -base on the step-27050 EMA weights (200 prompts, 98
// of them pairs): relation right 0.52 → 0.97, both objects present 0.43 →
// 0.55, every single-object number unchanged. Adding a bonus in a thing's
// own half as well (a quarter of the penalty) did worse on every measure
// (relation 0.91, both objects 0.51, sizes 0.84 → 0.74): the thing then
// fills its half. Penalties of 2, 4 and 8 move the objects alike
// (relation_shift 0.221, 0.226, 0.226 against 0 unguided), so the default
// sits in the flat part.

// relationWords are the relation phrases as words, with which of the two
// things takes the first half (left or top) and whether the halves are
// stacked (top/bottom) rather than side by side.
var relationWords = []struct {
	words    []string
	first    int // 0: the subject takes the left (top) half; 1: the object does
	vertical bool
}{
	{[]string{"on", "the", "left", "of"}, 0, false},
	{[]string{"on", "the", "right", "of"}, 1, false},
	{[]string{"above"}, 0, true},
	{[]string{"below"}, 1, true},
	{[]string{"next", "to"}, 0, false},
}

// grammarWord reports whether a word belongs to the caption grammar
// (articles, places, sizes, colours, patterns) rather than naming a thing.
var grammarWord = func() func(string) bool {
	set := map[string]bool{}
	for _, w := range dataset.GrammarWords() {
		set[w] = true
	}
	return func(w string) bool { return set[w] }
}()

// layoutHalves finds the relation in a prompt's words and returns, per
// word, which half it is guided to (0 first, 1 second, −1 none) and
// whether the halves are stacked; ok is false when the prompt relates no
// two named things. A background phrase ("on a blue background") is never
// guided, nor are grammar words.
func layoutHalves(words []string) (half []int, vertical, ok bool) {
	half = make([]int, len(words))
	for i := range half {
		half[i] = -1
	}
	// background phrases: "on" ... "background"
	inBackground := make([]bool, len(words))
	for i, w := range words {
		if w != "background" {
			continue
		}
		for j := i; j >= 0; j-- {
			inBackground[j] = true
			if words[j] == "on" {
				break
			}
		}
	}
	for i := range words {
		for _, r := range relationWords {
			if i+len(r.words) > len(words) || !slices.Equal(words[i:i+len(r.words)], r.words) {
				continue
			}
			var named [2]bool
			mark := func(lo, hi, thing int) {
				for j := lo; j < hi; j++ {
					if !inBackground[j] && !grammarWord(words[j]) {
						half[j] = thing ^ r.first
						named[thing] = true
					}
				}
			}
			mark(0, i, 0)
			mark(i+len(r.words), len(words), 1)
			if !named[0] || !named[1] {
				break // a relation to nothing named: no guidance
			}
			return half, r.vertical, true
		}
	}
	return nil, false, false
}

// placeGuide builds a PlaceGuide net's maps for one prompt: [L, G·G] with
// −strength on the places of the G×G grid outside each guided word's half
// (token j+1 is word j; position 0 is <start>). nil when the prompt has
// no relation to guide or strength is 0.
func placeGuide(words []string, L, G int, strength float32) []float32 {
	if strength == 0 {
		return nil
	}
	half, vertical, ok := layoutHalves(words)
	if !ok {
		return nil
	}
	maps := make([]float32, L*G*G)
	for j, h := range half {
		if h < 0 || j+1 >= L {
			continue
		}
		m := maps[(j+1)*G*G:][:G*G]
		for y := 0; y < G; y++ {
			for x := 0; x < G; x++ {
				along := x
				if vertical {
					along = y
				}
				if (along < G/2) != (h == 0) {
					m[y*G+x] = -strength
				}
			}
		}
	}
	return maps
}

// DefaultLayout is the layout guidance the app generates with.
const DefaultLayout = 4
