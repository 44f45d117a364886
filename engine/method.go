package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"conceptstudio/engine/conceptfile"
	"conceptstudio/engine/nn"
)

// A personalization method is one type in one file (method_*.go) that
// registers itself here: its name and title, its training defaults, what
// it trains, its concept tensors and their checks, how it attaches at
// generation time, and its gate. Nothing else switches on method names:
// flags, usage texts, the window's choices and sliders, the comparison and
// the PNG settings all read the registry (MethodInfos). A fifth method is
// one new file and its tests.

// MethodInfo is what the rest of the program knows of a method.
type MethodInfo struct {
	Name  Method
	Title string // as shown: "Perfusion"
	// About is the method's line in the new-concept sheet: cost, size and
	// character ("~1 min, ~10 KB, best balance of look and prompt").
	About string
	Steps int // default training steps
	// Rank orders the methods as the window offers them (lowest first).
	Rank int
	// Gate is the method's generation-time knob; nil: it has none.
	Gate *Gate
	// NeedsEncoder: the method starts from the base model's encoder
	// (TrainOptions.Encoder), so it is only offered where there is one.
	NeedsEncoder bool
	// ForOneImage: the window's default when one picture is dropped.
	ForOneImage bool
}

// Gate is a method's generation-time knob, one number per concept in a
// prompt, whose meaning the method defines (Perfusion's gate β, a LoRA's
// multiplier). It acts with no retraining.
type Gate struct {
	Name           string // in sentences: "a Perfusion gate β"
	Label          string // after the concept's name on its slider: "β", "×"
	Help           string // what moving it does, in plain words
	Min, Max, Step float64
	// Sweep are the values a gate sweep shows (nil: five spread evenly
	// over the range).
	Sweep []float64
}

// Check says whether v is a value of the gate (above Min, at most Max),
// in plain words if not.
func (g *Gate) Check(v float64) error {
	if !(v > g.Min && v <= g.Max) {
		return fmt.Errorf("%s is above %g and at most %g, not %g", g.Name, g.Min, g.Max, v)
	}
	return nil
}

// methodImpl is a registered method's behaviour.
type methodImpl interface {
	info() MethodInfo
	defaults() MethodDefaults
	// gate is a concept's gate when the prompt holds n concepts of this
	// method (n ≥ 1) and the user set none; 0 for a method without one.
	gate(c *Concept, n int) float64
	// check says whether the concept's tensors fit the base model.
	check(b *Base, c *Concept) error
	// copies names the base weights a session must copy (not share)
	// before the method edits them, for concept c or, with c nil, for
	// training.
	copies(b *Base, c *Concept) []string
	// prepare sets up a training session: hooks, learnable weights.
	prepare(ctx context.Context, t *training) error
	// finish writes the trained concept's tensors and settings.
	finish(t *training, c *Concept)
	// attach installs one concept into a generation session with its
	// gate (0: the method's default for it).
	attach(s *session, c *Concept, gate, tau float64, a *attachment) error
}

// training is one concept-training run's set-up, shared between
// TrainConcept and its method.
type training struct {
	b      *Base
	s      *session
	word   int // the pseudo-word's token id
	opt    TrainOptions
	d      MethodDefaults
	learn  map[string]bool // the weights the optimiser moves
	copies []string        // the base weights the session copied
	pc     *perfusionConcept
	prior  *priorSet
}

// attachment collects what several concepts of a prompt share while they
// are attached to one session, finished by done.
type attachment struct {
	perfs []*perfusionConcept
	lora  map[string]*loraLayer
	count map[Method]int // concepts of each method in the prompt
}

// loraLayer gathers the LoRA adapters of one projection.
type loraLayer struct {
	names  []string
	scales []float64
	rank   int
}

// done installs what the concepts share (LoRA hooks).
func (a *attachment) done(s *session) {
	for l, e := range a.lora {
		s.linear[l] = loraHook(e.names, e.scales, e.rank)
	}
}

var (
	methodOrder []Method
	methodImpls = map[Method]methodImpl{}
)

// registerMethod adds a method (from its file's init).
func registerMethod(m methodImpl) {
	name := m.info().Name
	if _, dup := methodImpls[name]; dup {
		panic("engine: method " + string(name) + " registered twice")
	}
	methodImpls[name] = m
	methodOrder = append(methodOrder, name)
	conceptfile.RegisterMethod(name)
}

// methodOf returns a registered method's behaviour.
func methodOf(m Method) (methodImpl, error) {
	if impl, ok := methodImpls[m]; ok {
		return impl, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrMethod, string(m))
}

// MethodInfos lists the registered methods in the order the window
// offers them (MethodInfo.Rank).
func MethodInfos() []MethodInfo {
	out := make([]MethodInfo, 0, len(methodOrder))
	for _, m := range methodOrder {
		out = append(out, methodImpls[m].info())
	}
	slices.SortStableFunc(out, func(a, b MethodInfo) int { return cmp.Compare(a.Rank, b.Rank) })
	return out
}

// MaxGate is the largest gate value any method takes.
func MaxGate() float64 {
	m := 0.0
	for _, info := range MethodInfos() {
		if info.Gate != nil {
			m = max(m, info.Gate.Max)
		}
	}
	return m
}

// LookupMethod returns a registered method's information.
func LookupMethod(name string) (MethodInfo, bool) {
	impl, ok := methodImpls[Method(name)]
	if !ok {
		return MethodInfo{}, false
	}
	return impl.info(), true
}

// DefaultGate is the gate a concept gets in a prompt when the user sets
// none: n is how many concepts of its method the prompt holds. 0 for a
// method without a gate.
func DefaultGate(c *Concept, n int) float64 {
	impl, err := methodOf(c.Method)
	if err != nil {
		return 0
	}
	return impl.gate(c, max(1, n))
}

// Gates are the gates generation gives each of uses: its own Gate when
// set, else DefaultGate with the prompt's count of its method. 0 for a
// concept whose method has no gate.
func Gates(uses []ConceptUse) []float64 {
	count := map[Method]int{}
	for _, u := range uses {
		count[u.Concept.Method]++
	}
	out := make([]float64, len(uses))
	for i, u := range uses {
		impl, err := methodOf(u.Concept.Method)
		if err != nil || impl.info().Gate == nil {
			continue
		}
		out[i] = u.Gate
		if out[i] <= 0 {
			out[i] = impl.gate(u.Concept, count[u.Concept.Method])
		}
	}
	return out
}

// Defaults returns the training defaults of a method (zero for an
// unknown one).
func Defaults(m Method) MethodDefaults {
	impl, err := methodOf(m)
	if err != nil {
		return MethodDefaults{}
	}
	return impl.defaults()
}

// baseDefaults are the settings every method starts from (see
// MethodDefaults for how each was chosen).
func baseDefaults() MethodDefaults {
	return MethodDefaults{Steps: 200, Batch: 8, LR: 5e-3, EmbedLR: 5e-3, MinSNR: 5, Beta: 0.75, Tau: 0.10}
}

// unetCopies lists every UNet weight (what DreamBooth trains).
func unetCopies(w *nn.Weights) []string {
	var out []string
	for _, n := range w.Names() {
		if len(n) > 5 && n[:5] == "unet." {
			out = append(out, n)
		}
	}
	return out
}
