// The same packages through `require` (the CJS builds).
const bone = require('@t2/adapters-bone');
const lora = require('@t2/adapters-lora');
const svfPkg = require('@t2/adapters-svf');
const { createConfig, LlamaForCausalLM } = require('@t2/llama');
const { resolveReinforceConfig } = require('@t2/rl-reinforce');
const { collate } = require('@t2/sft');
const { singularValues, svd, svdMany } = require('@t2/svd');
const { families } = require('@t2/tasks');
const { fromArray, matmul, registeredBackends, Rng } = require('@t2/tensor-core');
const { ExpertRegistry } = require('@t2/transformer2-runtime');

const check = (cond, what) => {
  if (!cond) throw new Error(`cjs smoke: ${what}`);
};

async function main() {
  const c = matmul(fromArray([1, 2, 3, 4], [2, 2]), fromArray([1, 0, 0, 1], [2, 2]));
  check(c.toArray().flat().join() === '1,2,3,4', 'matmul');
  check(registeredBackends().includes('gpujs-cpu'), 'gpu.js backends registered on require');
  check(singularValues({ rows: 1, cols: 1, data: [-2] })[0] === 2, 'svd');
  // svdMany's worker threads must find dist/svd-worker.cjs next to the CommonJS build.
  const mats = [3, 5].map((f) => ({
    matrix: { rows: 6, cols: 4, data: [...Array(24)].map((_, i) => Math.sin(i * f)) },
  }));
  const many = await svdMany(mats, { threads: 2 });
  check(many[1].S.join() === svd(mats[1].matrix).S.join(), 'svdMany on worker threads');
  check(families.length === 8, 'tasks');
  const config = createConfig({
    hiddenSize: 16,
    intermediateSize: 32,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    vocabSize: 11,
  });
  const model = () => new LlamaForCausalLM(config, { rng: new Rng(0) });
  check(
    model()
      .forward([[1, 2]])
      .shape.join() === '1,2,11',
    'llama forward',
  );
  check(bone.inject(model(), { r: 4, targetModules: ['up_proj'] }).numTrainable() > 0, 'bone');
  check(lora.inject(model(), { r: 2, targetModules: ['v_proj'] }).numTrainable() > 0, 'lora');
  const svf = await svfPkg.inject(model());
  check(svf.targets.length === 3, 'svf inject');
  check(collate([{ inputIds: [1, 2], labels: [1, 2] }]).numTargets === 1, 'sft');
  check(resolveReinforceConfig({ lr: 1 }).lr === 1, 'rl-reinforce');
  check(new ExpertRegistry().size === 0, 'runtime');
  console.log('cjs ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
