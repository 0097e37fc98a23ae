#!/usr/bin/env python3
"""PyTorch baselines for `npm run bench`: the same shapes as the t2 benches, on the CPU.

Install (Debian 12 ships torch 1.13):

    sudo apt-get install python3-torch
    sudo apt-get install libopenblas0-pthread   # recommended, see below

Debian's python3-torch calls the system BLAS (libblas.so.3) for matmul and Linear. With
only libblas3 installed that is the reference Fortran BLAS, a few GFLOP/s, which would
make a poor baseline; libopenblas0-pthread switches libblas.so.3 to OpenBLAS (the issue's
PyTorch figures are PyTorch 1.13 + OpenBLAS). The BLAS in use is reported as env.blas.

Threads: torch.set_num_threads sets torch's own (OpenMP) threads, not OpenBLAS's, which
only OPENBLAS_NUM_THREADS sets reliably (once OpenBLAS has started its threads, lowering
the count at run time left a training step 5x slower here). Two thread pools spinning on
the same cores can be many times slower than one (a training step: 1,200 tokens/s with
OpenBLAS on all threads vs 9,000 with OpenBLAS on one), and which is faster depends on the
shapes and on what else runs (a thread the OS does not schedule stalls the others at
every barrier). So every case runs in a fresh process with OPENBLAS_NUM_THREADS set, and
each model figure is the best of torch on all threads with OpenBLAS on 1 and on all
threads, and torch and OpenBLAS on 1 thread; all are reported (by_threads).

Usage: python3 bench/pytorch_bench.py [--json] [--quick] [--threads N]
       (--case NAME runs one case in this process and prints its figures as JSON)

Figures (median of timed runs after warm-up):
  matmul/<m>x<k>x<n>/pytorch-1thread, .../pytorch-all-threads: float32 C = A @ B, GFLOP/s
  train/stories260K/pytorch: one AdamW step, batch 8 x seq 256, tokens/s
  generate/stories260K/pytorch, generate/stories15M/pytorch: greedy decoding from token 1
      with a preallocated KV cache, batch 1, tokens/s (256 and 128 new tokens, as in
      packages/llama/bench/bench.ts)
The LLaMA below is minimal (RMSNorm, rotary embedding, grouped-query attention, SwiGLU,
tied LM head) and randomly initialised: only the shapes matter for speed.
With --json the figures go to stdout as one JSON object and progress to stderr.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# llama2.c's stories260K (../shared/fixtures/stories260K/hf/config.json) and stories15M.
STORIES_260K = dict(dim=64, layers=5, heads=8, kv_heads=4, hidden=172, vocab=512, max_seq=512)
STORIES_15M = dict(dim=288, layers=6, heads=6, kv_heads=6, hidden=768, vocab=32000, max_seq=256)
MATMUL_SHAPES = [(512, 512, 512), (256, 64, 172)]


def loaded_blas():
    """The BLAS libraries mapped into this process (real paths)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {os.path.realpath(line.split()[-1]) for line in f if ".so" in line}
    except OSError:
        return "unknown"
    names = ("blas", "blis", "mkl_rt")
    return ", ".join(sorted(p for p in paths if any(n in os.path.basename(p) for n in names)))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    """Rotates interleaved pairs of x [batch, seq, heads, head_dim] (llama2.c's layout)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(3)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads = c["heads"], c["kv_heads"]
        self.head_dim = c["dim"] // c["heads"]
        dim, hd = c["dim"], self.head_dim
        self.attn_norm = RMSNorm(dim)
        self.wq = nn.Linear(dim, self.heads * hd, bias=False)
        self.wk = nn.Linear(dim, self.kv_heads * hd, bias=False)
        self.wv = nn.Linear(dim, self.kv_heads * hd, bias=False)
        self.wo = nn.Linear(self.heads * hd, dim, bias=False)
        self.ffn_norm = RMSNorm(dim)
        self.w1 = nn.Linear(dim, c["hidden"], bias=False)
        self.w2 = nn.Linear(c["hidden"], dim, bias=False)
        self.w3 = nn.Linear(dim, c["hidden"], bias=False)

    def forward(self, x, cos, sin, mask, cache, pos):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(b, t, self.heads, self.head_dim), cos, sin)
        k = rope(self.wk(h).view(b, t, self.kv_heads, self.head_dim), cos, sin)
        v = self.wv(h).view(b, t, self.kv_heads, self.head_dim)
        if cache is not None:
            # Written in place into buffers sized for the whole context.
            ck, cv = cache
            ck[:, pos : pos + t] = k
            cv[:, pos : pos + t] = v
            k, v = ck[:, : pos + t], cv[:, : pos + t]
        rep = self.heads // self.kv_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        a = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, -1)
        x = x + self.wo(a)
        g = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(g)) * self.w3(g))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["vocab"], c["dim"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["dim"])
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        hd = c["dim"] // c["heads"]
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        angles = torch.outer(torch.arange(c["max_seq"]).float(), inv)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, ids, caches=None, pos=0):
        t = ids.shape[1]
        cos, sin = self.cos[pos : pos + t], self.sin[pos : pos + t]
        mask = None
        if t > 1:
            # Causal over the t new positions after `pos` cached ones.
            mask = torch.full((t, pos + t), float("-inf")).triu(pos + 1)
        x = self.embed(ids)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, mask, caches[i] if caches else None, pos)
        # Tied LM head, as in llama2.c's stories models.
        return self.norm(x) @ self.embed.weight.t()


def median_seconds(fn, min_seconds, min_reps, warmup=2, max_reps=1000):
    """Median wall time of repeated runs of fn after warm-up runs."""
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < max_reps and (
        len(samples) < min_reps or time.perf_counter() - start < min_seconds
    ):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), len(samples)


def bench_matmul(threads, quick, log):
    label = "1thread" if threads == 1 else "all-threads"
    out = []
    for m, k, n in MATMUL_SHAPES:
        g = torch.Generator().manual_seed(m + k + n)
        a = torch.rand(m, k, generator=g) * 2 - 1
        b = torch.rand(k, n, generator=g) * 2 - 1
        sec, reps = median_seconds(lambda: torch.mm(a, b), 0.2 if quick else 1.0, 5)
        gflops = 2 * m * k * n / sec / 1e9
        out.append(
            dict(
                name=f"matmul/{m}x{k}x{n}/pytorch-{label}",
                value=round(gflops, 2),
                unit="GFLOP/s",
                better="higher",
                threads=threads,
                ms=round(sec * 1e3, 4),
                reps=reps,
            )
        )
        log(f"matmul {m}x{k}x{n} pytorch, {threads} thread(s): {gflops:.2f} GFLOP/s")
    return out


def bench_train(threads, quick, log):
    batch, seq, c = 8, 256, STORIES_260K
    torch.manual_seed(2)
    model = Llama(c)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(c["vocab"], (batch, seq))
    targets = torch.cat([ids[:, 1:], torch.full((batch, 1), -100)], dim=1)
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, c["vocab"]), targets.reshape(-1), ignore_index=-100)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    sec, reps = median_seconds(step, 0.5 if quick else 3.0, 3 if quick else 8)
    tps = batch * seq / sec
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "?")
    log(f"train stories260K, torch {threads} thread(s), OpenBLAS {blas}: {tps:.0f} tokens/s")
    return [
        dict(
            name="train/stories260K/pytorch",
            value=round(tps),
            unit="tokens/s",
            better="higher",
            threads=threads,
            ms_per_step=round(sec * 1e3, 1),
            steps=len(losses),
            # Over every step run, warm-up included: it should fall from ln 512 = 6.24.
            loss_first=round(losses[0], 4),
            loss_last=round(losses[-1], 4),
        )
    ]


def generate(model, count):
    """Greedy decoding of `count` tokens after token 1 with a preallocated KV cache."""
    c = model.c
    hd = c["dim"] // c["heads"]
    shape = (1, c["max_seq"], c["kv_heads"], hd)
    caches = [(torch.zeros(shape), torch.zeros(shape)) for _ in range(c["layers"])]
    token = torch.tensor([[1]])
    out = []
    with torch.inference_mode():
        for pos in range(count):
            logits = model(token, caches, pos)
            token = logits[:, -1].argmax(-1, keepdim=True)
            out.append(token.item())
    return out


def bench_generate(name, c, tokens, threads, quick, log):
    torch.manual_seed(3)
    model = Llama(c).eval()

    sec, reps = median_seconds(
        lambda: generate(model, tokens), 0.5 if quick else 2.0, 2 if quick else 3, 1 if quick else 2
    )
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "?")
    log(f"generate {name}, torch {threads} thread(s), OpenBLAS {blas}: {tokens / sec:.1f} tokens/s")
    return [
        dict(
            name=f"generate/{name}/pytorch",
            value=round(tokens / sec, 1),
            unit="tokens/s",
            better="higher",
            threads=threads,
            tokens=tokens,
            runs=reps,
        )
    ]


CASES = {
    "matmul": lambda threads, quick, log: bench_matmul(threads, quick, log),
    "train": lambda threads, quick, log: bench_train(threads, quick, log),
    "generate-stories260K": lambda threads, quick, log: bench_generate(
        "stories260K", STORIES_260K, 256, threads, quick, log
    ),
    "generate-stories15M": lambda threads, quick, log: bench_generate(
        "stories15M", STORIES_15M, 128, threads, quick, log
    ),
}


def run_case(case, threads, blas_threads, quick):
    """One case's figures, from a fresh process: torch on threads, OpenBLAS on blas_threads."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--case", case, "--threads", str(threads)]
    done = subprocess.run(
        cmd + (["--quick"] if quick else []), env=env, stdout=subprocess.PIPE, text=True, check=True
    )
    return [dict(f, blas_threads=blas_threads) for f in json.loads(done.stdout)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="short timings, for smoke tests")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()

    def log(msg):
        print(msg, file=sys.stderr if args.json or args.case else sys.stdout, flush=True)

    torch.set_num_threads(args.threads)
    if args.case:
        print(json.dumps(CASES[args.case](args.threads, args.quick, log)))
        return

    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # loads the BLAS, to report which
    blas = loaded_blas()
    env = dict(torch=torch.__version__, python=platform.python_version(), threads=args.threads)
    env["blas"] = blas or "none found"
    log(f"torch {env['torch']}, {args.threads} thread(s), BLAS: {env['blas']}")
    openblas = "openblas" in blas
    if not openblas:
        log("note: not OpenBLAS; sudo apt-get install libopenblas0-pthread for a fair baseline")
    n = args.threads
    figures = run_case("matmul", 1, 1, args.quick)
    if n > 1:
        figures += run_case("matmul", n, n, args.quick)
    else:  # one core: all threads is one thread
        figures += [dict(f, name=f["name"].replace("-1thread", "-all-threads")) for f in figures]
    # (torch threads, OpenBLAS threads); OpenBLAS's count only matters when it is OpenBLAS.
    configs = sorted({(n, 1), (n, n), (1, 1)} if openblas else {(n, n), (1, 1)}, reverse=True)
    for case in ("train", "generate-stories260K", "generate-stories15M"):
        runs = {(t, bt): run_case(case, t, bt, args.quick)[0] for t, bt in configs}
        best = max(runs.values(), key=lambda f: f["value"])
        if len(runs) > 1:
            best["by_threads"] = {
                f"torch {t}, blas {bt}": f["value"] for (t, bt), f in runs.items()
            }
        figures.append(best)
    if args.json:
        print(json.dumps(dict(source="pytorch", env=env, figures=figures), indent=2))


if __name__ == "__main__":
    main()
