package engine

// MethodDefaults are a method's training settings. They live here, in one
// place; see each field's note for how it was chosen.
type MethodDefaults struct {
	Steps    int
	Batch    int
	LR       float64 // the method's own weights (o*_V, LoRA A/B, UNet)
	EmbedLR  float64 // the pseudo-word's embedding row
	Rank     int     // LoRA rank
	Alpha    float64 // LoRA alpha
	Beta     float64 // Perfusion training gate
	Tau      float64
	PriorN   int // DreamBooth: class images generated for prior preservation
	MinSNR   float64
	MaskLoss bool
}

// The defaults were first chosen on the tiny test model and the budget
// targets (Perfusion ≤ 60 s on this CPU: 200 steps took 32 s alone);
// re-measured on the step-21795 base with `eval -compare` (the Fluent 3D
// teddy, teapot, dog and couch, 4 images each, 24 prompts, 2026-11-26):
//
//	steps  Perfusion id / fidelity / two-concept   TI id / fidelity / two-concept
//	100    0.746 / 0.904 / 25%                     0.742 / 0.859 / 28%
//	200    0.743 / 0.891 / 44%                     0.737 / 0.853 / 22%
//	400    0.751 / 0.885 / 38%                     0.729 / 0.833 / 28%
//
// More steps buy no identity on this base (the differences are within
// the noise of 24 prompts; two-concept success is 32 images a row, ±9%).
// Textual Inversion takes 100 steps (every measure as good, half the
// time); Perfusion keeps 200 (its best two-concept row, inside the
// budget). Each method's own defaults are in its file (method_*.go),
// starting from baseDefaults.
