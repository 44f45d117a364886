package engine

import (
	"errors"
	"sync"

	"conceptstudio/engine/basemodel"
)

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
