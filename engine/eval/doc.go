// Package eval measures generated images against the sprite world they
// were trained on (DESIGN.md, "How quality is measured").
//
// # Attribute checks
//
// A prompt's stated attributes are read back from a 32×32 image
// (image.Image, or NHWC float32 in [-1, 1] through FromNHWC) with the
// dataset's own definitions:
//
//   - BackgroundColour: the nearest dataset.Colours entry to the border
//     frame (2 pixels wide), in CIE76 ΔE through dataset.Lab, robust to an
//     object touching the border and to the dataset's patterns (each pixel
//     may be any mix of the colour and its dataset.Tone);
//     BackgroundPattern: plain or which dataset.Patterns entry, by fitting
//     the dataset's own pattern drawings.
//   - ForegroundMask: the pixels the background does not explain, cleaned
//     of specks; Position and Size read the mask's box with the ranges
//     dataset/scene.go places objects by; Split and Relation handle two
//     objects.
//
// # Oracle
//
// The Oracle is a small CNN (engine/nn layers over engine/ops, about 0.56M
// weights, shipped as F16 in oracle.safetensors and embedded) that names
// the object in an image: one class per sprite name, both styles alike,
// with the Fluent 3D personal objects as extra views of their names.
// Features gives its penultimate layer, L2-normalised, and Identity the
// mean cosine similarity between two sets of them (identity fidelity).
// TrainOracle retrains it (go generate runs gen_oracle.go, as the shipped
// one was made: 13 minutes on a shared 2-core CPU, 1478 steps of 64
// views); it is trained with softmax cross-entropy, an op this package adds
// to the graph itself (celoss.go) without changing package ops. Classify
// averages the network's answers on the image and on an "object view" (the
// object found by its foreground mask, redrawn centred at a fixed size):
// 92.6% top-1 on 1000 fresh renders, against 82.8% for the image alone
// (OracleRecord).
//
// # Prompt fidelity
//
// ScoreImage combines the checks for one image and a Prompt (built from a
// dataset scene and its caption's dataset.Stated with PromptFor, or parsed
// from caption-grammar text with ParsePrompt) into the fraction of stated
// attributes the image satisfies.
package eval

//go:generate go run gen_oracle.go -steps 3000 -budget 13m
