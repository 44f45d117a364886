// Package model defines Concept Studio's networks: the text encoder and the
// conditional UNet, their hyperparameters (this file), and Net, a compiled
// graph of the two for one batch size that trains or denoises.
package model

import (
	"fmt"
	"strings"
)

// Config holds every hyperparameter of the base model.
type Config struct {
	ImageSize  int   // pixels per side of generated images
	InChannels int   // 3 (RGB); 12 when Unshuffle
	Unshuffle  bool  // space-to-depth ×2 before the UNet (32×32×3 → 16×16×12)
	Channels   []int // UNet channels per resolution level
	ResBlocks  int   // residual blocks per level (down path; the up path has one more)
	CrossAttn  []bool
	SelfAttn   []bool // self-attention in the spatial transformer at that level
	Heads      int
	Groups     int // GroupNorm groups
	TimeDim    int // time-embedding width (sinusoid width is Channels[0])
	// PosEmb adds a learned position embedding [H, W, C] (zero at the
	// start, so a model gains it without changing what it computes) to the
	// input of every spatial transformer: the queries then know where they
	// are, which prompts like "on the left" need.
	PosEmb bool `json:",omitempty"`
	// TextLayout adds to the lowest-resolution features (the middle
	// block's input) a map made from the prompt's words directly: each
	// vocabulary word has its own small map (LayoutDim values per place,
	// zero at the start), the prompt's maps are pooled by attention over
	// its tokens (the query starts at zero: a plain mean) and a 1×1
	// projection widens them to the features' channels. Cross-attention
	// alone never learnt where "on the left" puts things: placing needs
	// its queries' positions and the position words' keys to match, a
	// product of two things that both start uninformative, and with the
	// caption grammar's variety the runs stayed on that saddle (an
	// object's place set by the noise, whatever the prompt said). A word's
	// map is linear in its own weights, so it learns from the first step.
	// The word maps start at zero, so a model gains this unchanged.
	TextLayout bool `json:",omitempty"`
	// TextPlaces (with TextLayout) biases every cross-attention's scores
	// by where each token belongs: a two-layer MLP of the token's
	// encoding gives a map over the lowest level's grid (zero at the
	// start), spread to each level's places and added to that token's
	// scores there. In "a cat on the left of a car" the encoder (causal)
	// has seen "on the left of" before "car", so car's map can raise its
	// scores on the right: the object word's own attention goes where
	// the prompt puts it, which the pooled word maps cannot say.
	TextPlaces bool `json:",omitempty"`
	// TextPooled adds the prompt, pooled by attention over its tokens (the
	// query starts at zero: a plain mean of the encodings), to the time
	// embedding through a two-layer MLP whose last layer starts at zero:
	// every residual block then sees what is asked for (as class-
	// conditional UNets add the class to the time embedding, and SDXL and
	// Imagen a pooled text embedding), where otherwise only the attention
	// layers between them do. A model gains it unchanged.
	TextPooled bool `json:",omitempty"`
	// Frames gives the UNet where each object of the prompt goes: for up
	// to FrameSlots objects (in caption order) a square frame (its centre
	// and side, FrameMaps), drawn per pixel as whether the pixel is inside
	// it, where in it (u, v) and sinusoids of u and v, and added to the
	// first convolution's output through a convolution that starts at
	// zero (so a model gains it unchanged). Inside the frame each pixel
	// then knows which part of the object it is, at every position and
	// size, so the object's shape is one mapping to learn instead of one
	// per place and size; the frames come from the scene when training,
	// from the prompt's layout or the canvas when drawing (no frames: the
	// input is zero, as when training drops them).
	Frames bool `json:",omitempty"`
	// FrameParts (with Frames) gives each frame a template of its thing:
	// each slot's words (Frame.Tokens) are pooled from the prompt's
	// encodings, a linear map turns that into FrameParts value vectors
	// (one per part of the frame), and every place attends, by its frame
	// features alone, over the parts of all slots (learned keys): its
	// share of each part's value is added after the first convolution
	// (through a layer that starts at zero). What a place inside a frame
	// gets then depends on which part of which thing it is, a template
	// of the thing at the finest level, where otherwise the thing's words
	// reach only the coarser levels' cross-attention.
	FrameParts int `json:",omitempty"`
	// SelfCond gives the UNet its own previous estimate of the clean
	// picture (self-conditioning, Chen, Zhang and Hinton 2022, "Analog
	// Bits"), in the UNet's input space, added to the first
	// convolution's output through a convolution that starts at zero (so
	// a model gains it unchanged). Training feeds half the batches the
	// estimate of a first pass at the same noise, the rest zeros; the
	// sampler feeds each step the estimate of the step before, so a
	// shape seen once is kept instead of redrawn from the noise at every
	// step. Zero (what Set leaves) is "no estimate".
	SelfCond bool `json:",omitempty"`
	// Refs gives the UNet a reference picture of each thing, drawn into
	// the thing's frame (retrieval-conditioned generation, as in RDM and
	// Re-Imagen): per pixel the reference's colour premultiplied by its
	// alpha and the alpha ([−1, 1] colours; zero where no reference
	// reaches), added to the first convolution's output through a
	// convolution that starts at zero (so a model gains it unchanged).
	// Training draws each thing's own sprite, slightly moved and scaled,
	// into its frame (and drops it for some pictures); drawing takes the
	// sprite of the word the prompt names, or a concept's own picture, so
	// the shape comes from a picture instead of from memory. Pixel
	// designs only (InChannels 3).
	Refs bool `json:",omitempty"`

	Vocab      int // token rows, pseudo-word slots included
	MaxLen     int // tokens per caption, start/end included
	TextDim    int
	TextLayers int
	TextHeads  int
}

// Reference is the configuration every benchmark uses: 64/128/128 channels
// at 32/16/8, cross-attention at 16 and 8, self-attention at 8, and a
// 4-layer, width-128 text encoder. Its channel widths and attention levels
// follow the model of ../shared/reference/CALIBRATION.md, but it is a
// Stable-Diffusion-style block (two up blocks per level, 32 groups,
// feed-forward in every transformer): 6.80M parameters and 2.2 GFLOP per
// image forward, about 1.8× the calibration model's work. The same network
// in PyTorch is build/bench_torch.py, the fair speed comparison. The base
// model is this network on a pixel-unshuffled latent (engine.BaseConfig).
func Reference() Config {
	return Config{
		ImageSize: 32, InChannels: 3,
		Channels:  []int{64, 128, 128},
		ResBlocks: 1,
		CrossAttn: []bool{false, true, true},
		SelfAttn:  []bool{false, false, true},
		Heads:     4, Groups: 32, TimeDim: 256,
		Vocab: 512, MaxLen: 20, TextDim: 128, TextLayers: 4, TextHeads: 4,
	}
}

// Tiny is a small configuration for tests and gradient checks.
func Tiny() Config {
	return Config{
		ImageSize: 8, InChannels: 3,
		Channels:  []int{8, 16},
		ResBlocks: 1,
		CrossAttn: []bool{false, true},
		SelfAttn:  []bool{false, true},
		Heads:     2, Groups: 4, TimeDim: 16,
		Vocab: 20, MaxLen: 5, TextDim: 8, TextLayers: 1, TextHeads: 2,
	}
}

// TextLayout's sizes: LayoutDim values per place of the lowest level's
// grid, PlacesHidden units in TextPlaces' MLP; their weights live under
// TextLayoutScope.
const (
	LayoutDim       = 32
	PlacesHidden    = 256
	TextLayoutScope = "unet.mid.text_layout"
	// TextPooledScope holds TextPooled's weights.
	TextPooledScope = "unet.text_pool"
	// FramesScope holds Frames' convolution.
	FramesScope = "unet.frames_in"
	// FramePartsScope holds FrameParts' weights.
	FramePartsScope = "unet.frame_parts"
	// SelfCondScope holds SelfCond's convolution.
	SelfCondScope = "unet.self_cond_in"
	// RefsScope holds Refs' convolution.
	RefsScope = "unet.refs_in"
)

// Gainable reports whether weight name is one of the additions that start
// so as to change nothing (PosEmb's position embeddings, TextLayout,
// TextPooled), so that
// a model trained without them can gain them without changing what it
// computes.
func (c Config) Gainable(name string) bool {
	switch {
	case c.PosEmb && strings.HasSuffix(name, ".pos"):
		return true
	case c.TextLayout && strings.HasPrefix(name, TextLayoutScope+"."):
		return true
	case c.TextPooled && strings.HasPrefix(name, TextPooledScope+"."):
		return true
	case c.Frames && strings.HasPrefix(name, FramesScope+"."):
		return true
	case c.FrameParts > 0 && strings.HasPrefix(name, FramePartsScope+"."):
		return true
	case c.SelfCond && strings.HasPrefix(name, SelfCondScope+"."):
		return true
	case c.Refs && strings.HasPrefix(name, RefsScope+"."):
		return true
	}
	return false
}

// Validate checks the configuration's consistency.
func (c Config) Validate() error {
	n := len(c.Channels)
	switch {
	case n == 0 || len(c.CrossAttn) != n || len(c.SelfAttn) != n:
		return fmt.Errorf("model: %d levels but %d cross- and %d self-attention flags", n, len(c.CrossAttn), len(c.SelfAttn))
	case c.latentSize()%(1<<(n-1)) != 0:
		return fmt.Errorf("model: size %d cannot be halved %d times", c.latentSize(), n-1)
	case c.Heads < 1 || c.TextHeads < 1 || c.TextDim%c.TextHeads != 0:
		return fmt.Errorf("model: bad head counts")
	case c.Vocab < 4 || c.MaxLen < 2:
		return fmt.Errorf("model: bad text settings")
	case c.Refs && c.InChannels != 3:
		return fmt.Errorf("model: reference pictures need a pixel design (3 channels, not %d)", c.InChannels)
	}
	for _, ch := range c.Channels {
		if ch%c.Groups != 0 || ch%c.Heads != 0 {
			return fmt.Errorf("model: %d channels do not split into %d groups and %d heads", ch, c.Groups, c.Heads)
		}
	}
	return nil
}

// latentSize is the UNet's spatial size (half the image when unshuffled).
func (c Config) latentSize() int {
	if c.Unshuffle {
		return c.ImageSize / 2
	}
	return c.ImageSize
}

// RefPixelChannels is a reference picture's values per pixel (Config.
// Refs): red, green and blue premultiplied by alpha, and alpha.
const RefPixelChannels = 4

// RefChannels is the UNet's reference input's channels per place of its
// grid (the unshuffled pixels').
func (c Config) RefChannels() int {
	if c.Unshuffle {
		return 4 * RefPixelChannels
	}
	return RefPixelChannels
}

// latentChannels is the UNet's input and output channel count.
func (c Config) latentChannels() int {
	if c.Unshuffle {
		return 4 * c.InChannels
	}
	return c.InChannels
}
