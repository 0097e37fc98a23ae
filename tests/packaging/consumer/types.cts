// Type-checks the CommonJS declarations (`require` resolves to the .d.cts files).
import tensorCore = require('@t2/tensor-core');
import llama = require('@t2/llama');
import runtime = require('@t2/transformer2-runtime');

const t: tensorCore.Tensor = tensorCore.zeros([2, 2]);
const config: llama.LlamaConfig = llama.createConfig({
  hiddenSize: 8,
  intermediateSize: 16,
  numHiddenLayers: 1,
  numAttentionHeads: 2,
  vocabSize: 5,
});
const strategies: readonly runtime.StrategyName[] = runtime.STRATEGIES;
// @ts-expect-error — zeros takes a shape.
tensorCore.zeros('2x2');

export = { t, config, strategies };
