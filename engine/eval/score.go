package eval

import (
	"fmt"
	"image"
	"math"
	"regexp"
	"slices"
	"strings"

	"conceptstudio/engine/dataset"
)

// Prompt is what a prompt states about its image, the truth ScoreImage
// checks against. Empty fields are not stated and not checked.
type Prompt struct {
	// Objects names the objects, subject first, by their dataset names
	// ("teddy bear"); a personal concept is named by its super-category
	// (the oracle knows the Fluent 3D objects as theirs), or "" when it has
	// none.
	Objects    []string
	Background string    // a dataset.Colours name
	Pattern    string    // with Background: "" (plain, not checked) or a dataset.Patterns entry
	Position   string    // single object: a dataset.Positions entry
	Sizes      [2]string // per object: "small" or "big"
	Relation   string    // two objects: a dataset.Relations entry
}

// PromptFor is the Prompt of a dataset caption: the scene's truth for the
// attributes the caption states (dataset.Describe's Stated).
func PromptFor(a *dataset.Atlas, sc dataset.Scene, st dataset.Stated) Prompt {
	var p Prompt
	for i, o := range sc.Objects {
		p.Objects = append(p.Objects, a.Sprites[o.Sprite].Name)
		if i < 2 && st.Size[i] {
			p.Sizes[i] = o.Size
		}
	}
	if st.Background {
		p.Background, p.Pattern = sc.Background.Colour, sc.Background.Pattern
	}
	if st.Position && len(sc.Objects) == 1 {
		p.Position = sc.Objects[0].Position
	}
	if st.Relation && len(sc.Objects) == 2 {
		p.Relation = sc.Relation
	}
	return p
}

var (
	bgPhraseRE = regexp.MustCompile(`\bon an? (?:(striped|dotted|checkered) )?([a-z]+)( gradient)? background\b`)
	relWords   = []struct{ phrase, rel string }{
		{"on the left of", dataset.RelLeftOf}, {"on the right of", dataset.RelRightOf},
		{"above", dataset.RelAbove}, {"below", dataset.RelBelow}, {"next to", dataset.RelNextTo},
	}
)

// ParsePrompt reads a prompt written in the dataset's caption grammar (see
// package dataset): "a big dog on the left, on a blue background", "a cat
// on the left of a teapot", "a small teddy* bear in the top right corner".
// Objects get the noun phrases' words without article and size word, as
// written (a pseudo-word keeps its star); the caller replaces a concept's
// words with its super-category. Words the grammar does not place are an
// error.
func ParsePrompt(text string) (Prompt, error) {
	var p Prompt
	s := " " + strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(text, ",", " "))), " ") + " "
	if m := bgPhraseRE.FindStringSubmatchIndex(s); m != nil {
		colour := s[m[4]:m[5]]
		if _, ok := dataset.ColourByName(colour); !ok {
			return p, fmt.Errorf("eval: %q: unknown background colour %q", text, colour)
		}
		p.Background = colour
		switch {
		case m[2] >= 0:
			p.Pattern = s[m[2]:m[3]]
		case m[6] >= 0:
			p.Pattern = PatternGradient
		}
		s = s[:m[0]] + " " + s[m[1]:]
	}
	for _, r := range relWords {
		if i := strings.Index(s, " "+r.phrase+" "); i >= 0 {
			p.Relation = r.rel
			a, err := nounPhrase(s[:i], &p.Sizes[0])
			if err != nil {
				return p, fmt.Errorf("eval: %q: %w", text, err)
			}
			b, err := nounPhrase(s[i+len(r.phrase)+1:], &p.Sizes[1])
			if err != nil {
				return p, fmt.Errorf("eval: %q: %w", text, err)
			}
			p.Objects = []string{a, b}
			return p, nil
		}
	}
	for _, pos := range dataset.Positions {
		ph := " " + dataset.PositionPhrase(pos) + " "
		if i := strings.Index(s, ph); i >= 0 {
			p.Position = pos
			s = s[:i] + " " + s[i+len(ph):]
			break
		}
	}
	a, err := nounPhrase(s, &p.Sizes[0])
	if err != nil {
		return p, fmt.Errorf("eval: %q: %w", text, err)
	}
	p.Objects = []string{a}
	return p, nil
}

// nounPhrase strips an article and a size word.
func nounPhrase(s string, size *string) (string, error) {
	w := strings.Fields(s)
	if len(w) > 0 && (w[0] == "a" || w[0] == "an") {
		w = w[1:]
	}
	if len(w) > 0 && slices.Contains(dataset.Sizes, w[0]) {
		*size, w = w[0], w[1:]
	}
	if len(w) == 0 {
		return "", fmt.Errorf("no object named")
	}
	for _, x := range w {
		if slices.Contains(dataset.GrammarWords(), x) {
			return "", fmt.Errorf("%q out of place", x)
		}
	}
	return strings.Join(w, " "), nil
}

// Check is one stated attribute and what the image shows.
type Check struct {
	Attribute string // "background", "pattern", "position", "size", "size 2", "relation", "object 2"
	Want, Got string
	OK        bool
}

// Score is how far an image satisfies its prompt's stated attributes.
type Score struct {
	Checks    []Check
	Satisfied int
	Total     int
	// Fraction is Satisfied/Total; 1 when nothing is stated (average
	// Satisfied and Total over prompts, not Fraction, to weigh every
	// attribute alike).
	Fraction float64
}

func (s *Score) add(attr, want, got string) {
	ok := want == got
	s.Checks = append(s.Checks, Check{Attribute: attr, Want: want, Got: got, OK: ok})
	s.Total++
	if ok {
		s.Satisfied++
	}
}

// ScoreImage checks a generated image against what its prompt states: the
// background colour (BackgroundColour) and, when stated, its pattern
// (BackgroundPattern); for one object its position and size (Position and
// Size of the foreground mask); for two, the mask is split into the two
// objects (Split), the oracle names each (the other one painted over with
// the background) to tell the subject from the second object, and the
// checks are the second object's name, the relation (RelationHolds) and
// the stated sizes. With a nil oracle the two-object checks that need it
// (second object; which object is the subject, so relation and sizes
// except for "next to") are left out.
func ScoreImage(img image.Image, p Prompt, o *Oracle) Score {
	var s Score
	r := toRGB(img)
	bgName, _ := backgroundColour(r)
	if p.Background != "" {
		s.add("background", p.Background, bgName)
		if p.Pattern != "" {
			bm, _ := modelByName(bgName)
			s.add("pattern", p.Pattern, backgroundPattern(r, &bm))
		}
	}
	mask := foregroundMask(r, bgName)
	const none = "no object"
	if len(p.Objects) < 2 {
		if p.Position != "" {
			got := none
			if mask.Count() > 0 {
				got = Position(mask)
			}
			s.add("position", p.Position, got)
		}
		if p.Sizes[0] != "" {
			got := none
			if mask.Count() > 0 {
				got = Size(mask)
			}
			s.add("size", p.Sizes[0], got)
		}
		return s.finish()
	}
	a, b, ok := Split(mask)
	if !ok {
		const one = "one object"
		if o != nil {
			s.add("object 2", p.Objects[1], one)
			if p.Relation != "" {
				s.add("relation", p.Relation, one)
			}
			if p.Sizes[0] != "" {
				s.add("size", p.Sizes[0], one)
			}
			if p.Sizes[1] != "" {
				s.add("size 2", p.Sizes[1], one)
			}
		} else if p.Relation == dataset.RelNextTo {
			s.add("relation", p.Relation, one)
		}
		return s.finish()
	}
	if o == nil {
		if p.Relation == dataset.RelNextTo {
			got := Relation(a, b)
			if RelationHolds(a, b, p.Relation) {
				got = dataset.RelNextTo
			}
			s.add("relation", p.Relation, got)
		}
		return s.finish()
	}
	bm, _ := modelByName(bgName)
	views := []image.Image{paintOver(r, b, &bm), paintOver(r, a, &bm)}
	labels, probs, err := o.Classify(views)
	if err != nil {
		s.add("object 2", p.Objects[1], "error: "+err.Error())
		return s.finish()
	}
	// Which of a and b is the subject: the likelier assignment of the two
	// named classes (or of the second one alone).
	ci := func(name string) int { return slices.Index(o.Record.Classes, name) }
	lp := func(view, class int) float64 {
		if class < 0 {
			return 0
		}
		return math.Log(math.Max(1e-12, float64(probs[view][class])))
	}
	s0, s1 := ci(p.Objects[0]), ci(p.Objects[1])
	subj, obj, objView := a, b, 1
	if lp(1, s0)+lp(0, s1) > lp(0, s0)+lp(1, s1) {
		subj, obj, objView = b, a, 0
	}
	s.add("object 2", p.Objects[1], labels[objView])
	if p.Relation != "" {
		got := Relation(subj, obj)
		if RelationHolds(subj, obj, p.Relation) {
			got = p.Relation
		}
		s.add("relation", p.Relation, got)
	}
	if p.Sizes[0] != "" {
		s.add("size", p.Sizes[0], Size(subj))
	}
	if p.Sizes[1] != "" {
		s.add("size 2", p.Sizes[1], Size(obj))
	}
	return s.finish()
}

func (s Score) finish() Score {
	s.Fraction = 1
	if s.Total > 0 {
		s.Fraction = float64(s.Satisfied) / float64(s.Total)
	}
	return s
}

// paintOver returns the image with the pixels of drop (grown by one pixel)
// painted in the background's plain colour: one object of two, alone, as
// the oracle was trained to see objects.
func paintOver(r *rgb, drop *Mask, bm *bgModel) image.Image {
	out := &Float32Image{Size: r.w, Pix: make([]float32, len(r.pix))}
	for i, v := range r.pix {
		out.Pix[i] = float32(2*v - 1)
	}
	if r.w != r.h {
		return out
	}
	for y := 0; y < r.h; y++ {
		for x := 0; x < r.w; x++ {
			hit := false
			for dy := -1; dy <= 1 && !hit; dy++ {
				for dx := -1; dx <= 1 && !hit; dx++ {
					xx, yy := x+dx, y+dy
					hit = xx >= 0 && yy >= 0 && xx < r.w && yy < r.h && drop.On[yy*r.w+xx]
				}
			}
			if hit {
				p := out.Pix[3*(y*r.w+x):]
				for c := 0; c < 3; c++ {
					p[c] = float32(2*bm.c[c] - 1)
				}
			}
		}
	}
	return out
}
