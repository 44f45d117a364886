package region

import (
	"math"
	"strings"
)

// A Thing is one box of a scene: what it holds, as the prompt names it (a
// pseudo-word "teddy*" or a plain class "teddy bear"), and where.
type Thing struct {
	Words string
	Box   Region
}

// nounPhrase is "a cat", "an owl", "a teddy*".
func nounPhrase(words, size string) string {
	if size != "" {
		words = size + " " + words
	}
	if words != "" && strings.ContainsRune("aeiou", rune(words[0])) {
		return "an " + words
	}
	return "a " + words
}

// PositionOf is the caption grammar's position of a box by its centre:
// "left", "top right", "centre" … (dataset.Positions' words).
func PositionOf(r Region) string {
	cx, cy := r.Centre()
	col, row := third(cx), third(cy)
	switch {
	case col == 1 && row == 1:
		return "centre"
	case row == 1:
		return [3]string{"left", "", "right"}[col]
	case col == 1:
		return [3]string{"top", "", "bottom"}[row]
	}
	return [3]string{"top", "", "bottom"}[row] + " " + [3]string{"left", "", "right"}[col]
}

func third(v float64) int {
	switch {
	case v < 0.4:
		return 0
	case v > 0.6:
		return 2
	}
	return 1
}

// PositionPhrase is the grammar's words for a position, as
// dataset.PositionPhrase writes them (this package has no dependencies, so
// it keeps its own copy; a test in engine holds the two together).
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

// SizeOf is the caption grammar's size of a box: "big" for a box wider
// than 0.6 of the picture, "small" under 0.35, else "".
func SizeOf(r Region) string {
	side := math.Sqrt(r.W * r.H)
	switch {
	case side >= 0.6:
		return "big"
	case side <= 0.35:
		return "small"
	}
	return ""
}

// RelationOf is the caption grammar's relation of a's box to b's: "on the
// left of", "on the right of", "above" or "below", by the larger offset
// of their centres.
func RelationOf(a, b Region) string {
	ax, ay := a.Centre()
	bx, by := b.Centre()
	dx, dy := bx-ax, by-ay
	switch {
	case math.Abs(dx) >= math.Abs(dy) && dx >= 0:
		return "on the left of"
	case math.Abs(dx) >= math.Abs(dy):
		return "on the right of"
	case dy >= 0:
		return "above"
	}
	return "below"
}

// ScenePrompt writes a scene as a prompt where the caption grammar can say
// it: one thing with its size and position, two with their relation; three
// or four are chained with "next to" (the grammar has no words for them:
// their regions say where). background is a background phrase's words
// ("white", "striped blue"; "" for none). exact reports whether the
// prompt says all the boxes say (one or two things).
func ScenePrompt(things []Thing, background string) (prompt string, exact bool) {
	var p string
	switch len(things) {
	case 0:
		return "", false
	case 1:
		t := things[0]
		p = nounPhrase(t.Words, SizeOf(t.Box)) + " " + PositionPhrase(PositionOf(t.Box))
		exact = true
	case 2:
		a, b := things[0], things[1]
		p = nounPhrase(a.Words, "") + " " + RelationOf(a.Box, b.Box) + " " + nounPhrase(b.Words, "")
		exact = true
	default:
		parts := make([]string, len(things))
		for i, t := range things {
			parts[i] = nounPhrase(t.Words, "")
		}
		p = strings.Join(parts, " next to ")
	}
	if background != "" {
		p += ", " + backgroundPhrase(background)
	}
	return p, exact
}

func backgroundPhrase(words string) string {
	art := "a"
	if strings.ContainsRune("aeiou", rune(words[0])) {
		art = "an"
	}
	return "on " + art + " " + words + " background"
}

// PositionBox is where a box of the given size sits for a grammar
// position ("top left", "centre", …): its centre at the position's place,
// inside the picture.
func PositionBox(pos string, w, h float64) Region {
	cx, cy := 0.5, 0.5
	for _, f := range strings.Fields(pos) {
		switch f {
		case "left":
			cx = 0.25
		case "right":
			cx = 0.75
		case "top":
			cy = 0.25
		case "bottom":
			cy = 0.75
		}
	}
	x := math.Max(0, math.Min(1-w, cx-w/2))
	y := math.Max(0, math.Min(1-h, cy-h/2))
	return Region{X: x, Y: y, W: w, H: h}
}

// FollowPrompt moves boxes to agree with what a prompt's words now say
// (the prompt was edited by hand): for one thing, its stated position
// moves its box there; for two, a stated relation that the boxes
// contradict swaps the boxes' places along its axis. Boxes the prompt
// does not speak of are kept. It returns the boxes, changed or not, and
// whether any moved. words are the prompt's words (dataset.Words), each
// Thing's Words as the prompt writes them.
func FollowPrompt(words []string, things []Thing) ([]Thing, bool) {
	out := append([]Thing(nil), things...)
	text := " " + strings.Join(words, " ") + " "
	switch len(things) {
	case 1:
		pos := statedPosition(text)
		if pos == "" || PositionOf(out[0].Box) == pos {
			return out, false
		}
		b := out[0].Box
		nb := PositionBox(pos, b.W, b.H)
		nb.Name = b.Name
		out[0].Box = nb
		return out, true
	case 2:
		for _, rel := range []string{"on the left of", "on the right of", "above", "below"} {
			a, b := out[0].Words, out[1].Words
			var first, second int
			switch {
			case containsRel(text, a, rel, b):
				first, second = 0, 1
			case containsRel(text, b, rel, a):
				first, second = 1, 0
			default:
				continue
			}
			if RelationOf(out[first].Box, out[second].Box) == rel {
				return out, false
			}
			// Swap the two boxes' places (sizes kept).
			p, q := out[first].Box, out[second].Box
			pc, pr := p.Centre()
			qc, qr := q.Centre()
			p.X, p.Y = clamp(qc-p.W/2, p.W), clamp(qr-p.H/2, p.H)
			q.X, q.Y = clamp(pc-q.W/2, q.W), clamp(pr-q.H/2, q.H)
			out[first].Box, out[second].Box = p, q
			if RelationOf(p, q) != rel {
				// Centres on a line across the axis: put them apart along it.
				p, q = apart(p, q, rel)
				out[first].Box, out[second].Box = p, q
			}
			return out, true
		}
	}
	return out, false
}

// containsRel reports whether text says "… a <rel> … b" with a before the
// relation and b after it, articles and sizes between allowed.
func containsRel(text, a, rel, b string) bool {
	i := strings.Index(text, " "+rel+" ")
	if i < 0 {
		return false
	}
	before, after := text[:i+1], text[i+len(rel)+1:]
	return strings.Contains(before, " "+a+" ") && strings.Contains(after, " "+b+" ")
}

func clamp(v, side float64) float64 { return math.Max(0, math.Min(1-side, v)) }

// apart places p before q along rel's axis: p on the left (top) half's
// middle, q on the right (bottom) half's, for "on the left of" ("above"),
// and the other way round for "on the right of" ("below"); across the
// axis both are centred on their centres' mean.
func apart(p, q Region, rel string) (Region, Region) {
	lo, hi := 0.25, 0.75
	if rel == "on the right of" || rel == "below" {
		lo, hi = hi, lo
	}
	pcx, pcy := p.Centre()
	qcx, qcy := q.Centre()
	if rel == "above" || rel == "below" {
		p.Y, q.Y = clamp(lo-p.H/2, p.H), clamp(hi-q.H/2, q.H)
		mid := (pcx + qcx) / 2 // one above the other
		p.X, q.X = clamp(mid-p.W/2, p.W), clamp(mid-q.W/2, q.W)
	} else {
		p.X, q.X = clamp(lo-p.W/2, p.W), clamp(hi-q.W/2, q.W)
		mid := (pcy + qcy) / 2
		p.Y, q.Y = clamp(mid-p.H/2, p.H), clamp(mid-q.H/2, q.H)
	}
	return p, q
}

// statedPosition is the single-thing position a prompt states, or "".
func statedPosition(text string) string {
	for _, c := range []struct{ phrase, pos string }{
		{" in the top left corner ", "top left"}, {" in the top right corner ", "top right"},
		{" in the bottom left corner ", "bottom left"}, {" in the bottom right corner ", "bottom right"},
		{" on the left ", "left"}, {" on the right ", "right"}, {" at the top ", "top"},
		{" at the bottom ", "bottom"}, {" in the middle ", "centre"},
	} {
		if strings.Contains(text, c.phrase) {
			return c.pos
		}
	}
	return ""
}
