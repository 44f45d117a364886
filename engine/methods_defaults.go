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

// Defaults returns the defaults of a method. The numbers are starting
// points chosen on the tiny test model and the budget targets (Perfusion
// ≤ 60 s on this CPU at the base model's ~30 img/s of full training, more
// without weight gradients); they are to be re-measured on the trained
// base model (issue 5).
func Defaults(m Method) MethodDefaults {
	d := MethodDefaults{Steps: 200, Batch: 8, LR: 5e-3, EmbedLR: 5e-3, MinSNR: 5, Beta: 0.75, Tau: 0.10}
	switch m {
	case Perfusion:
		d.EmbedLR = d.LR * 0.2 // the design: embedding at ~0.2× the rate
	case LoRA:
		d.LR, d.Rank, d.Alpha = 1e-3, 4, 4
	case DreamBooth:
		d.LR, d.PriorN, d.Steps = 5e-5, 32, 300
	}
	return d
}
