// Package basemodel embeds the trained base model's weights (F16
// safetensors written by `conceptstudio pretrain -export`). Until the first
// milestone is committed, the folder holds no weights and Weights returns
// nil.
package basemodel

import "embed"

//go:embed *
var files embed.FS

// File is the embedded model's file name.
const File = "base.safetensors"

// Weights returns the embedded model file, or nil when there is none.
func Weights() []byte {
	b, err := files.ReadFile(File)
	if err != nil {
		return nil
	}
	return b
}
