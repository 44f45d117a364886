package engine

import "conceptstudio/engine/conceptfile"

// The concept file lives in engine/conceptfile (no Gorgonia, so the
// library reads it without the engine); these names keep the engine's
// code and its callers as they were.
type (
	Concept         = conceptfile.Concept
	ConceptSettings = conceptfile.ConceptSettings
	Tensor          = conceptfile.Tensor
	Method          = conceptfile.Method
)

// The personalization methods' names (each method's file registers its
// behaviour under its name).
const (
	Perfusion  = conceptfile.Perfusion
	TI         = conceptfile.TI
	LoRA       = conceptfile.LoRA
	DreamBooth = conceptfile.DreamBooth
	E4T        = Method("e4t")
)

// Concept-file errors, for errors.Is.
var (
	ErrCorruptConcept = conceptfile.ErrCorruptConcept
	ErrWrongBase      = conceptfile.ErrWrongBase
)

// ValidName reports whether name can be a pseudo-word.
func ValidName(name string) error { return conceptfile.ValidName(name) }

// DecodeConcept reads a concept file's bytes.
func DecodeConcept(data []byte) (*Concept, error) { return conceptfile.DecodeConcept(data) }

// ReadConceptFile reads a concept file.
func ReadConceptFile(path string) (*Concept, error) { return conceptfile.ReadConceptFile(path) }

// WriteConceptFile writes a concept file atomically.
func WriteConceptFile(path string, c *Concept) error { return conceptfile.WriteConceptFile(path, c) }

// knownMethod reports whether m is a registered method.
func knownMethod(m Method) bool {
	_, ok := methodImpls[m]
	return ok
}
