package eval

import (
	"fmt"
	"image"
	"math"
	"slices"

	"conceptstudio/engine/dataset"
)

// PairScore is how far one image shows "A <relation> B" for two personal
// concepts A and B: both present, each one itself, each in its stated
// place.
type PairScore struct {
	// Found: the foreground was told apart into two objects, as two
	// connected pieces (Split) or by cutting it across the relation's axis
	// where it is thinnest (Cut: the cut was the partition used).
	Found, Cut bool
	// SimAA is the oracle-feature cosine similarity of A's region to A's
	// references, SimAB of A's region to B's references, SimBA and SimBB
	// likewise for B's region. Which region is A's is the assignment with
	// the larger SimAA+SimBB.
	SimAA, SimAB, SimBA, SimBB float64
	// LabelA and LabelB are the oracle's names for A's and B's regions,
	// and RankA and RankB where each region's own concept's class ranks
	// among the oracle's answers for it (1: first; 0 when the oracle does
	// not know the class).
	LabelA, LabelB string
	RankA, RankB   int
	// IdentityOK: each region is closer to its own concept's references
	// than to the other concept's (SimAA > SimAB and SimBB > SimBA), and
	// its concept's class is among the oracle's pairTopK likeliest names
	// for it (when the oracle knows the class).
	IdentityOK bool
	// Relation is how A's region stands to B's (Relation's words), and
	// RelationOK whether the stated relation holds (RelationHolds).
	Relation   string
	RelationOK bool
	// Background is the background colour read from the border.
	Background string
	// OK: success, Found && IdentityOK && RelationOK.
	OK bool
}

// pairTopK is how high a region's concept class must rank among the
// oracle's names for it: not only the first, as a region cut from an
// object it touched keeps a little of that object (a couch cut from a dog
// above it ranks 9th in TestScorePairOnCompositions); of ~850 classes,
// noise rarely puts a given one this high (TestScorePairRejectsNoise).
const pairTopK = 10

// classRank is the rank of class in p (1: the likeliest), 0 when the
// oracle has no such class.
func classRank(o *Oracle, p []float32, class string) int {
	i := slices.Index(o.Record.Classes, class)
	if i < 0 {
		return 0
	}
	r := 1
	for _, v := range p {
		if v > p[i] {
			r++
		}
	}
	return r
}

// minCutShare is the least share of the foreground each side of a cut
// must keep: a cut that leaves a sliver is no second object.
const minCutShare = 0.15

// PairConcept is what ScorePair knows of one concept: its class (the
// super-category, as the oracle names it) and the oracle Features of its
// reference images.
type PairConcept struct {
	Class string
	Refs  [][]float32
}

// ScorePair scores an image for "A <relation> B" (relation a
// dataset.Relations entry). The foreground mask (ForegroundMask on the
// border's background colour) is parted into two objects in up to two
// ways: its two largest connected pieces (Split), and a cut across the
// relation's axis at the mask's thinnest line in the middle half of its
// box (touching objects are one piece). Each object alone (the other
// painted over in the background colour, as ScoreImage isolates objects)
// goes through the oracle, for its features and its name; within a
// partition the object more like A's
// references is taken as A's, and the partition used is the one whose
// regions are told apart best (the larger of each one's weaker margin,
// own-concept similarity minus other-concept similarity). The image
// succeeds when both regions are their own concepts (each closer to its
// own references than to the other's, and its class among the oracle's
// pairTopK likeliest names for it when the oracle knows the class:
// similarity alone is relative, and even noise is closer to one of two
// concepts) and stand as stated.
func ScorePair(img image.Image, relation string, o *Oracle, ca, cb PairConcept) (PairScore, error) {
	var s PairScore
	refA, refB := ca.Refs, cb.Refs
	if len(refA) == 0 || len(refB) == 0 {
		return s, fmt.Errorf("eval: ScorePair needs reference features of both concepts")
	}
	r := toRGB(img)
	bgName, _ := backgroundColour(r)
	s.Background = bgName
	mask := foregroundMask(r, bgName)
	// The candidate partitions: connected pieces, and a cut across the
	// relation's axis.
	type part struct {
		p, q *Mask
		cut  bool
	}
	var parts []part
	if p, q, ok := Split(mask); ok {
		parts = append(parts, part{p, q, false})
	}
	vertical := relation == dataset.RelAbove || relation == dataset.RelBelow
	if p, q, ok := cutAlong(mask, vertical); ok {
		parts = append(parts, part{p, q, true})
	}
	if len(parts) == 0 {
		return s, nil
	}
	bm, _ := modelByName(bgName)
	var views []image.Image
	for _, pt := range parts {
		views = append(views, paintOver(r, pt.q, &bm), paintOver(r, pt.p, &bm))
	}
	logits, raw, err := o.run(o.inputs(views), 2*len(views))
	if err != nil {
		return s, err
	}
	labels, probs, err := o.labels(logits)
	if err != nil {
		return s, err
	}
	feats := pairFeatures(raw)
	sim := func(f []float32, refs [][]float32) float64 { return Identity([][]float32{f}, refs) }
	var regA, regB *Mask
	best := math.Inf(-1)
	for k, pt := range parts {
		fp, fq := feats[2*k], feats[2*k+1]
		c := PairScore{Found: true, Cut: pt.cut}
		a, b := pt.p, pt.q
		pa, pb, qa, qb := sim(fp, refA), sim(fp, refB), sim(fq, refA), sim(fq, refB)
		c.SimAA, c.SimAB, c.SimBA, c.SimBB = pa, pb, qa, qb
		c.LabelA, c.LabelB = labels[2*k], labels[2*k+1]
		c.RankA, c.RankB = classRank(o, probs[2*k], ca.Class), classRank(o, probs[2*k+1], cb.Class)
		if qa+pb > pa+qb {
			a, b = pt.q, pt.p
			c.SimAA, c.SimAB, c.SimBA, c.SimBB = qa, qb, pa, pb
			c.LabelA, c.LabelB = c.LabelB, c.LabelA
			c.RankA, c.RankB = classRank(o, probs[2*k+1], ca.Class), classRank(o, probs[2*k], cb.Class)
		}
		// The partition that tells the two concepts apart best: the larger
		// of the two regions' weaker margin.
		if margin := min(c.SimAA-c.SimAB, c.SimBB-c.SimBA); margin > best {
			best, regA, regB = margin, a, b
			c.Background = s.Background
			s = c
		}
	}
	s.IdentityOK = s.SimAA > s.SimAB && s.SimBB > s.SimBA && s.RankA <= pairTopK && s.RankB <= pairTopK
	s.Relation = Relation(regA, regB)
	s.RelationOK = RelationHolds(regA, regB, relation)
	s.OK = s.IdentityOK && s.RelationOK
	return s, nil
}

// cutAlong cuts a one-piece mask in two across the relation's axis
// (vertical: a horizontal line, for above and below; else a vertical
// line) at the line of the middle half of its box that holds the fewest
// pixels (the nearest the middle among equals). ok is false when the mask
// is empty or a side would keep less than minCutShare of it.
func cutAlong(m *Mask, vertical bool) (a, b *Mask, ok bool) {
	box := m.Bounds()
	total := m.Count()
	if box.Empty() || total == 0 {
		return nil, nil, false
	}
	lo, hi := box.Min.X, box.Max.X
	if vertical {
		lo, hi = box.Min.Y, box.Max.Y
	}
	count := func(line int) int {
		n := 0
		for k := 0; k < max(m.W, m.H); k++ {
			x, y := line, k
			if vertical {
				x, y = k, line
			}
			if x < m.W && y < m.H && m.On[y*m.W+x] {
				n++
			}
		}
		return n
	}
	span := hi - lo
	from, to := lo+span/4, hi-span/4
	if to <= from {
		return nil, nil, false
	}
	mid := float64(lo+hi-1) / 2
	cut, best := -1, 0
	for l := from; l < to; l++ {
		n := count(l)
		if cut < 0 || n < best || (n == best && abs(float64(l)-mid) < abs(float64(cut)-mid)) {
			cut, best = l, n
		}
	}
	a = &Mask{W: m.W, H: m.H, On: make([]bool, len(m.On)), Strength: m.Strength}
	b = &Mask{W: m.W, H: m.H, On: make([]bool, len(m.On)), Strength: m.Strength}
	na := 0
	for i, on := range m.On {
		if !on {
			continue
		}
		pos := i % m.W
		if vertical {
			pos = i / m.W
		}
		if pos < cut {
			a.On[i] = true
			na++
		} else {
			b.On[i] = true
		}
	}
	if float64(min(na, total-na)) < minCutShare*float64(total) {
		return nil, nil, false
	}
	return a, b, true
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
