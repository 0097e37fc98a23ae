import { firstNonFinite, readSafetensorsFile, writeSafetensorsFile } from '@t2/tensor-core';
import { decomposeWeight, decomposeWeights, factorsFromArrays, type SvfFactors } from './factors';
import type { WeightLike } from './hash';

const CACHE_FORMAT = 't2-svf-factors-v1';

/** Where the factors of a weight with this hash live inside `cacheDir`. */
async function cachePath(cacheDir: string, hash: string): Promise<string> {
  const path = await import('node:path');
  return path.join(cacheDir, `svd-${hash}.safetensors`);
}

/** Factors read back from the cache, or null when there is no (usable) entry. */
async function readCached(
  file: string,
  weight: WeightLike,
  name: string,
): Promise<SvfFactors | null> {
  const fs = await import('node:fs/promises');
  try {
    await fs.access(file);
  } catch {
    return null;
  }
  try {
    const { tensors, metadata } = await readSafetensorsFile(file);
    if (metadata.format !== CACHE_FORMAT) return null;
    const [U, S, V] = [tensors.get('U'), tensors.get('S'), tensors.get('V')];
    if (!U || !S || !V) return null;
    // A poisoned cache entry (NaN/Infinity) is a miss: decomposing again fixes it.
    if ([U, S, V].some((t) => firstNonFinite(t.data) >= 0)) return null;
    const [out, inF] = weight.shape as [number, number];
    return factorsFromArrays(U.data, S.data, V.data, out, inF, name);
  } catch {
    // A torn or foreign file is not fatal: decompose again and overwrite it.
    return null;
  }
}

/** A target weight of {@link loadOrDecomposeAll}: the weight, its hash and its name. */
export interface WeightToDecompose {
  weight: WeightLike;
  hash: string;
  name: string;
}

/** Writes one weight's factors to the cache (atomically, by writeSafetensorsFile). */
async function writeCached(
  cacheDir: string,
  { weight, hash, name }: WeightToDecompose,
  factors: SvfFactors,
): Promise<void> {
  const fs = await import('node:fs/promises');
  await fs.mkdir(cacheDir, { recursive: true });
  await writeSafetensorsFile(
    await cachePath(cacheDir, hash),
    { U: factors.U, S: factors.singularValues, V: factors.V },
    {
      metadata: {
        format: CACHE_FORMAT,
        weight_hash: hash,
        shape: weight.shape.join(','),
        source: name,
      },
    },
  );
}

/**
 * The SVD factors of every weight, in order: from `cacheDir` where a file for its hash is
 * there, the others computed together on worker threads (`threads`, see `decomposeWeights`)
 * and, when `cacheDir` is set, each written atomically for the next run as soon as it is
 * ready. With a cache, a weight whose hash repeats is decomposed once and counts as cached
 * from its second occurrence on, as when the weights were decomposed one by one.
 */
export async function loadOrDecomposeAll(
  weights: readonly WeightToDecompose[],
  cacheDir: string | undefined,
  threads?: number,
): Promise<{ factors: SvfFactors; fromCache: boolean }[]> {
  const out: ({ factors: SvfFactors; fromCache: boolean } | undefined)[] = weights.map(
    () => undefined,
  );
  // Without a cache every weight is decomposed; with one, the first weight of each missing hash.
  const firstOfHash = new Map<string, number>();
  const repeats: number[] = [];
  const todo: number[] = [];
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (cacheDir === undefined) {
      todo.push(i);
      continue;
    }
    if (firstOfHash.has(w.hash)) {
      repeats.push(i);
      continue;
    }
    firstOfHash.set(w.hash, i);
    const cached = await readCached(await cachePath(cacheDir, w.hash), w.weight, w.name);
    if (cached) out[i] = { factors: cached, fromCache: true };
    else todo.push(i);
  }
  await decomposeWeights(
    todo.map((i) => weights[i]!),
    async (factors, j) => {
      const i = todo[j]!;
      out[i] = { factors, fromCache: false };
      if (cacheDir !== undefined) await writeCached(cacheDir, weights[i]!, factors);
    },
    threads,
  );
  for (const i of repeats) {
    const w = weights[i]!;
    const cached = await readCached(await cachePath(cacheDir!, w.hash), w.weight, w.name);
    out[i] = cached
      ? { factors: cached, fromCache: true }
      : { factors: decomposeWeight(w.weight, w.name), fromCache: false };
  }
  return out as { factors: SvfFactors; fromCache: boolean }[];
}
