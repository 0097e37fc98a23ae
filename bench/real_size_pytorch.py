#!/usr/bin/env python3
"""PyTorch f32 baselines for bench/real-size.ts, one figure per process.

    python3 bench/real_size_pytorch.py SUBCOMMAND --model DIR [options]

DIR is a Hugging Face folder (config.json + model.safetensors) of a LLaMA or Qwen2 model,
as bench/real-size.ts writes under .t2-cache/real-size/<model>/. The BF16 weights are read
by hand (no safetensors / transformers packages: 8-byte little-endian header length, JSON
header, raw data) and widened to float32; the decoder below is plain torch: RMSNorm,
rotate-half RoPE with rope_theta, grouped-query attention, q/k/v biases for qwen2, SwiGLU
MLP, tied embeddings.

Each subcommand prints one JSON line on stdout and is meant to run in its own process
under /usr/bin/time, so that its peak RSS is that figure's alone, as for t2's CLI:

  load                 read the weights, build the model, logits of 2 tokens (the whole
                       process's wall time is the figure, like `t2 logits`)
  decode               greedy decoding with a KV cache, batch 1; tok/s = new tokens / time
                       from the start of the prefill to the last token (as `t2 generate`
                       reports it)
  prefill              one forward pass over --tokens prompt tokens and the next token;
                       tok/s = prompt tokens / that time
  svd                  torch.linalg.svd (full_matrices=False, f32) of every MLP weight
                       (gate/up/down of every layer), total seconds
  bone                 one Bone training step (t2 train --method bone defaults)
  reinforce            one REINFORCE step on SVF experts (t2 rl defaults)

Threads: --threads N (default 2) sets torch.set_num_threads(N) and, unless already set in
the environment, OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (Debian's torch does its matmuls
in the system BLAS, whose own thread pool only the environment sets reliably) and
OMP_WAIT_POLICY=PASSIVE (so the two pools do not spin against each other).

--data FILE (bone, reinforce) is the JSON that bench/real-size.ts writes: the training
examples already tokenized by t2 (so both sides see the same token ids), the RL prompts,
their reference answers and the stop ids.
"""

import argparse
import json
import os
import struct
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(name, help_text):
        s = sub.add_parser(name, help=help_text)
        s.add_argument("--model", required=True, help="folder with config.json, model.safetensors")
        s.add_argument("--threads", type=int, default=2)
        return s

    common("load", "load the model and compute the logits of 2 tokens")
    d = common("decode", "greedy decoding tok/s, batch 1, KV cache")
    d.add_argument("--prompt-tokens", type=int, default=8)
    d.add_argument("--new-tokens", type=int, default=32)
    d.add_argument("--ids", help="prompt token ids, comma-separated (default: bench ids)")
    f = common("prefill", "prompt processing tok/s")
    f.add_argument("--tokens", type=int, default=256)
    f.add_argument("--ids", help="prompt token ids, comma-separated (default: bench ids)")
    common("svd", "thin SVD of every MLP weight")
    b = common("bone", "one Bone step")
    b.add_argument("--data", required=True, help="the JSON written by bench/real-size.ts")
    b.add_argument("--batch", type=int, default=2)
    b.add_argument("--r", type=int, default=8, help="Bone block size (t2 train --r default 8)")
    b.add_argument("--repeat", type=int, default=2, help="timed steps after one warm-up step")
    r = common("reinforce", "one REINFORCE step, SVF on the MLP weights")
    r.add_argument("--data", required=True, help="the JSON written by bench/real-size.ts")
    r.add_argument("--batch", type=int, default=8, help="rollouts per step")
    r.add_argument("--new-tokens", type=int, default=64)
    r.add_argument("--repeat", type=int, default=2, help="timed steps after one warm-up step")
    return p.parse_args()


ARGS = parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
# torch's OpenMP threads otherwise spin after each parallel region while OpenBLAS's threads
# want the same cores: on this 2-core machine a 256-token prefill took 4-7 s that way
# against ~1 s with passive waiting.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402  (after the BLAS thread count is in the environment)
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.threads)
PROCESS_START = time.perf_counter()
MLP = ("gate_proj", "up_proj", "down_proj")
ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_safetensors(path):
    """Every tensor of a .safetensors file as float32 (BF16/F16 widened, F32 as is)."""
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            shape, dtype = info["shape"], info["dtype"]
            buf = bytearray(end - start)
            f.seek(base + start)
            f.readinto(buf)
            if dtype == "BF16":
                # bfloat16 is the high half of a float32: on a little-endian machine, the
                # second int16 of each pair. Write the bits there and reinterpret.
                pairs = torch.zeros(len(buf) // 2, 2, dtype=torch.int16)
                if len(buf):
                    pairs[:, 1] = torch.frombuffer(buf, dtype=torch.int16)
                t = pairs.view(torch.float32).reshape(shape)
            elif dtype == "F16":
                t = torch.frombuffer(buf, dtype=torch.float16).float().reshape(shape)
            elif dtype == "F32":
                t = torch.frombuffer(buf, dtype=torch.float32).reshape(shape)
            else:
                raise SystemExit(f"{path}: {name} has dtype {dtype}, not BF16/F16/F32")
            out[name] = t
    return out


class Decoder:
    """A LLaMA / Qwen2 decoder over plain f32 tensors (HF names, HF semantics).

    `adapter(i, name, x, weight, bias)`, when set, replaces each projection of layer i
    (q/k/v/o, gate/up/down) and is how Bone and SVF hook in.
    """

    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            c = json.load(f)
        self.config = c
        w = read_safetensors(os.path.join(folder, "model.safetensors"))
        self.dim = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or self.dim // self.heads
        self.eps = c["rms_norm_eps"]
        self.vocab = c["vocab_size"]
        self.embed = w.pop("model.embed_tokens.weight")
        lm_head = w.pop("lm_head.weight", None)
        if lm_head is None and not c.get("tie_word_embeddings", False):
            raise SystemExit(f"{folder}: no lm_head.weight and tie_word_embeddings is false")
        self.lm_head = self.embed if lm_head is None else lm_head
        self.norm = w.pop("model.norm.weight")
        self.layers = []
        for i in range(c["num_hidden_layers"]):
            pre = f"model.layers.{i}."
            layer = {
                "input_layernorm": w.pop(pre + "input_layernorm.weight"),
                "post_attention_layernorm": w.pop(pre + "post_attention_layernorm.weight"),
            }
            for name in ATTN:
                layer[name] = w.pop(f"{pre}self_attn.{name}.weight")
                layer[name + ".bias"] = w.pop(f"{pre}self_attn.{name}.bias", None)
            for name in MLP:
                layer[name] = w.pop(f"{pre}mlp.{name}.weight")
                layer[name + ".bias"] = None
            self.layers.append(layer)
        if w:
            log(f"unused tensors: {sorted(w)[:5]}…")
        theta = float(c.get("rope_theta", 10000.0))
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim
        self.inv_freq = 1.0 / (theta**exponents)
        self.adapter = None

    def linear(self, i, name, x):
        layer = self.layers[i]
        if self.adapter is not None:
            return self.adapter(i, name, x, layer[name], layer[name + ".bias"])
        return F.linear(x, layer[name], layer[name + ".bias"])

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def hidden(self, ids, pos, caches=None, start=0, mask=None):
        """Final-norm hidden states [B, T, dim] of ids [B, T] at positions pos [B, T].

        caches: per layer (k, v) buffers [B, kv_heads, capacity, head_dim], written at
        start..start+T; mask: additive [B, 1, T, start+T] (None: no masking, T == 1).
        """
        b, t = ids.shape
        angles = pos[..., None].float() * self.inv_freq  # [B, T, head_dim/2]
        angles = torch.cat((angles, angles), dim=-1)[:, None]  # [B, 1, T, head_dim]
        cos, sin = angles.cos(), angles.sin()
        rep = self.heads // self.kv_heads
        scale = self.head_dim**-0.5
        x = F.embedding(ids, self.embed)
        for i, layer in enumerate(self.layers):
            h = self.rms(x, layer["input_layernorm"])
            q = self.linear(i, "q_proj", h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = self.linear(i, "k_proj", h).view(b, t, self.kv_heads, self.head_dim)
            v = self.linear(i, "v_proj", h).view(b, t, self.kv_heads, self.head_dim)
            k, v = k.transpose(1, 2), v.transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if caches is not None:
                ck, cv = caches[i]
                ck[:, :, start : start + t] = k
                cv[:, :, start : start + t] = v
                k, v = ck[:, :, : start + t], cv[:, :, : start + t]
            s = k.shape[2]
            # Grouped-query attention without copying k/v: query head h reads kv head
            # h // rep, so the rep heads of a group are stacked as extra query rows.
            qg = q.reshape(b, self.kv_heads, rep * t, self.head_dim)
            scores = (qg @ k.transpose(2, 3)) * scale
            if mask is not None:
                scores = (scores.view(b, self.kv_heads, rep, t, s) + mask[:, :, None]).view(
                    b, self.kv_heads, rep * t, s
                )
            a = (F.softmax(scores, dim=-1) @ v).view(b, self.heads, t, self.head_dim)
            a = a.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
            x = x + self.linear(i, "o_proj", a)
            h = self.rms(x, layer["post_attention_layernorm"])
            gate = self.linear(i, "gate_proj", h)
            up = self.linear(i, "up_proj", h)
            x = x + self.linear(i, "down_proj", F.silu(gate) * up)
        return self.rms(x, self.norm)

    def logits(self, hidden):
        return hidden @ self.lm_head.t()

    def new_caches(self, batch, capacity):
        shape = (batch, self.kv_heads, capacity, self.head_dim)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in self.layers]

    def mlp_weights(self):
        return [((i, name), layer[name]) for i, layer in enumerate(self.layers) for name in MLP]


def attention_mask(batch, t, s, start, pad=None):
    """Additive mask [B, 1, t, s]: causal for queries at start..start+t, and no keys in
    each row's left padding (pad[b] positions). Finite, so a padding query's row (which
    may see no key at all) stays finite; its output is never used."""
    qpos = torch.arange(start, start + t)[:, None]
    kpos = torch.arange(s)[None, :]
    allowed = (kpos <= qpos)[None].expand(batch, t, s)
    if pad is not None:
        allowed = allowed & (kpos[None] >= pad[:, None, None])
    mask = torch.zeros(batch, 1, t, s)
    return mask.masked_fill_(~allowed[:, None], -1e9)


@torch.no_grad()
def generate(model, prompts, new_tokens, stop=()):
    """Greedy decoding of a batch of prompts (left-padded) with a KV cache.

    Returns each row's new tokens; a row ends at its first stop id (kept), the batch at
    new_tokens or when every row has ended."""
    b = len(prompts)
    p = max(len(x) for x in prompts)
    pad = torch.tensor([p - len(x) for x in prompts])
    ids = torch.tensor([[0] * (p - len(x)) + list(x) for x in prompts])
    pos = (torch.arange(p)[None] - pad[:, None]).clamp(min=0)
    padded = bool(pad.any())
    caches = model.new_caches(b, p + new_tokens)
    mask = attention_mask(b, p, p, 0, pad if padded else None) if p > 1 or padded else None
    h = model.hidden(ids, pos, caches, 0, mask)
    logits = model.logits(h[:, -1])
    out = [[] for _ in prompts]
    done = [False] * b
    for step in range(new_tokens):
        nxt = logits.argmax(-1)
        for row, tok in enumerate(nxt.tolist()):
            if not done[row]:
                out[row].append(tok)
                done[row] = tok in stop
        if all(done) or step == new_tokens - 1:
            break
        start = p + step
        mask = attention_mask(b, 1, start + 1, start, pad) if padded else None
        h = model.hidden(nxt[:, None], (start - pad)[:, None], caches, start, mask)
        logits = model.logits(h[:, -1])
    return out


def bench_ids(n, seed, vocab):
    """bench/real-size.ts's prompt ids (it passes them explicitly; this is the fallback)."""
    return [100 + ((i * 7919 + seed * 104729) % (vocab - 1000)) for i in range(n)]


def parse_ids(text):
    return [int(x) for x in text.split(",") if x.strip()]


def emit(**fields):
    fields.update(
        threads=ARGS.threads,
        blas_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
        torch=torch.__version__,
        process_seconds=round(time.perf_counter() - PROCESS_START, 3),
    )
    print(json.dumps(fields), flush=True)


def load_model():
    t0 = time.perf_counter()
    model = Decoder(ARGS.model)
    return model, time.perf_counter() - t0


def cmd_load():
    model, seconds = load_model()
    ids = torch.tensor([[1, 2]])
    with torch.no_grad():
        h = model.hidden(ids, torch.arange(2)[None], mask=attention_mask(1, 2, 2, 0))
        logits = model.logits(h)
    emit(figure="load", load_seconds=round(seconds, 3), argmax=logits.argmax(-1)[0].tolist())


def cmd_decode():
    model, _ = load_model()
    ids = (
        parse_ids(ARGS.ids)
        if ARGS.ids
        else bench_ids(ARGS.prompt_tokens, 1, model.vocab)
    )
    # No warm-up: t2 generate's rate is also that of the first generation in its process.
    t0 = time.perf_counter()
    tokens = generate(model, [ids], ARGS.new_tokens)[0]
    seconds = time.perf_counter() - t0
    emit(
        figure="decode",
        prompt_tokens=len(ids),
        new_tokens=len(tokens),
        seconds=round(seconds, 4),
        tok_per_s=round(len(tokens) / seconds, 2),
        tokens=tokens,
    )


def cmd_prefill():
    model, _ = load_model()
    ids = parse_ids(ARGS.ids) if ARGS.ids else bench_ids(ARGS.tokens, 2, model.vocab)
    # The prompt's forward pass and the next token (the LM head on the last position only,
    # as a decoder does), like `t2 generate --max-new-tokens 1`.
    t0 = time.perf_counter()
    tokens = generate(model, [ids], 1)[0]
    seconds = time.perf_counter() - t0
    emit(
        figure="prefill",
        prompt_tokens=len(ids),
        seconds=round(seconds, 4),
        tok_per_s=round(len(ids) / seconds, 1),
        next_token=tokens[0],
    )


def svd_all(model):
    factors = {}
    t0 = time.perf_counter()
    for key, weight in model.mlp_weights():
        factors[key] = torch.linalg.svd(weight, full_matrices=False)
    return factors, time.perf_counter() - t0


def cmd_svd():
    model, _ = load_model()
    factors, seconds = svd_all(model)
    emit(figure="svd", matrices=len(factors), seconds=round(seconds, 3))


def read_data():
    with open(ARGS.data) as f:
        return json.load(f)


def timed_steps(step):
    """One warm-up step, then ARGS.repeat timed ones: their median and all of them.

    t2's figure is the difference of two whole runs (2 steps − 1 step), i.e. one step
    after the first; timing the step itself after a warm-up measures the same thing."""
    step()
    times = []
    for _ in range(ARGS.repeat):
        t0 = time.perf_counter()
        info = step()
        times.append(time.perf_counter() - t0)
    ordered = sorted(times)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return median, times, info


def cmd_bone():
    """t2 train --method bone defaults: r 8 on every Linear but lm_head (all-linear), zero
    blocks [r, out]; loss = summed cross-entropy over the answer tokens / their count;
    gradient-norm clip 1; AdamW (lr 1e-3, no weight decay)."""
    model, _ = load_model()
    examples = read_data()["bone"]["examples"]
    r = ARGS.r
    blocks = {}
    for i, layer in enumerate(model.layers):
        for name in ATTN + MLP:
            blocks[(i, name)] = torch.zeros(r, layer[name].shape[0], requires_grad=True)

    def bone(i, name, x, weight, bias):
        y = F.linear(x, weight, bias)
        block = blocks[(i, name)]
        n = x.shape[-1]
        extra = (-n) % r
        xp = F.pad(x, (0, extra)) if extra else x
        # (Σ_g x_g) B: the input cut into r-wide groups, summed, times the block.
        return y + xp.view(*x.shape[:-1], (n + extra) // r, r).sum(-2) @ block

    model.adapter = bone
    params = list(blocks.values())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
    cursor = [0]

    def batch():
        picked = [examples[(cursor[0] + j) % len(examples)] for j in range(ARGS.batch)]
        cursor[0] += ARGS.batch
        # Right-padded; position t predicts token t + 1; padding and prompts carry no loss.
        t = max(len(e["inputIds"]) for e in picked)
        ids = torch.tensor([e["inputIds"] + [0] * (t - len(e["inputIds"])) for e in picked])
        targets = torch.full((len(picked), t), -100, dtype=torch.long)
        for row, e in enumerate(picked):
            n = len(e["inputIds"])
            targets[row, : n - 1] = torch.tensor(e["labels"][1:n], dtype=torch.long)
        return ids, targets

    def step():
        ids, targets = batch()
        b, t = ids.shape
        h = model.hidden(ids, torch.arange(t)[None].expand(b, t), mask=attention_mask(b, t, t, 0))
        logits = model.logits(h)
        count = int((targets != -100).sum())
        loss = F.cross_entropy(
            logits.view(-1, model.vocab), targets.view(-1), ignore_index=-100, reduction="sum"
        )
        loss = loss / max(count, 1)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return dict(loss=round(float(loss), 4), batch_tokens=b * t, targets=count)

    median, times, info = timed_steps(step)
    emit(
        figure="bone",
        seconds=round(median, 4),
        steps=[round(x, 4) for x in times],
        r=r,
        trainable=sum(p.numel() for p in params),
        batch=ARGS.batch,
        **info,
    )


def cmd_reinforce():
    """t2 rl defaults: SVF experts z on gate/up/down of every layer, W' = U diag(σ ⊙ m) Vᵀ ·
    Σσ/Σ(σ ⊙ m) with m = sigmoid(z) (maxMult 1), z = 0.1 + 0.01·noise; per step one greedy
    answer (temperature 0) per prompt, stopped at EOS or the newline token; exact-match
    reward (here on token ids); loss = Σ_tokens −log p(a_t) · r_b / B (the batch mean of
    −Σ_t log p · r, no reward normalisation); gradient-norm clip 1e-3; Adam (lr 2e-3)."""
    model, _ = load_model()
    data = read_data()["rl"]
    prompts = data["prompts"][: ARGS.batch]
    while len(prompts) < ARGS.batch:
        prompts.append(data["prompts"][len(prompts) % len(data["prompts"])])
    answers = {tuple(p): a for p, a in zip(data["prompts"], data["answers"])}
    stop = set(data["stop"])
    # The SVD is outside the timed step: t2's figure subtracts a run with the SVD cached.
    factors, svd_seconds = svd_all(model)
    gen = torch.Generator().manual_seed(0)
    zs = {
        key: (0.1 + 0.01 * torch.randn(s.shape[0], generator=gen)).requires_grad_(True)
        for key, (_, s, _) in factors.items()
    }

    def compose(key, z):
        u, s, vh = factors[key]
        masked = s * torch.sigmoid(z)
        return (u * (masked * (s.sum() / masked.sum()))) @ vh

    params = list(zs.values())
    opt = torch.optim.Adam(params, lr=2e-3, betas=(0.9, 0.999))

    def step():
        # Rollouts: W' composed once for this z (no autograd), as t2 caches it.
        with torch.no_grad():
            fixed = {key: compose(key, z) for key, z in zs.items()}
        model.adapter = lambda i, name, x, w, b: F.linear(x, fixed.get((i, name), w), b)
        outs = generate(model, prompts, ARGS.new_tokens, stop)
        del fixed
        rewards = []
        for p, a in zip(prompts, outs):
            body = a[:-1] if a and a[-1] in stop else a
            rewards.append(1.0 if body == answers.get(tuple(p)) else 0.0)
        # The policy loss: teacher-forced over prompt + answer (right-padded), the LM head on
        # the answer positions only; W' recomposed through autograd on each use.
        model.adapter = lambda i, name, x, w, b: (
            F.linear(x, compose((i, name), zs[(i, name)]), b)
            if (i, name) in zs
            else F.linear(x, w, b)
        )
        inputs = [(p + a)[:-1] for p, a in zip(prompts, outs)]
        t = max(len(x) for x in inputs)
        b = len(inputs)
        ids = torch.tensor([x + [0] * (t - len(x)) for x in inputs])
        rows, targets, weights = [], [], []
        for item, (p, a) in enumerate(zip(prompts, outs)):
            for j, tok in enumerate(a):
                rows.append(item * t + len(p) - 1 + j)
                targets.append(tok)
                weights.append(rewards[item] / b)
        h = model.hidden(ids, torch.arange(t)[None].expand(b, t), mask=attention_mask(b, t, t, 0))
        picked = h.reshape(b * t, model.dim)[torch.tensor(rows)]
        nll = F.cross_entropy(model.logits(picked), torch.tensor(targets), reduction="none")
        loss = (nll * torch.tensor(weights)).sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1e-3)
        opt.step()
        model.adapter = None
        return dict(
            loss=round(float(loss), 6),
            mean_reward=sum(rewards) / b,
            mean_answer_tokens=sum(len(a) for a in outs) / b,
        )

    median, times, info = timed_steps(step)
    emit(
        figure="reinforce",
        seconds=round(median, 4),
        steps=[round(x, 4) for x in times],
        svd_seconds=round(svd_seconds, 3),
        rollouts=ARGS.batch,
        max_new_tokens=ARGS.new_tokens,
        trainable=sum(p.numel() for p in params),
        **info,
    )


if __name__ == "__main__":
    {
        "load": cmd_load,
        "decode": cmd_decode,
        "prefill": cmd_prefill,
        "svd": cmd_svd,
        "bone": cmd_bone,
        "reinforce": cmd_reinforce,
    }[ARGS.cmd]()
