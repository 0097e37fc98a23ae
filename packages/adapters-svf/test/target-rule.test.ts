import '@t2/adapters-bone';
import '@t2/adapters-lora';
import '../src/index';
import { type Module, Rng } from '@t2/tensor-core';
import { adapterMethod, type TargetModules } from '@t2/tuners';
import { describe, expect, it } from 'vitest';
import { ToyModel } from '../../../test-support/adapter-tests';

// One target rule for every method (PEFT's check_target_module_exists): a string is a
// regex for the whole dotted name, a list entry matches the name or a dotted suffix.
// The same table runs on Bone, LoRA and SVF through the registry.

const L = (i: number, m: string) =>
  m.endsWith('proj') && ['q', 'k', 'v', 'o'].includes(m[0]!) && m[1] === '_'
    ? `model.layers.${i}.self_attn.${m}`
    : `model.layers.${i}.mlp.${m}`;
const both = (m: string) => [L(0, m), L(1, m)];
const ALL = [0, 1].flatMap((i) =>
  ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'].map((m) => L(i, m)),
);

const cases: [string, TargetModules, string[] | 'none'][] = [
  ['a list entry matches a dotted suffix', ['q_proj'], both('q_proj')],
  ['a lone string is a regex for the whole name', 'q_proj', 'none'],
  ['a regex matching the whole name', '.*\\.q_proj', both('q_proj')],
  ['a regex is not searched for', '(q|v)_proj', 'none'],
  [
    'a regex alternation over whole names',
    '.*\\.(q|v)_proj',
    [...both('q_proj'), ...both('v_proj')].sort(),
  ],
  ['a longer dotted suffix', ['self_attn.v_proj'], both('v_proj')],
  ['a full path', ['model.layers.1.mlp.up_proj'], [L(1, 'up_proj')]],
  ['a suffix must start at a dot', ['proj'], 'none'],
  ['a name is not a prefix', ['q'], 'none'],
  ['several names', ['up_proj', 'down_proj'], [...both('up_proj'), ...both('down_proj')].sort()],
  [
    'a regex over layer numbers',
    'model\\.layers\\.0\\.mlp\\..*',
    ['down_proj', 'gate_proj', 'up_proj'].map((m) => L(0, m)),
  ],
  ["'all-linear' leaves out lm_head", 'all-linear', ALL],
  ['lm_head when named', ['lm_head'], ['lm_head']],
];

const METHODS = ['bone', 'lora', 'svf'];

function wrapped(model: Module, layer: abstract new (...args: never[]) => Module): string[] {
  return model
    .namedModules()
    .filter(([, m]) => m instanceof layer)
    .map(([p]) => p)
    .sort();
}

describe('one target rule for every method', () => {
  for (const name of METHODS) {
    describe(name, () => {
      const method = adapterMethod(name)!;
      it.each(cases)('%s: %j', async (_, targetModules, want) => {
        const model = new ToyModel({ hidden: 8, inter: 8, vocab: 8 });
        const config = method.config({ variant: name, r: 4, targetModules });
        const run = async () => method.inject(model, config, { rng: new Rng(0) });
        if (want === 'none') {
          await expect(run()).rejects.toThrow(/match/);
          expect(wrapped(model, method.layer)).toEqual([]);
        } else {
          await run();
          expect(wrapped(model, method.layer)).toEqual([...want].sort());
        }
      });
    });
  }
});
