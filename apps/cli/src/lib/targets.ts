import type { LlamaForCausalLM } from '@t2/llama';
import { Linear } from '@t2/tensor-core';
import { UsageError } from './command';

/** What `--target` names: every linear layer, or these layer names. */
export type TargetSpec = 'all-linear' | string[];

/**
 * `--target`, read once without the model: `all-linear`, or layer names (`q_proj,v_proj`),
 * or `fallback` when the flag is absent. Commands read it before loading the model, so a
 * malformed list fails fast; `checkTargets` then holds the names against the model.
 */
export function parseTargetList(spec: string | undefined, fallback: TargetSpec): TargetSpec {
  if (spec === undefined) return fallback;
  if (spec.trim() === 'all-linear') return 'all-linear';
  if (spec.trim() === '') throw new UsageError('--target: no layer names');
  const names = spec.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`--target: empty module name in '${spec}'`);
  return [...new Set(names)];
}

/**
 * Refuses a name no linear layer of the model has, rather than silently ignoring it (and
 * writing it into adapter_config.json).
 */
export function checkTargets(targets: TargetSpec, model: LlamaForCausalLM): TargetSpec {
  if (targets === 'all-linear') return targets;
  const known = [
    ...new Set(
      model
        .namedModules()
        .filter(([path, m]) => path !== '' && m instanceof Linear)
        .map(([path]) => path.split('.').pop()!),
    ),
  ];
  const unknown = targets.filter((n) => !known.includes(n));
  if (unknown.length) {
    throw new UsageError(
      `--target: ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a linear layer of the model (its linear layers: ${known.join(', ')}; or all-linear)`,
    );
  }
  return targets;
}

/** `--target` against the model: `all-linear` (the default) or names of its linear layers. */
export function parseTargets(spec: string | undefined, model: LlamaForCausalLM): TargetSpec {
  return checkTargets(parseTargetList(spec, 'all-linear'), model);
}
