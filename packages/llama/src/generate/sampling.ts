import type { Rng } from '@t2/tensor-core';

export interface SamplingOptions {
  /** 0 (the default) decodes greedily; otherwise logits are divided by it before sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  topP?: number;
}

export function checkSamplingOptions(opts: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1 } = opts;
  if (!(temperature >= 0) || !Number.isFinite(temperature))
    throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0)
    throw new Error(`topK must be an integer ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
}

/** Index of the largest logit (the first one on ties, like torch.argmax and llama2.c). */
export function argmaxRow(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = logits[0]!;
  for (let i = 1; i < logits.length; i++) {
    if (logits[i]! > bestValue) {
      bestValue = logits[i]!;
      best = i;
    }
  }
  return best;
}

/**
 * The next token from one row of logits: greedy at temperature 0, else a draw from the
 * softmax of logits / temperature restricted by top-k, then top-p (Hugging Face's order).
 */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  const { temperature = 0, topK = 0, topP = 1 } = opts;
  if (temperature === 0) return argmaxRow(logits);
  const n = logits.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp((logits[i]! - max) / temperature);
    probs[i] = p;
    sum += p;
  }
  for (let i = 0; i < n; i++) probs[i]! /= sum;

  if ((topK === 0 || topK >= n) && topP >= 1) return drawFrom(probs, null, rng);

  let candidates: number[];
  // Top-p applies to the distribution left by top-k, renormalised (or to all tokens).
  let mass = 1;
  if (topK > 0 && topK < n) {
    candidates = topIndices(probs, topK);
    mass = 0;
    for (const c of candidates) mass += probs[c]!;
  } else {
    // Tokens below this probability cannot be in the nucleus (llama2.c's shortcut).
    const cutoff = (1 - topP) / (n - 1);
    candidates = [];
    for (let i = 0; i < n; i++) if (probs[i]! >= cutoff) candidates.push(i);
    candidates.sort((a, b) => probs[b]! - probs[a]! || a - b);
    if (candidates.length === 0) return argmaxRow(logits);
  }
  if (topP < 1) {
    let cum = 0;
    let keep = candidates.length;
    for (let i = 0; i < candidates.length; i++) {
      cum += probs[candidates[i]!]! / mass;
      if (cum >= topP) {
        keep = i + 1;
        break;
      }
    }
    candidates = candidates.slice(0, keep);
  }
  return drawFrom(probs, candidates, rng);
}

/** The k most probable indices, most probable first. */
function topIndices(probs: Float64Array, k: number): number[] {
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return idx.slice(0, k);
}

/** Inverse-CDF draw over all tokens or over `candidates`, renormalised. */
function drawFrom(probs: Float64Array, candidates: number[] | null, rng: Rng): number {
  const r = rng.uniform();
  if (!candidates) {
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i]!;
      if (r < cum) return i;
    }
    return probs.length - 1;
  }
  let mass = 0;
  for (const c of candidates) mass += probs[c]!;
  let cum = 0;
  for (const c of candidates) {
    cum += probs[c]! / mass;
    if (r < cum) return c;
  }
  return candidates[candidates.length - 1]!;
}
