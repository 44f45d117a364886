#!/usr/bin/python3
"""Writes engine/model/testdata/golden_tiny.json: PyTorch (float64)
reference values for engine/model/golden_test.go.

    /usr/bin/python3 build/torch_golden.py

The model is build/bench_torch.py's twin of the Go network; every weight
is stored under its Go name in Go's layout ([in, out] linear, [K, K, in, out]
convolution). Cases:

  resblock     one nn.Scope.ResBlock (channels 4 → 8, so with its 1×1 skip)
  transformer  one SpatialTransformer with self- and cross-attention to a
               padded text (lengths < MaxLen)
  model        the whole model.Tiny() text encoder + UNet (a training Net)
  ddim         the DDIM sampler on the cosine schedule, trailing spacing,
               with the fixed "model" ε = 0.1·x

For the two blocks the test loss is Σ y⊙r (ops.Dot) with a fixed r, and
every weight's gradient is stored; for the model the loss is the plain
ε-MSE (ops.WeightedMSE with unit weights) and a few weights' gradients are
stored in full, plus every weight's gradient norm.

Encoding (to stay small): weights and inputs are exact dyadic numbers,
value = offset + q·scale with q an int8 and scale a power of two, stored as
{"shape", "offset", "scale", "q": base64 of the int8 bytes}; they are
exactly representable in float32 and float64, so both sides compute on the
same numbers. Outputs are {"shape", "data": [float64...]}.
"""
import base64
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch as bt  # noqa: E402

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine", "model", "testdata", "golden_tiny.json")
G = torch.Generator().manual_seed(20240611)


def pow2_at_most(v):
    return 2.0 ** math.floor(math.log2(v))


def qrand(shape, bound, offset=0.0):
    """A random dyadic tensor: offset + q·scale, |q| ≤ 127,
    scale = the power of two ≤ bound/127."""
    scale = pow2_at_most(bound / 127)
    q = torch.randint(-127, 128, tuple(shape), generator=G, dtype=torch.int64)
    return offset + q.to(torch.float64) * scale, (offset, scale, q)


def qnormal(shape, std):
    """Roughly N(0, std²), rounded to a dyadic grid (clamped to ±4σ)."""
    scale = pow2_at_most(4 * std / 127)
    q = (torch.randn(tuple(shape), generator=G, dtype=torch.float64) * std / scale).round().clamp(-127, 127).to(torch.int64)
    return q.to(torch.float64) * scale, (0.0, scale, q)


def enc_q(shape, meta):
    offset, scale, q = meta
    b = q.flatten().to(torch.int8).numpy().tobytes()
    return {"shape": list(shape), "offset": offset, "scale": scale, "q": base64.b64encode(b).decode()}


def enc_f(t):
    t = t.detach().to(torch.float64)
    return {"shape": list(t.shape), "data": [float(v) for v in t.flatten()]}


def gen_weight(name, shape):
    """A test value for Go weight `name` of Go shape `shape`."""
    leaf = name.rsplit(".", 1)[-1]
    parent = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
    if leaf == "g":  # norm scale
        return qrand(shape, 0.25, 1.0)
    if leaf == "b":  # biases and norm shifts
        return qrand(shape, 0.25)
    if leaf == "emb":
        return qrand(shape, 1.0)
    fan_in = int(np.prod(shape[:-1]))  # [in, out] or [K, K, in, out]
    gain = 2.5 if parent in ("q", "k") else 1.0  # sharper attention
    return qrand(shape, gain / math.sqrt(fan_in))


def make_weights(module, prefix):
    """Random weights for every parameter of module, loaded into it;
    returns {Go name: encoded}."""
    gw = bt.go_weights(module, prefix)
    vals, encs = {}, {}
    for name, t in gw.items():
        v, meta = gen_weight(name, t.shape)
        vals[name], encs[name] = v, enc_q(t.shape, meta)
    bt.load_go_weights(module, vals, prefix)
    return encs


def grads(module, prefix):
    return {prefix + n: bt.to_go(n, p.grad) for n, p in module.named_parameters()}


def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def case_resblock():
    N, H, W, cin, cout, T, groups = 2, 3, 4, 4, 8, 8, 2
    m = bt.ResBlock(cin, cout, T, groups).double()
    ws = make_weights(m, "rb.")
    x, xq = qnormal([N, H, W, cin], 1.0)
    temb, tq = qnormal([N, T], 1.0)
    r, rq = qnormal([N, H, W, cout], 1.0)
    y = nhwc(m(nchw(x), temb))
    (y * r).sum().backward()
    return {
        "scope": "rb", "out": cout, "groups": groups,
        "weights": ws,
        "x": enc_q(x.shape, xq), "temb": enc_q(temb.shape, tq), "r": enc_q(r.shape, rq),
        "y": enc_f(y),
        "grads": {k: enc_f(v) for k, v in grads(m, "rb.").items()},
    }


def case_transformer():
    N, H, W, C, L, D, heads, groups = 2, 2, 3, 8, 5, 6, 2, 2
    lengths = [2, 4]
    m = bt.SpatialTransformer(C, D, heads, groups, True).double()
    ws = make_weights(m, "st.")
    x, xq = qnormal([N, H, W, C], 1.0)
    ctx, cq = qnormal([N, L, D], 1.0)
    r, rq = qnormal([N, H, W, C], 1.0)
    y = nhwc(m(nchw(x), ctx, bt.key_mask(torch.tensor(lengths), L)))
    (y * r).sum().backward()
    return {
        "scope": "st", "heads": heads, "groups": groups, "self_attn": True, "lengths": lengths,
        "weights": ws,
        "x": enc_q(x.shape, xq), "ctx": enc_q(ctx.shape, cq), "r": enc_q(r.shape, rq),
        "y": enc_f(y),
        "grads": {k: enc_f(v) for k, v in grads(m, "st.").items()},
    }


GRAD_NAMES = [
    "text.tok.emb", "text.pos.emb", "text.layer0.ln1.g", "text.layer0.attn.q.w", "text.ln_final.b",
    "unet.time.fc1.w", "unet.conv_in.w", "unet.down0.res0.norm1.g", "unet.down0.downsample.b",
    "unet.down1.attn0.attn2.k.w", "unet.mid.attn.attn1.q.w", "unet.up1.res1.skip.w",
    "unet.up1.upsample.b", "unet.up0.res0.temb.w", "unet.conv_out.w", "unet.conv_out.b",
]


def case_model():
    c = bt.tiny()
    B, S, C = 2, c.latent_size(), c.latent_channels()
    m = bt.Net(c).double()
    ws = make_weights(m, "")
    x, xq = qnormal([B, S, S, C], 1.0)
    target, tq = qnormal([B, S, S, C], 1.0)
    t = [999.0, 37.0]
    ids = [[1, 7, 12, 2, 0], [1, 3, 19, 8, 2]]
    lengths = [3, 5]
    tsin = bt.timestep_embedding(torch.tensor(t, dtype=torch.float64), c.Channels[0])
    out, enc = m(nchw(x), tsin, torch.tensor(ids), torch.tensor(lengths))
    out = nhwc(out)
    loss = ((out - target) ** 2).mean()
    loss.backward()
    g = grads(m, "")
    return {
        "batch": B, "weights": ws,
        "x": enc_q(x.shape, xq), "target": enc_q(target.shape, tq),
        "t": t, "ids": [i for row in ids for i in row], "lengths": lengths,
        "tsin": enc_f(tsin), "enc": enc_f(enc), "out": enc_f(out), "loss": float(loss),
        "grads": {k: enc_f(g[k]) for k in GRAD_NAMES},
        "grad_norms": {k: float(v.norm()) for k, v in g.items()},
    }


def case_ddim():
    """diffusers' DDIMScheduler (η = 0, set_alpha_to_one, no clipping) with
    trailing spacing on the cosine ("squaredcos_cap_v2") schedule in
    float64, driven by ε̂ = 0.1·x. Every step is then x' = c_i·x with
    c_i = √ᾱ'·(1 − 0.1·√(1−ᾱ))/√ᾱ + 0.1·√(1−ᾱ'), so the trajectory from
    any start x_T is x_i = (Π_{j<i} c_j)·x_T."""
    T, steps, k = 1000, 5, 0.1
    ts = (np.round(np.arange(T, 0, -T / steps)).astype(np.int64) - 1).tolist()
    ac = bt.cosine_abar(T).tolist()
    scales = []
    for i, t in enumerate(ts):
        a, ap = ac[t], (ac[ts[i + 1]] if i + 1 < steps else 1.0)
        # one DDIM step on x = 1 (the step is linear in x)
        x, eps = 1.0, k * 1.0
        x0 = (x - math.sqrt(1 - a) * eps) / math.sqrt(a)
        scales.append(math.sqrt(ap) * x0 + math.sqrt(1 - ap) * eps)
    return {
        "T": T, "steps": steps, "spacing": "trailing", "schedule": "cosine", "eps_scale": k,
        "timesteps": ts, "alphas_cumprod": [ac[t] for t in ts],
        "alphas_cumprod_0": ac[0], "alphas_cumprod_last": ac[-1],
        "step_scales": scales,
    }


def main():
    ref = bt.Net(bt.reference())
    data = {
        "generator": "build/torch_golden.py",
        "torch_version": torch.__version__,
        "reference_params": {"total": bt.count(ref), "text": bt.count(ref.text), "unet": bt.count(ref.unet)},
        "resblock": case_resblock(),
        "transformer": case_transformer(),
        "model": case_model(),
        "ddim": case_ddim(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    s = json.dumps(data, separators=(",", ":"))
    with open(OUT, "w") as f:
        f.write(s + "\n")
    print("wrote %s (%d bytes)" % (os.path.normpath(OUT), len(s) + 1))


if __name__ == "__main__":
    main()
