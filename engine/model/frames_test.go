package model

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestFrameMaps: a frame is drawn where it is — its inside covers the
// pixels whose centres fall in its square, u and v run from −0.5 to 0.5
// across it, the second slot is drawn in its own channels, an empty slot
// is all zeros — and the unshuffled input is the same maps moved to
// depth.
func TestFrameMaps(t *testing.T) {
	c := Tiny() // 8×8 pixels
	F := FramePixelFeatures
	f := Frame{CX: 0.5, CY: 0.25, Extent: 0.5} // pixels 2..5 across, 0..3 down
	m := c.FrameMaps([][FrameSlots]Frame{{f}})
	if len(m) != 8*8*c.FrameChannels() {
		t.Fatalf("%d values, want %d", len(m), 8*8*c.FrameChannels())
	}
	inside := 0
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			d := m[(y*8+x)*2*F:][:2*F]
			want := x >= 2 && x <= 5 && y <= 3
			if (d[0] == 1) != want {
				t.Errorf("pixel (%d,%d): inside %v, want %v", x, y, d[0], want)
			}
			if d[0] == 1 {
				inside++
			}
			if u := float64(d[1]); math.Abs(u-((float64(x)+0.5)/8-0.5)/0.5) > 1e-6 && math.Abs(u) < 1 {
				t.Errorf("pixel (%d,%d): u %v", x, y, u)
			}
			if slices.ContainsFunc(d[F:], func(v float32) bool { return v != 0 }) {
				t.Fatalf("pixel (%d,%d): the empty second slot is drawn", x, y)
			}
		}
	}
	if inside != 16 {
		t.Errorf("%d pixels inside, want 16", inside)
	}
	two := c.FrameMaps([][FrameSlots]Frame{{{}, f}})
	for p := 0; p < 64; p++ {
		if !slices.Equal(two[p*2*F+F:][:F], m[p*2*F:][:F]) || slices.ContainsFunc(two[p*2*F:][:F], func(v float32) bool { return v != 0 }) {
			t.Fatalf("pixel %d: the second slot's frame is not drawn in its channels alone", p)
		}
	}
	c.Unshuffle = true
	un := c.FrameMaps([][FrameSlots]Frame{{f}})
	want := make([]float32, len(m))
	SpaceToDepth(1, 8, 2*F, m, want)
	if !slices.Equal(un, want) || len(un) != 4*4*c.FrameChannels() {
		t.Error("the unshuffled frames are not the pixels' maps moved to depth")
	}
}

// TestFramesPlaceTheOutput: a model that gains frames computes what it
// computed before even when given frames (the convolution starts at
// zero); once its weights move, different frames give different outputs,
// and no frames give the output of a model without them.
func TestFramesPlaceTheOutput(t *testing.T) {
	plain, _, _, n, w := gain(t, func(c *Config) { c.Frames = true })
	at := func(f ...Frame) []float32 {
		tinyInputsNoTarget(t, n)
		if f != nil {
			if err := n.SetFrames([][FrameSlots]Frame{{f[0]}, {f[1]}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), n.Output()...)
	}
	left, right := Frame{CX: 0.3, CY: 0.5, Extent: 0.5}, Frame{CX: 0.7, CY: 0.5, Extent: 0.5}
	sameBits(t, "frames before training", plain, at(left, right))
	conv, ok := w.Lookup(FramesScope + ".w")
	if !ok {
		t.Fatal("no frames convolution")
	}
	for i, d := 0, conv.Data().([]float32); i < len(d); i++ {
		d[i] = float32(i%5-2) * 0.3
	}
	if slices.Equal(at(left, right), at(right, left)) {
		t.Error("moving the frames does not move the output")
	}
	sameBits(t, "no frames", plain, at())
	if err := n.SetFrames(make([][FrameSlots]Frame, 3)); err == nil {
		t.Error("three frame sets for a batch of two were taken")
	}
}

// TestFramePartsChangeNothingAtFirst: a frames model that gains the
// frames' templates (FrameParts) computes what it computed before, the
// weights it gains are the gainable ones, and once their last layer moves
// the output follows which words each frame names.
func TestFramePartsChangeNothingAtFirst(t *testing.T) {
	frames := func(c *Config) { c.Frames = true }
	_, _, added, n, w := gainFrom(t, frames, func(c *Config) { c.FrameParts = 4 })
	fc := n.Cfg
	fc.FrameParts = 0
	without, err := Build(w, fc, NetOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer without.Close()
	if added != 10 { // slot query, keys, and the place, query, values and out layers' weights and biases
		t.Errorf("gained %d weights, want 10", added)
	}
	for _, name := range w.Names() {
		if strings.HasPrefix(name, FramePartsScope+".") && !n.Cfg.Gainable(name) {
			t.Errorf("%s is not gainable", name)
		}
	}
	atNet := func(n *Net, tokens uint32) []float32 {
		tinyInputsNoTarget(t, n)
		f := Frame{CX: 0.5, CY: 0.5, Extent: 0.6, Tokens: tokens}
		if err := n.SetFrames([][FrameSlots]Frame{{f}, {f}}); err != nil {
			t.Fatal(err)
		}
		if err := n.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), n.Output()...)
	}
	at := func(tokens uint32) []float32 { return atNet(n, tokens) }
	sameBits(t, "the gained templates", atNet(without, 0b10), at(0b10))
	out, ok := w.Lookup(FramePartsScope + ".out.w")
	if !ok {
		t.Fatal("no output layer")
	}
	for i, d := 0, out.Data().([]float32); i < len(d); i++ {
		d[i] = float32(i%5-2) * 0.3
	}
	if slices.Equal(at(0b10), at(0b100)) {
		t.Error("the frame's words do not reach the output")
	}
}

// TestSelfCondReachesTheOutput: a model that gains self-conditioning
// draws what it drew, with or without an estimate, until its convolution
// moves; then the estimate changes the output, a zero estimate is what
// Set leaves, and an estimate of the wrong size is refused.
func TestSelfCondReachesTheOutput(t *testing.T) {
	plain, _, _, n, w := gain(t, func(c *Config) { c.SelfCond = true })
	c := n.Cfg
	per := c.ImageSize * c.ImageSize * c.InChannels
	at := func(est []float32) []float32 {
		tinyInputsNoTarget(t, n)
		if est != nil {
			if err := n.SetSelfCond(est); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), n.Output()...)
	}
	est := make([]float32, 2*per)
	for i := range est {
		est[i] = float32(math.Sin(0.37 * float64(i)))
	}
	sameBits(t, "an estimate before training", plain, at(est))
	conv, ok := w.Lookup(SelfCondScope + ".w")
	if !ok {
		t.Fatal("no self-conditioning convolution")
	}
	for i, d := 0, conv.Data().([]float32); i < len(d); i++ {
		d[i] = float32(i%5-2) * 0.3
	}
	moved := at(est)
	if slices.Equal(moved, plain) {
		t.Error("the estimate does not reach the output")
	}
	sameBits(t, "a zero estimate against none", at(nil), at(make([]float32, 2*per)))
	if err := n.SetSelfCond(make([]float32, per)); err == nil {
		t.Error("an estimate for one picture was taken for a batch of two")
	}
}

// TestRefsReachTheOutput: a model that gains reference pictures draws
// what it drew, with or without them, until their convolution moves; then
// a reference changes the output where it is drawn (unshuffled into the
// network's grid, so a reference in one corner changes that corner
// most), zeros are what Set leaves, and references of the wrong size, or
// for a network without the path, are refused.
func TestRefsReachTheOutput(t *testing.T) {
	plain, _, _, n, w := gain(t, func(c *Config) { c.Refs = true })
	c := n.Cfg
	P := c.ImageSize
	per := P * P * RefPixelChannels
	at := func(refs []float32) []float32 {
		tinyInputsNoTarget(t, n)
		if refs != nil {
			if err := n.SetRefs(refs); err != nil {
				t.Fatal(err)
			}
		}
		if err := n.Run(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), n.Output()...)
	}
	// An opaque reference in the top-left quarter of each picture.
	refs := make([]float32, 2*per)
	for i := 0; i < 2; i++ {
		for y := 0; y < P/4; y++ {
			for x := 0; x < P/4; x++ {
				o := i*per + (y*P+x)*RefPixelChannels
				refs[o], refs[o+1], refs[o+2], refs[o+3] = 0.8, -0.5, 0.1, 1
			}
		}
	}
	sameBits(t, "a reference before training", plain, at(refs))
	conv, ok := w.Lookup(RefsScope + ".w")
	if !ok {
		t.Fatal("no reference convolution")
	}
	for i, d := 0, conv.Data().([]float32); i < len(d); i++ {
		d[i] = float32(i%5-2) * 0.3
	}
	base := at(nil)
	moved := at(refs)
	// Where the change is: the top-left quarter against the bottom-right.
	diff := func(x0, y0 int) (s float64) {
		for y := y0; y < y0+P/4; y++ {
			for x := x0; x < x0+P/4; x++ {
				for ch := 0; ch < c.InChannels; ch++ {
					o := (y*P+x)*c.InChannels + ch
					s += math.Abs(float64(moved[o] - base[o]))
				}
			}
		}
		return s
	}
	near, far := diff(0, 0), diff(P-P/4, P-P/4)
	if !(near > 0) {
		t.Fatal("the reference does not reach the output")
	}
	if !(near > 2*far) {
		t.Errorf("the reference changed its own corner by %.3g and the far corner by %.3g: not drawn where it is", near, far)
	}
	sameBits(t, "zero references against none", base, at(make([]float32, 2*per)))
	if err := n.SetRefs(make([]float32, per)); err == nil {
		t.Error("references for one picture were taken for a batch of two")
	}
	plainNet, err := Build(w, Tiny(), NetOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plainNet.Close()
	if err := plainNet.SetRefs(make([]float32, 2*per)); err == nil {
		t.Error("a network without the reference path took references")
	}
	bad := Tiny()
	bad.Refs, bad.InChannels = true, 4
	if err := bad.Validate(); err == nil {
		t.Error("references on a 4-channel (latent) design were accepted")
	}
}
