import { existsSync } from 'node:fs';
import * as svf from '@t2/adapters-svf';
import type { LlamaForCausalLM } from '@t2/llama';
import { UsageError } from './command';

/** Applies `--expert` files: one is loaded as is, several are mixed in mask space. */
export async function applyExperts(
  model: LlamaForCausalLM,
  paths: readonly string[],
  alpha: number[] | undefined,
  cacheDir: string,
): Promise<void> {
  const experts: svf.SvfExpert[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`--expert ${path}: no such file`);
    try {
      // Checked against the plain weights first: a foreign base model fails before any SVD.
      experts.push(await svf.loadExpert(path, model));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const first = experts[0]!;
  const h = await svf.inject(model, {
    targetModules: [...first.z.keys()],
    maxMult: first.maxMult,
    cacheDir,
  });
  try {
    if (experts.length === 1 && !alpha) h.setExpert(first);
    else h.setMixture(experts, alpha ?? experts.map(() => 1 / experts.length));
  } catch (err) {
    throw new UsageError(`--expert: ${(err as Error).message}`);
  }
}

/** `--alpha LIST`: one mixture weight per `--expert`. */
export function parseAlpha(text: string, count: number): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const values = parts.map((p) => Number(p));
  if (parts.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--alpha: expected numbers separated by commas, got '${text}'`);
  }
  if (values.length !== count) {
    throw new UsageError(
      `--alpha: ${values.length} weights for ${count} expert${count === 1 ? '' : 's'}`,
    );
  }
  return values;
}
