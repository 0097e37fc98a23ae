// Type-checks against the published .d.ts files (ESM resolution).
import { type BoneConfigInput, inject as injectBone } from '@t2/adapters-bone';
import type { LoraConfigInput } from '@t2/adapters-lora';
import type { SvfExpert } from '@t2/adapters-svf';
import { createConfig, type LlamaConfig, LlamaForCausalLM } from '@t2/llama';
import type { ReinforceConfig, StepLog } from '@t2/rl-reinforce';
import type { EncodedExample, SftOptions } from '@t2/sft';
import { type SvdResult, svd } from '@t2/svd';
import { type Sample, sampleTask, type TaskFamily } from '@t2/tasks';
import { type Backend, fromArray, type Tensor } from '@t2/tensor-core';
import { ExpertRegistry, type RunResult, type Trace } from '@t2/transformer2-runtime';

const config: LlamaConfig = createConfig({
  hiddenSize: 16,
  intermediateSize: 32,
  numHiddenLayers: 1,
  numAttentionHeads: 2,
  vocabSize: 11,
});
const model = new LlamaForCausalLM(config);
const boneConfig: BoneConfigInput = { r: 4, targetModules: 'all-linear' };
const trainable: number = injectBone(model, boneConfig).numTrainable();
const loraConfig: LoraConfigInput = { r: 2, targetModules: ['q_proj'] };
const t: Tensor = fromArray([1, 2, 3, 4], [2, 2]);
const result: SvdResult = svd(t);
const samples: Sample[] = sampleTask('arith', { n: 1 });
const registry = new ExpertRegistry<SvfExpert>();
const rl: ReinforceConfig = { lr: 1e-3 };
const sft: Pick<SftOptions, 'steps'> = { steps: 1 };
const example: EncodedExample = { inputIds: [1], labels: [1] };
type Uses = [Backend, StepLog, RunResult, Trace, TaskFamily];
// @ts-expect-error — a wrong argument type must be an error, or the types say nothing.
fromArray('not numbers', [1]);

export const used: unknown[] = [trainable, loraConfig, result, samples, registry, rl, sft, example];
export type { Uses };
