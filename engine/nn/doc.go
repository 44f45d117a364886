// Package nn builds network layers on graphs from package ops: linear and
// convolution layers, normalisations, residual blocks, attention and
// transformer blocks, over a named weight store. A Scope carries the graph
// being built, the weights and a name prefix, so one layer function serves
// every model and every graph (training, sampling, different batches) and
// the weights are shared between them.
package nn
