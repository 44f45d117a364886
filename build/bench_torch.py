#!/usr/bin/python3
"""PyTorch twin of the engine's model (engine/model, engine/nn) and a
training-step benchmark for model.Reference().

The modules below mirror the Go layer tree one to one: every PyTorch
parameter name *is* the Go weight name produced by nn.Scope (for example
"unet.down0.res0.conv1.w"), so weights move between the two with
go_weights()/load_go_weights(). Layouts: Linear weights are stored as in Go,
[in, out]; convolution weights are stored the PyTorch way, [out, in, K, K],
and converted to Go's [K, K, in, out] on export. Images are NCHW here (Go
uses NHWC); token order inside attention is row-major (h, w) in both.

build/torch_golden.py imports this file to write the Go golden tests'
reference data, so the benchmark times exactly the architecture the golden
test checks against the Go engine.

Run (2 threads, Debian's PyTorch):
    /usr/bin/python3 build/bench_torch.py [--batch 32] [--steps 10]
It prints one JSON line.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- config

class Config:
    """engine/model/config.go's Config."""

    def __init__(self, **kw):
        self.ImageSize = kw["ImageSize"]
        self.InChannels = kw["InChannels"]
        self.Unshuffle = kw.get("Unshuffle", False)
        self.Channels = list(kw["Channels"])
        self.ResBlocks = kw["ResBlocks"]
        self.CrossAttn = list(kw["CrossAttn"])
        self.SelfAttn = list(kw["SelfAttn"])
        self.Heads = kw["Heads"]
        self.Groups = kw["Groups"]
        self.TimeDim = kw["TimeDim"]
        self.Vocab = kw["Vocab"]
        self.MaxLen = kw["MaxLen"]
        self.TextDim = kw["TextDim"]
        self.TextLayers = kw["TextLayers"]
        self.TextHeads = kw["TextHeads"]

    def latent_size(self):
        return self.ImageSize // 2 if self.Unshuffle else self.ImageSize

    def latent_channels(self):
        return 4 * self.InChannels if self.Unshuffle else self.InChannels


def reference():
    """model.Reference()."""
    return Config(ImageSize=32, InChannels=3, Channels=[64, 128, 128], ResBlocks=1,
                  CrossAttn=[False, True, True], SelfAttn=[False, False, True],
                  Heads=4, Groups=32, TimeDim=256,
                  Vocab=512, MaxLen=20, TextDim=128, TextLayers=4, TextHeads=4)


def tiny():
    """model.Tiny()."""
    return Config(ImageSize=8, InChannels=3, Channels=[8, 16], ResBlocks=1,
                  CrossAttn=[False, True], SelfAttn=[False, True],
                  Heads=2, Groups=4, TimeDim=16,
                  Vocab=20, MaxLen=5, TextDim=8, TextLayers=1, TextHeads=2)


# ---------------------------------------------------------------- layers

# When a list, the forward pass adds its matrix-work FLOPs (2·multiply-adds
# of linear, convolution and attention, as ops.Builder.FLOPs counts them).
FLOPS = None


def _count(n):
    if FLOPS is not None:
        FLOPS[0] += n

# Initialisation follows engine/nn (FanIn uniform, zeros for the last layer
# of residual branches, normal embeddings); it only matters for the bench.

class Linear(nn.Module):
    """nn.Scope.Linear: y = x·w + b, w [in, out] ("w"), b [out] ("b")."""

    def __init__(self, i, o, bias=True, zero=False):
        super().__init__()
        bound = 0.0 if zero else 1 / math.sqrt(i)
        self.w = nn.Parameter(torch.empty(i, o).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(o)) if bias else None

    def forward(self, x):
        _count(2 * x.numel() * self.w.shape[1])
        y = torch.matmul(x, self.w)
        return y if self.b is None else y + self.b

    def conv1x1(self, x):
        """The same map on an NCHW image (Go: Linear on NHWC)."""
        _count(2 * x.numel() * self.w.shape[1])
        return F.conv2d(x, self.w.t()[:, :, None, None], self.b)


class Conv(nn.Module):
    """nn.Scope.Conv: K×K, padding K/2, stride 1 or 2, with bias.
    PyTorch layout [out, in, K, K]; Go's is [K, K, in, out]."""

    def __init__(self, i, o, k, stride=1, zero=False):
        super().__init__()
        bound = 0.0 if zero else 1 / math.sqrt(k * k * i)
        self.w = nn.Parameter(torch.empty(o, i, k, k).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(o))
        self.stride, self.pad = stride, k // 2

    def forward(self, x):
        y = F.conv2d(x, self.w, self.b, self.stride, self.pad)
        _count(2 * y.numel() * self.w[0].numel())
        return y


class GroupNorm(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.g = nn.Parameter(torch.ones(c))
        self.b = nn.Parameter(torch.zeros(c))
        self.groups = groups

    def forward(self, x):  # NCHW
        return F.group_norm(x, self.groups, self.g, self.b, 1e-5)


class LayerNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.g = nn.Parameter(torch.ones(c))
        self.b = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.g, self.b, 1e-5)


class Embedding(nn.Module):
    def __init__(self, rows, d, std):
        super().__init__()
        self.emb = nn.Parameter(torch.randn(rows, d) * std)


def attention(q, k, v, heads, allowed=None):
    """ops.Attention: q [B, Lq, C], k, v [B, Lk, C]; heads split C into
    contiguous chunks of C/heads; scores scaled by 1/√(C/heads); allowed
    (bool, broadcastable to [B, Lq, Lk]) masks keys."""
    B, Lq, C = q.shape
    Lk = k.shape[1]
    d = C // heads
    _count(4 * B * Lq * Lk * C)
    q = q.reshape(B, Lq, heads, d).transpose(1, 2)
    k = k.reshape(B, Lk, heads, d).transpose(1, 2)
    v = v.reshape(B, Lk, heads, d).transpose(1, 2)
    s = torch.matmul(q, k.transpose(-1, -2)) * (1 / math.sqrt(d))
    if allowed is not None:
        s = s.masked_fill(~allowed[:, None], float("-inf"))
    p = torch.softmax(s, dim=-1)
    return torch.matmul(p, v).transpose(1, 2).reshape(B, Lq, C)


class SelfAttention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.q, self.k, self.v = Linear(c, c, False), Linear(c, c, False), Linear(c, c, False)
        self.out = Linear(c, c)
        self.heads = heads

    def forward(self, x, allowed=None):
        return self.out(attention(self.q(x), self.k(x), self.v(x), self.heads, allowed))


class CrossAttention(nn.Module):
    def __init__(self, c, ctx_dim, heads):
        super().__init__()
        self.q = Linear(c, c, False)
        self.k, self.v = Linear(ctx_dim, c, False), Linear(ctx_dim, c, False)
        self.out = Linear(c, c)
        self.heads = heads

    def forward(self, x, ctx, allowed):
        return self.out(attention(self.q(x), self.k(ctx), self.v(ctx), self.heads, allowed))


class FeedForward(nn.Module):
    def __init__(self, c, mult=4):
        super().__init__()
        self.fc1, self.fc2 = Linear(c, mult * c), Linear(mult * c, c)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class ResBlock(nn.Module):
    """nn.Scope.ResBlock on NCHW x and the time embedding temb [B, T]."""

    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = GroupNorm(cin, groups)
        self.conv1 = Conv(cin, cout, 3)
        self.temb = Linear(tdim, cout)
        self.norm2 = GroupNorm(cout, groups)
        self.conv2 = Conv(cout, cout, 3, zero=True)
        self.skip = Linear(cin, cout) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        s = x if self.skip is None else self.skip.conv1x1(x)
        return s + h


def key_mask(lengths, lk):
    """[B, 1, Lk] bool: key j of sample b is used when j < lengths[b]."""
    return (torch.arange(lk)[None, :] < lengths[:, None])[:, None, :]


class SpatialTransformer(nn.Module):
    """nn.Scope.SpatialTransformer on NCHW x, text ctx [B, L, D]."""

    def __init__(self, c, ctx_dim, heads, groups, self_attn):
        super().__init__()
        self.norm = GroupNorm(c, groups)
        self.proj_in = Linear(c, c)
        if self_attn:
            self.ln1 = LayerNorm(c)
            self.attn1 = SelfAttention(c, heads)
        self.ln2 = LayerNorm(c)
        self.attn2 = CrossAttention(c, ctx_dim, heads)
        self.ln3 = LayerNorm(c)
        self.ff = FeedForward(c)
        self.proj_out = Linear(c, c, zero=True)
        self.self_attn = self_attn

    def forward(self, x, ctx, ctx_allowed):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x).flatten(2).transpose(1, 2))  # [B, HW, C]
        if self.self_attn:
            h = h + self.attn1(self.ln1(h))
        h = h + self.attn2(self.ln2(h), ctx, ctx_allowed)
        h = h + self.ff(self.ln3(h))
        h = self.proj_out(h)
        return x + h.transpose(1, 2).reshape(B, C, H, W)


class Box(nn.Module):
    """A named scope with no computation of its own."""


class TextLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = LayerNorm(d)
        self.attn = SelfAttention(d, heads)
        self.ln2 = LayerNorm(d)
        self.ff = FeedForward(d)


class TextEncoder(nn.Module):
    """model.TextEncoder: token + position embeddings, pre-LN causal
    transformer layers with padding keys masked, final LayerNorm."""

    def __init__(self, c):
        super().__init__()
        self.tok = Embedding(c.Vocab, c.TextDim, 0.02)
        self.pos = Embedding(c.MaxLen, c.TextDim, 0.01)
        self.n = c.TextLayers
        for i in range(c.TextLayers):
            setattr(self, "layer%d" % i, TextLayer(c.TextDim, c.TextHeads))
        self.ln_final = LayerNorm(c.TextDim)
        self.heads = c.TextHeads

    def forward(self, ids, lengths):
        B, L = ids.shape
        x = self.tok.emb[ids] + self.pos.emb[None, :L]
        j = torch.arange(L)
        allowed = (j[None, :] <= j[:, None])[None] & key_mask(lengths, L)  # [B, L, L]
        for i in range(self.n):
            l = getattr(self, "layer%d" % i)
            x = x + l.attn(l.ln1(x), allowed)
            x = x + l.ff(l.ln2(x))
        return self.ln_final(x)


class UNet(nn.Module):
    """model.UNet on NCHW x, sinusoids tsin [B, Channels[0]], ctx."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        ch0, last = c.Channels[0], len(c.Channels) - 1
        self.time = Box()
        self.time.fc1 = Linear(ch0, c.TimeDim)
        self.time.fc2 = Linear(c.TimeDim, c.TimeDim)
        self.conv_in = Conv(c.latent_channels(), ch0, 3)

        def st(ch, self_attn):
            return SpatialTransformer(ch, c.TextDim, c.Heads, c.Groups, self_attn)

        skips, cur = [ch0], ch0
        for lv, ch in enumerate(c.Channels):
            d = Box()
            for r in range(c.ResBlocks):
                setattr(d, "res%d" % r, ResBlock(cur, ch, c.TimeDim, c.Groups))
                cur = ch
                if c.CrossAttn[lv]:
                    setattr(d, "attn%d" % r, st(ch, c.SelfAttn[lv]))
                skips.append(ch)
            if lv < last:
                d.downsample = Conv(ch, ch, 3, 2)
                skips.append(ch)
            setattr(self, "down%d" % lv, d)
        self.mid = Box()
        self.mid.res0 = ResBlock(cur, c.Channels[last], c.TimeDim, c.Groups)
        self.mid.attn = st(c.Channels[last], True)
        self.mid.res1 = ResBlock(c.Channels[last], c.Channels[last], c.TimeDim, c.Groups)
        cur = c.Channels[last]
        for lv in range(last, -1, -1):
            u, ch = Box(), c.Channels[lv]
            for r in range(c.ResBlocks + 1):
                setattr(u, "res%d" % r, ResBlock(cur + skips.pop(), ch, c.TimeDim, c.Groups))
                cur = ch
                if c.CrossAttn[lv]:
                    setattr(u, "attn%d" % r, st(ch, c.SelfAttn[lv]))
            if lv > 0:  # to the next level's width (at the higher resolution)
                u.upsample = Conv(ch, c.Channels[lv - 1], 3, 1)
                cur = c.Channels[lv - 1]
            setattr(self, "up%d" % lv, u)
        self.norm_out = GroupNorm(cur, c.Groups)
        self.conv_out = Conv(cur, c.latent_channels(), 3, zero=True)

    def forward(self, x, tsin, ctx, lengths):
        c = self.c
        allowed = key_mask(lengths, ctx.shape[1])
        temb = self.time.fc2(F.silu(self.time.fc1(tsin)))
        h = self.conv_in(x)
        skips = [h]
        last = len(c.Channels) - 1

        def attn(box, r, h, lv):
            return getattr(box, "attn%d" % r)(h, ctx, allowed) if c.CrossAttn[lv] else h

        for lv in range(len(c.Channels)):
            d = getattr(self, "down%d" % lv)
            for r in range(c.ResBlocks):
                h = getattr(d, "res%d" % r)(h, temb)
                h = attn(d, r, h, lv)
                skips.append(h)
            if lv < last:
                h = d.downsample(h)
                skips.append(h)
        h = self.mid.res0(h, temb)
        h = self.mid.attn(h, ctx, allowed)
        h = self.mid.res1(h, temb)
        for lv in range(last, -1, -1):
            u = getattr(self, "up%d" % lv)
            for r in range(c.ResBlocks + 1):
                h = getattr(u, "res%d" % r)(torch.cat([h, skips.pop()], 1), temb)
                h = attn(u, r, h, lv)
            if lv > 0:
                h = u.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def timestep_embedding(t, dim):
    """kernels.TimestepEmbedding: [cos(t·f_i) for i < dim/2, sin(t·f_i)],
    f_i = exp(−ln(10000)·i/(dim/2))."""
    half = dim // 2
    f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
    a = t.to(torch.float64)[:, None] * f[None]
    return torch.cat([torch.cos(a), torch.sin(a)], 1)


class Net(nn.Module):
    """Text encoder + UNet, the root scope of model.Build ("text", "unet")."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.text = TextEncoder(c)
        self.unet = UNet(c)

    def forward(self, x, tsin, ids, lengths):
        """x NCHW [B, C, S, S] (latent space), tsin [B, Channels[0]],
        ids [B, MaxLen], lengths [B]. Returns (prediction, text encoding)."""
        enc = self.text(ids, lengths)
        return self.unet(x, tsin, enc, lengths), enc


# ---------------------------------------------------------------- Go names

def to_go(name, p):
    """A parameter in Go's layout (conv [out,in,K,K] → [K,K,in,out])."""
    return p.permute(2, 3, 1, 0) if p.dim() == 4 else p


def from_go(name, t):
    return t.permute(3, 2, 0, 1) if t.dim() == 4 else t


def go_weights(m, prefix=""):
    """{Go weight name: tensor in Go layout} for module m."""
    return {prefix + n: to_go(n, p.detach()) for n, p in m.named_parameters()}


def load_go_weights(m, w, prefix=""):
    """Fills m's parameters from {Go name: tensor in Go layout}; every
    parameter must be present."""
    with torch.no_grad():
        for n, p in m.named_parameters():
            t = from_go(n, w[prefix + n])
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError("%s: shape %s, want %s" % (n, tuple(t.shape), tuple(p.shape)))
            p.copy_(t)


def count(m):
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------- bench

def cosine_abar(T=1000):
    """diffusion.Cosine(T).AlphasCumprod."""
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = torch.tensor([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def sgemm_gflops(n=1024, reps=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 / ((time.perf_counter() - t0) / reps) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = reference()
    m = Net(c)
    opt = torch.optim.AdamW(m.parameters(), lr=4e-4, weight_decay=0.01)
    abar = cosine_abar().float()
    B, S, C = a.batch, c.latent_size(), c.latent_channels()

    def step():
        x0 = torch.rand(B, C, S, S) * 2 - 1
        t = torch.randint(0, 1000, (B,))
        lengths = torch.randint(2, c.MaxLen + 1, (B,))
        ids = torch.randint(0, c.Vocab, (B, c.MaxLen))
        eps = torch.randn_like(x0)
        ab = abar[t][:, None, None, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        tsin = timestep_embedding(t, c.Channels[0]).float()
        pred, _ = m(xt, tsin, ids, lengths)
        loss = F.mse_loss(pred, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    global FLOPS
    FLOPS = [0]
    with torch.no_grad():
        m(torch.zeros(1, C, S, S), torch.zeros(1, c.Channels[0]), torch.zeros(1, c.MaxLen, dtype=torch.long),
          torch.tensor([c.MaxLen]))
    fwd = FLOPS[0]
    FLOPS = None

    for _ in range(a.warmup):
        step()
    times = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    # CPU seconds used per wall second per thread: well below 1 means the
    # cores were shared with other work and the timing is pessimistic.
    util = (time.process_time() - cpu0) / ((time.perf_counter() - wall0) * torch.get_num_threads())
    times.sort()
    mean = sum(times) / len(times)
    gf = sgemm_gflops()
    print(json.dumps({
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": count(m),
        "params_text": count(m.text),
        "params_unet": count(m.unet),
        "batch": B,
        "step_ms": round(mean * 1000, 1),
        "step_ms_median": round(times[len(times) // 2] * 1000, 1),
        "step_ms_min": round(times[0] * 1000, 1),
        "img_per_s": round(B / mean, 2),
        "fwd_gflop_per_img": round(fwd / 1e9, 3),
        "train_gflops": round(3 * fwd * B / mean / 1e9, 1),
        "sgemm_gflops_1024": round(gf, 1),
        "cpu_util": round(util, 2),
    }))


if __name__ == "__main__":
    main()
