// Package basemodel embeds the base model's weights (F16 safetensors
// written by `conceptstudio pretrain -export`), replaced at training
// milestones; the README says which step is embedded. A build without
// the file has no default model and Weights returns nil.
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
