import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** /work/shared (or $T2_SHARED): fixtures shared by every package. */
export function sharedDir(): string {
  return process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
}

export const stories260K = {
  bin: () => join(sharedDir(), 'fixtures/stories260K/stories260K.bin'),
  hf: () => join(sharedDir(), 'fixtures/stories260K/hf'),
  reference: (): { greedy_from_bos: number[]; logits_pos0: number[]; logits_pos5: number[] } =>
    JSON.parse(readFileSync(join(sharedDir(), 'fixtures/stories260K/reference.json'), 'utf8')),
};

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 't2-llama-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
