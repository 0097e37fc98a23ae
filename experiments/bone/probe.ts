import { loadHfFolder } from '@t2/llama';
import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import { trainSft, evalLoss } from '@t2/sft';
import { Rng } from '@t2/tensor-core';
const dir = new URL('../../../shared/fixtures/stories260K/hf', import.meta.url).pathname;
const rng = new Rng(1);
const ids = Array.from({ length: 32 }, (_, i) => 100 + i * 7);
const perm = rng.shuffle(ids.map((_, i) => i));
const mk = () => { const p = Array.from({ length: 6 }, () => ids[rng.int(32)]!); const c = p.map((t) => ids[perm[ids.indexOf(t)]!]!).reverse(); return { inputIds: [1, ...p, 3, ...c, 2], labels: [-100, ...p.map(() => -100), -100, ...c, 2] }; };
const train = Array.from({ length: 512 }, mk); const ev = Array.from({ length: 128 }, mk);
for (const m of ['bone', 'bat', 'lora', 'pissa', 'full']) {
  const { model } = await loadHfFolder(dir);
  let params;
  if (m === 'full') { model.requiresGrad(true); params = model.namedParameters(); }
  else if (m === 'bone' || m === 'bat') params = bone.inject(model, { r: 4, targetModules: 'all-linear', initWeights: m === 'bat' ? 'bat' : true }).namedAdapterParameters();
  else params = lora.inject(model, { r: 2, loraAlpha: 2, targetModules: 'all-linear', initLoraWeights: m === 'pissa' ? 'pissa' : true }).namedAdapterParameters();
  const n = params.reduce((s, [, p]) => s + p.size, 0);
  const t0 = Date.now();
  const e0 = evalLoss(model, ev, 32);
  const t1 = Date.now();
  const r = await trainSft(model, params, train, { steps: 20, lr: 3e-3, batchSize: 16, seed: 0 });
  console.log(m, n, 'eval0', e0.toFixed(3), (t1 - t0) + 'ms', 'train20', r.finalLoss.toFixed(3), r.wallSeconds.toFixed(1) + 's');
}
