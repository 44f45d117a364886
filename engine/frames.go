package engine

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"conceptstudio/engine/dataset"
	"conceptstudio/engine/model"
	"conceptstudio/engine/region"
)

// A frames design (model.Config.Frames) draws each thing of the prompt
// into a square frame: training takes the frames from its scenes; drawing
// takes them from the canvas's boxes when there are any, else plans them
// from the prompt's words the way the world places what they say
// (dataset.PlanSingle, PlanPair): a stated position, size or relation is
// kept, an unstated one drawn at random as the training scenes draw it,
// so each seed puts things somewhere else.

// relationConsts are relationWords' relations in the dataset's names.
var relationConsts = map[string]string{
	"on the left of": dataset.RelLeftOf, "on the right of": dataset.RelRightOf,
	"above": dataset.RelAbove, "below": dataset.RelBelow, "next to": dataset.RelNextTo,
}

// frameTokens marks each thing's words in a prompt's words for
// model.Frame.Tokens (bit j+1 for word j: position 0 is <start>): with a
// relation, the named words before it are the first thing's and those
// after it the second's; without one, every named word is the first
// thing's. Background phrases and grammar words name nothing.
func frameTokens(words []string) (out [model.FrameSlots]uint32) {
	inBackground := backgroundWords(words)
	named := func(i int) bool { return i+1 < 32 && !inBackground[i] && !grammarWord(words[i]) }
	mark := func(slot, lo, hi int) bool {
		any := false
		for i := lo; i < hi; i++ {
			if named(i) {
				out[slot] |= 1 << (i + 1)
				any = true
			}
		}
		return any
	}
	for i := range words {
		for _, r := range relationWords {
			if i+len(r.words) > len(words) || !slices.Equal(words[i:i+len(r.words)], r.words) {
				continue
			}
			if mark(0, 0, i) && mark(1, i+len(r.words), len(words)) {
				return out
			}
			out = [model.FrameSlots]uint32{}
		}
	}
	mark(0, 0, len(words))
	return out
}

// withTokens is frames with each thing's words marked (frameTokens).
func withTokens(f [model.FrameSlots]model.Frame, words []string) [model.FrameSlots]model.Frame {
	for s, t := range frameTokens(words) {
		if f[s].Extent > 0 {
			f[s].Tokens = t
		}
	}
	return f
}

// planFrames plans one picture's frames for a prompt's words (and its
// regions, which win where given), drawing what the words leave open from
// rng. A prompt that names nothing has no frames.
func planFrames(words []string, regions []region.Region, rng *rand.Rand) [model.FrameSlots]model.Frame {
	var out [model.FrameSlots]model.Frame
	if len(regions) > 0 {
		if things, err := regionThings(words, regions); err == nil {
			// Slots in the order the prompt names the things.
			order := make([]int, len(regions))
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(i, j int) bool { return things[order[i]][0] < things[order[j]][0] })
			for s, ri := range order {
				if s < model.FrameSlots {
					r := regions[ri]
					cx, cy := r.Centre()
					var tok uint32
					for _, w := range things[ri] {
						if w+1 < 32 {
							tok |= 1 << (w + 1)
						}
					}
					out[s] = model.Frame{CX: cx, CY: cy, Extent: max(r.W, r.H), Tokens: tok}
				}
			}
			return out
		}
	}
	inBackground := backgroundWords(words)
	named := func(lo, hi int) bool {
		for i := lo; i < hi; i++ {
			if !inBackground[i] && !grammarWord(words[i]) {
				return true
			}
		}
		return false
	}
	size := func(lo, hi int) string {
		for i := lo; i < hi; i++ {
			if !inBackground[i] && slices.Contains(dataset.Sizes, words[i]) {
				return words[i]
			}
		}
		return dataset.Sizes[rng.IntN(len(dataset.Sizes))]
	}
	for i := range words {
		for _, r := range relationWords {
			phrase := strings.Join(r.words, " ")
			if i+len(r.words) > len(words) || !slices.Equal(words[i:i+len(r.words)], r.words) {
				continue
			}
			end := i + len(r.words)
			if !named(0, i) || !named(end, len(words)) {
				continue
			}
			sizes := [2]string{size(0, i), size(end, len(words))}
			ps, err := dataset.PlanPair(rng, relationConsts[phrase], sizes)
			if err != nil {
				return out // unreachable: the grammar's own words
			}
			for k, p := range ps {
				out[k] = model.Frame{CX: p.CX, CY: p.CY, Extent: p.Extent}
			}
			return withTokens(out, words)
		}
	}
	if !named(0, len(words)) {
		return out
	}
	text := " " + strings.Join(words, " ") + " "
	pos := ""
	for _, p := range dataset.Positions {
		if strings.Contains(text, " "+dataset.PositionPhrase(p)+" ") {
			pos = p
			break
		}
	}
	if pos == "" {
		pos = dataset.Positions[rng.IntN(len(dataset.Positions))]
	}
	p, err := dataset.PlanSingle(rng, pos, size(0, len(words)))
	if err != nil {
		return out // unreachable: the grammar's own words
	}
	out[0] = model.Frame{CX: p.CX, CY: p.CY, Extent: p.Extent}
	return withTokens(out, words)
}
