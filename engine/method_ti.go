package engine

import "context"

// Textual inversion (Gal et al. 2022): only the pseudo-word's embedding
// is learned; the concept file holds "emb" alone.
type tiMethod struct{}

func init() { registerMethod(tiMethod{}) }

func (tiMethod) info() MethodInfo {
	return MethodInfo{Name: TI, Rank: 20, Title: "Textual inversion", About: "~1 min, <4 KB, looser likeness", Steps: tiMethod{}.defaults().Steps}
}

// defaults: 100 steps measured as good as 200 on the step-21795 base (see
// MethodDefaults), in half the time.
func (tiMethod) defaults() MethodDefaults {
	d := baseDefaults()
	d.Steps = 100
	return d
}

func (tiMethod) gate(*Concept, int) float64                                     { return 0 }
func (tiMethod) check(*Base, *Concept) error                                    { return nil }
func (tiMethod) copies(*Base, *Concept) []string                                { return nil }
func (tiMethod) prepare(context.Context, *training) error                       { return nil }
func (tiMethod) finish(*training, *Concept)                                     {}
func (tiMethod) attach(*session, *Concept, float64, float64, *attachment) error { return nil }
