import { loadHfFolder } from '@t2/llama';
import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import { trainSft, evalLoss } from '@t2/sft';
import { Rng, setBackend } from '@t2/tensor-core';
import { makeTask } from './data';
await setBackend('wasm');
const dir = new URL('../../../shared/fixtures/stories260K/hf', import.meta.url).pathname;
const reverse = process.env.REV === '1';
const task = makeTask({ seed: 1, alphabetSize: Number(process.env.A ?? 32), promptLength: 6, reverse, trainSize: 512, evalSize: 128, vocabSize: 512, bosId: 1, eosId: 2 });
console.log('rev', reverse, 'floor', task.alphabetOnlyLoss.toFixed(3));
for (const [m, lr] of (process.env.M ?? 'full:1e-3,bone:1e-2,lora:1e-2').split(',').map((s) => s.split(':'))) {
  const { model } = await loadHfFolder(dir);
  let params;
  if (m === 'full') { model.requiresGrad(true); params = model.namedParameters(); }
  else if (m === 'bone' || m === 'bat') params = bone.inject(model, { r: 4, targetModules: 'all-linear', initWeights: m === 'bat' ? 'bat' : true }).namedAdapterParameters();
  else params = lora.inject(model, { r: 2, loraAlpha: 2, targetModules: 'all-linear', initLoraWeights: m === 'pissa' ? 'pissa' : true }, { rng: new Rng(0) }).namedAdapterParameters();
  const log: string[] = [];
  const r = await trainSft(model, params, task.train, { steps: 300, lr: Number(lr), batchSize: 16, seed: 0, warmupSteps: 20, evalData: task.eval, evalEvery: 50 }, { onEval: (s, l) => log.push(`${s}:${l.toFixed(2)}`) });
  console.log(m, lr, r.finalLoss.toFixed(3), log.join(' '), r.wallSeconds.toFixed(0) + 's');
}
