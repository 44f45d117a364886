package engine

import (
	"errors"
	"sync"

	"conceptstudio/engine/basemodel"
	"conceptstudio/engine/dataset"
	"conceptstudio/engine/safetensors"
	"conceptstudio/engine/segment"
)

// The automatic cut-out of a user's photo takes the shipped segmenter's
// answer as a prior (engine/segment); a build without one cuts as before.
func init() { dataset.SetObjectPrior(segment.Prior) }

// ErrNoEmbeddedModel means this build carries no trained base model yet.
var ErrNoEmbeddedModel = errors.New("no base model is embedded in this build")

var defaultBase struct {
	once sync.Once
	b    *Base
	err  error
}

// DefaultBase returns the embedded base model, decoded on first use.
func DefaultBase() (*Base, error) {
	defaultBase.once.Do(func() {
		data := basemodel.Weights()
		if len(data) == 0 {
			defaultBase.err = ErrNoEmbeddedModel
			return
		}
		defaultBase.b, defaultBase.err = LoadBase(data)
	})
	return defaultBase.b, defaultBase.err
}

// ModelFileHasEncoder reports whether the model file at path ("" : the
// embedded one) carries an encoder, reading its header only.
func ModelFileHasEncoder(path string) bool {
	var meta map[string]string
	var err error
	if path == "" {
		meta, err = safetensors.Metadata(basemodel.Weights(), safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	} else {
		meta, err = safetensors.ReadMetadata(path, safetensors.ReadOptions{MaxHeaderSize: 64 << 20})
	}
	return err == nil && ModelHasEncoder(meta)
}
