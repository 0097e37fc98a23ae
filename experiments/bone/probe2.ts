import { loadHfFolder } from '@t2/llama';
import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import { trainSft, evalLoss } from '@t2/sft';
import { Rng, getBackend, setBackend } from '@t2/tensor-core';
const dir = new URL('../../../shared/fixtures/stories260K/hf', import.meta.url).pathname;
const rng = new Rng(1);
const ids = Array.from({ length: 32 }, (_, i) => 100 + i * 7);
const mk = () => { const p = Array.from({ length: 6 }, () => ids[rng.int(32)]!); const c = [...p].reverse(); return { inputIds: [1, ...p, 3, ...c, 2], labels: [-100, ...p.map(() => -100), -100, ...c, 2] }; };
const train = Array.from({ length: 512 }, mk); const ev = Array.from({ length: 128 }, mk);
if (process.env.BK) await setBackend(process.env.BK); console.log(getBackend().name);
for (const bs of [8]) for (const m of ['bone', 'lora', 'full']) {
  const { model } = await loadHfFolder(dir);
  let params;
  if (m === 'full') { model.requiresGrad(true); params = model.namedParameters(); }
  else if (m === 'bone' || m === 'bat') params = bone.inject(model, { r: 4, targetModules: 'all-linear', initWeights: m === 'bat' ? 'bat' : true }).namedAdapterParameters();
  else params = lora.inject(model, { r: 2, loraAlpha: 2, targetModules: 'all-linear', initLoraWeights: m === 'pissa' ? 'pissa' : true }).namedAdapterParameters();
  const c0 = process.cpuUsage();
  const r = await trainSft(model, params, train, { steps: 30, lr: 3e-3, batchSize: bs, seed: 0 });
  const c = process.cpuUsage(c0);
  const t0 = Date.now(); const e = evalLoss(model, ev, 32); const te = Date.now() - t0;
  console.log(bs, m, 'wall/step', (r.wallSeconds / 30 * 1000).toFixed(0), 'cpu/step', ((c.user + c.system) / 30000).toFixed(0), 'eval ms', te, e.toFixed(3));
}
