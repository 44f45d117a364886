package model

import (
	"conceptstudio/engine/nn"
	"conceptstudio/engine/ops"
)

// TextEncoder maps token ids [B·L] to encodings [B, L, TextDim]: token and
// position embeddings, pre-LayerNorm causal transformer layers (padding
// keys masked), final LayerNorm.
func TextEncoder(s nn.Scope, c Config, ids, pos *ops.TokenIDs, batch int) *nn.Node {
	b := s.G.B
	tok := s.Sub("tok").Param("emb", []int{c.Vocab, c.TextDim}, nn.Normal(0.02))
	pe := s.Sub("pos").Param("emb", []int{c.MaxLen, c.TextDim}, nn.Normal(0.01))
	x := b.Add(b.Embedding(tok, ids, batch, c.MaxLen), b.Embedding(pe, pos, batch, c.MaxLen))
	for i := 0; i < c.TextLayers; i++ {
		l := s.Sub("layer" + itoa(i))
		x = b.Add(x, l.Sub("attn").SelfAttention(l.Sub("ln1").LayerNorm(x), c.TextHeads, true, true))
		x = b.Add(x, l.Sub("ff").FeedForward(l.Sub("ln2").LayerNorm(x), 4))
	}
	return s.Sub("ln_final").LayerNorm(x)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
