// Package ops wires the engine's kernels into Gorgonia graphs: each
// operation is a gorgonia.Op with its own forward (Do) and symbolic
// backward (SymDiff returning backward-op nodes), so Gorgonia provides the
// graph, the topological order and the autodiff bookkeeping while all the
// arithmetic runs in package kernels.
//
// Rules every op here follows, because Gorgonia's TapeMachine frees and
// reuses registers without knowing about shared memory:
//   - an op never returns memory shared with an input (no views);
//   - an op never writes into its inputs;
//   - each op instance owns its output buffers and rewrites them fully on
//     every run, so steady-state steps allocate nothing;
//   - a backward op receives everything it reads as graph inputs.
//
// Graphs are built through a Builder, which tracks which nodes depend on
// learnable parameters so that no gradient is computed that nobody needs
// (a frozen UNet under Textual Inversion costs no weight gradients).
// Shape errors while building are programmer errors and panic; the engine
// boundary (Builder.Build) turns them into errors.
//
// Gorgonia's compiler takes two nodes with the same 32-bit structural
// hash for one value; Compile refuses such a graph (ErrHashCollision) and
// the constructors build it again through Retry (hashes.go).
package ops
