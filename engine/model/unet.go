package model

import (
	"conceptstudio/engine/nn"
)

// UNet predicts the noise (or v) for x [N, S, S, C] at the time embedding
// temb [N, Channels[0]] (sinusoids, an input), conditioned on the text
// encoding ctx [N, L, TextDim] and, when the config has TextLayout, the
// prompt's pooled word maps layout [N, 1, G·G·LayoutDim] (else nil) and,
// when it has TextPooled, the pooled prompt [N, TextDim] (else nil).
func UNet(s nn.Scope, c Config, x, tsin, ctx, layout, pooled *nn.Node) *nn.Node {
	out, _ := unet(s, c, x, tsin, ctx, layout, pooled, nil, nil, nil, nil)
	return out
}

// unet is UNet that also returns the middle block's output [N, G, G,
// Channels[last]] (G the lowest level's grid), which representation
// alignment reads (NetOptions.Align).
// frames [N, S, S, FrameChannels] (Config.Frames; else nil) is added
// after the first convolution.
// parts (Config.FrameParts; else nil) [N, S, S, Channels[0]] is added there too,
// and so is selfCond [N, S, S, C] (Config.SelfCond; else nil) through a
// convolution that starts at zero, and refs [N, S, S, RefChannels]
// (Config.Refs; else nil) through another.
func unet(s nn.Scope, c Config, x, tsin, ctx, layout, pooled, frames, parts, selfCond, refs *nn.Node) (out, mid *nn.Node) {
	b := s.G.B
	temb := s.Sub("time.fc2").Linear(b.SiLU(s.Sub("time.fc1").Linear(tsin, c.TimeDim, true)), c.TimeDim, true)
	if pooled != nil {
		ps := s.Sub("text_pool")
		temb = b.Add(temb, ps.Sub("fc2").LinearZero(b.SiLU(ps.Sub("fc1").Linear(pooled, c.TimeDim, true)), c.TimeDim))
	}
	h := s.Sub("conv_in").Conv(x, c.Channels[0], 3, 1)
	if frames != nil {
		h = b.Add(h, s.Sub("frames_in").ConvZero(frames, c.Channels[0], 3))
	}
	if parts != nil {
		h = b.Add(h, parts)
	}
	if selfCond != nil {
		h = b.Add(h, s.Sub("self_cond_in").ConvZero(selfCond, c.Channels[0], 3))
	}
	if refs != nil {
		h = b.Add(h, s.Sub("refs_in").ConvZero(refs, c.Channels[0], 3))
	}
	skips := []*nn.Node{h}
	withPos := func(s nn.Scope, h *nn.Node) *nn.Node {
		if !c.PosEmb {
			return h
		}
		return b.AddPositional(h, s.Param("pos", []int(h.Shape())[1:], nn.Zeros))
	}
	attn := func(s nn.Scope, h *nn.Node, level int) *nn.Node {
		if !c.CrossAttn[level] {
			return h
		}
		return s.SpatialTransformer(withPos(s, h), ctx, c.Heads, c.Groups, c.SelfAttn[level])
	}
	last := len(c.Channels) - 1
	for lv, ch := range c.Channels {
		d := s.Sub("down" + itoa(lv))
		for r := 0; r < c.ResBlocks; r++ {
			h = d.Sub("res"+itoa(r)).ResBlock(h, temb, ch, c.Groups)
			h = attn(d.Sub("attn"+itoa(r)), h, lv)
			skips = append(skips, h)
		}
		if lv < last {
			h = d.Sub("downsample").Conv(h, ch, 3, 2)
			skips = append(skips, h)
		}
	}
	m := s.Sub("mid")
	if layout != nil {
		// layout [N, 1, G·G·LayoutDim]: per place, widened to the channels.
		sh := []int(h.Shape())
		grid := b.Reshape(layout, sh[0], sh[1], sh[2], LayoutDim)
		h = b.Add(h, m.Sub("text_layout").Sub("proj").Linear(grid, sh[3], false))
	}
	h = m.Sub("res0").ResBlock(h, temb, c.Channels[last], c.Groups)
	h = m.Sub("attn").SpatialTransformer(withPos(m.Sub("attn"), h), ctx, c.Heads, c.Groups, true)
	h = m.Sub("res1").ResBlock(h, temb, c.Channels[last], c.Groups)
	mid = h
	for lv := last; lv >= 0; lv-- {
		u := s.Sub("up" + itoa(lv))
		ch := c.Channels[lv]
		for r := 0; r <= c.ResBlocks; r++ {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			h = u.Sub("res"+itoa(r)).ResBlock(b.Concat(h, skip), temb, ch, c.Groups)
			h = attn(u.Sub("attn"+itoa(r)), h, lv)
		}
		if lv > 0 {
			// Upsample, then convolve straight to the next level's width:
			// the convolution runs at the higher resolution, so keeping it
			// narrow halves the up path's cost.
			h = u.Sub("upsample").Conv(b.Upsample2x(h), c.Channels[lv-1], 3, 1)
		}
	}
	h = b.SiLU(s.Sub("norm_out").GroupNorm(h, c.Groups))
	return s.Sub("conv_out").ConvZero(h, c.latentChannels(), 3), mid
}
