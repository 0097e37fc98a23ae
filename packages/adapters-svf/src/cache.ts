import { firstNonFinite, readSafetensorsFile, writeSafetensorsFile } from '@t2/tensor-core';
import { decomposeWeight, factorsFromArrays, type SvfFactors } from './factors';
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

/**
 * The SVD factors of `weight`, from `cacheDir` when a file for its hash is there, otherwise
 * computed and (when `cacheDir` is set) written atomically for the next run.
 */
export async function loadOrDecompose(
  weight: WeightLike,
  hash: string,
  name: string,
  cacheDir: string | undefined,
): Promise<{ factors: SvfFactors; fromCache: boolean }> {
  if (cacheDir === undefined) return { factors: decomposeWeight(weight, name), fromCache: false };
  const file = await cachePath(cacheDir, hash);
  const cached = await readCached(file, weight, name);
  if (cached) return { factors: cached, fromCache: true };
  const factors = decomposeWeight(weight, name);
  const fs = await import('node:fs/promises');
  await fs.mkdir(cacheDir, { recursive: true });
  await writeSafetensorsFile(
    file,
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
  return { factors, fromCache: false };
}
