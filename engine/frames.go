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

// thingWords finds a prompt's things: with a relation phrase that has
// named words (not grammar, not background) on both sides, the first
// thing is the words before it and the second those after it (rel its
// entry in relationWords, at its index); otherwise the one thing is all
// the words (rel −1). named reports whether words[lo:hi] name anything.
func thingWords(words []string) (spans [model.FrameSlots][2]int, rel int, named func(lo, hi int) bool) {
	inBackground := backgroundWords(words)
	named = func(lo, hi int) bool {
		for i := lo; i < hi; i++ {
			if !inBackground[i] && !grammarWord(words[i]) {
				return true
			}
		}
		return false
	}
	for i := range words {
		for k, r := range relationWords {
			end := i + len(r.words)
			if end <= len(words) && slices.Equal(words[i:end], r.words) && named(0, i) && named(end, len(words)) {
				spans[0], spans[1] = [2]int{0, i}, [2]int{end, len(words)}
				return spans, k, named
			}
		}
	}
	spans[0] = [2]int{0, len(words)}
	return spans, -1, named
}

// frameTokens marks each thing's words (thingWords) for
// model.Frame.Tokens: bit j+1 for word j (position 0 is <start>).
func frameTokens(words []string) (out [model.FrameSlots]uint32) {
	spans, _, named := thingWords(words)
	for s, sp := range spans {
		for i := sp[0]; i < sp[1] && i+1 < 32; i++ {
			if named(i, i+1) {
				out[s] |= 1 << (i + 1)
			}
		}
	}
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

// regionFrame is a box's square frame with its thing's words (indices
// into the prompt's words) marked: its centre, and 0.85 of its shorter
// side, so that the thing fits its box whole with a margin, as a thing
// is drawn in a box of the region scenes' renders (eval.RegionScenes).
// A frame of the box's longer side drew a thing as big as a half-picture
// box's height, running into its neighbours: `eval -regions -prompts 8
// -seeds 4` put 0.76 / 0.87 / 0.64 of 2 / 3 / 4 things in their boxes
// with it, 0.89 / 0.90 / 0.64 with the shorter side, 0.91 / 0.92 / 0.84
// with this (2026-12-07, R2's step 1412).
// regionFill is the share of a box's shorter side its thing's frame takes.
const regionFill = 0.85

func regionFrame(r region.Region, thing []int) model.Frame {
	cx, cy := r.Centre()
	var tok uint32
	for _, w := range thing {
		if w+1 < 32 {
			tok |= 1 << (w + 1)
		}
	}
	return model.Frame{CX: cx, CY: cy, Extent: regionFill * min(r.W, r.H), Tokens: tok}
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
					out[s] = regionFrame(regions[ri], things[ri])
				}
			}
			return out
		}
	}
	spans, rel, named := thingWords(words)
	inBackground := backgroundWords(words)
	size := func(sp [2]int) string {
		for i := sp[0]; i < sp[1]; i++ {
			if !inBackground[i] && slices.Contains(dataset.Sizes, words[i]) {
				return words[i]
			}
		}
		return dataset.Sizes[rng.IntN(len(dataset.Sizes))]
	}
	if rel >= 0 {
		ps, err := dataset.PlanPair(rng, relationConsts[strings.Join(relationWords[rel].words, " ")], [2]string{size(spans[0]), size(spans[1])})
		if err != nil {
			return out // unreachable: the grammar's own words
		}
		for k, p := range ps {
			out[k] = model.Frame{CX: p.CX, CY: p.CY, Extent: p.Extent}
		}
		return withTokens(out, words)
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
	p, err := dataset.PlanSingle(rng, pos, size(spans[0]))
	if err != nil {
		return out // unreachable: the grammar's own words
	}
	out[0] = model.Frame{CX: p.CX, CY: p.CY, Extent: p.Extent}
	return withTokens(out, words)
}
