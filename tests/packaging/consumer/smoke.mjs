// Runs in a fresh project where the packed tarballs are installed (no workspace links):
// every package must load through `import` and do a little real work.
import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import { inject as injectSvf, parseExpert, serializeExpert } from '@t2/adapters-svf';
import { createConfig, LlamaForCausalLM } from '@t2/llama';
import { REINFORCE_DEFAULTS, resolveReinforceConfig } from '@t2/rl-reinforce';
import { collate } from '@t2/sft';
import { singularValues, svd, svdMany } from '@t2/svd';
import { families, sampleTask } from '@t2/tasks';
import {
  fromArray,
  matmul,
  parseSafetensors,
  Rng,
  registeredBackends,
  serializeSafetensors,
} from '@t2/tensor-core';
import { ExpertRegistry, normaliseAlpha, STRATEGIES } from '@t2/transformer2-runtime';

const check = (cond, what) => {
  if (!cond) throw new Error(`esm smoke: ${what}`);
};

const c = matmul(fromArray([1, 2, 3, 4, 5, 6], [2, 3]), fromArray([1, 2, 3, 4, 5, 6], [3, 2]));
check(c.toArray().flat().join() === '22,28,49,64', 'matmul');
check(registeredBackends().includes('gpujs-webgl2'), 'gpu.js backends registered on import');
const file = parseSafetensors(serializeSafetensors({ w: c }));
check(file.tensors.get('w').data[3] === 64, 'safetensors round trip');

const s = singularValues({ rows: 2, cols: 2, data: [3, 0, 0, 4] });
check(Math.abs(s[0] - 4) < 1e-12 && Math.abs(s[1] - 3) < 1e-12, 'svd');
// svdMany's worker threads must find dist/svd-worker.js next to the ESM build.
const mats = [3, 5].map((f) => ({
  matrix: { rows: 6, cols: 4, data: [...Array(24)].map((_, i) => Math.sin(i * f)) },
}));
const many = await svdMany(mats, { threads: 2 });
check(many[1].S.join() === svd(mats[1].matrix).S.join(), 'svdMany on worker threads');
check(families.length === 8 && sampleTask('arith', { n: 2 }).length === 2, 'tasks');

const config = createConfig({
  hiddenSize: 16,
  intermediateSize: 32,
  numHiddenLayers: 1,
  numAttentionHeads: 2,
  vocabSize: 11,
});
const model = () => new LlamaForCausalLM(config, { rng: new Rng(0) });
const logits = model().forward([[1, 2, 3]]);
check(logits.shape.join() === '1,3,11', 'llama forward');

check(bone.inject(model(), { r: 4, targetModules: 'all-linear' }).numTrainable() > 0, 'bone');
check(lora.inject(model(), { r: 2, targetModules: ['q_proj'] }).numTrainable() > 0, 'lora');
const svf = await injectSvf(model());
const expert = parseExpert(serializeExpert(svf.expert({ task: 'math' })));
check(expert.meta.task === 'math' && expert.z.size === 3, 'svf expert round trip');

check(collate([{ inputIds: [1, 2, 3], labels: [1, 2, 3] }]).numTargets === 2, 'sft collate');
check(resolveReinforceConfig({}).lr === REINFORCE_DEFAULTS.lr, 'rl-reinforce');
const registry = new ExpertRegistry().add({
  name: 'math',
  label: 'math',
  role: 'task',
  expert: {},
});
check(registry.labels().join() === 'math' && STRATEGIES.includes('few-shot'), 'runtime registry');
check(
  normaliseAlpha(Float64Array.from([1, 3]), { experts: 2, targets: null })[1] === 0.75,
  'alpha',
);

console.log('esm ok');
