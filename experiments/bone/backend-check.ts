import { type LlamaForCausalLM, loadHfFolder } from '@t2/llama';
import { causalLmLossSum, collate, type EncodedExample } from '@t2/sft';
import { setBackend } from '@t2/tensor-core';
import { METHODS, prepareMethod, type Ranks } from './methods';

/** Loss and gradients of one batch, for every method. */
async function oneStep(
  modelDir: string,
  examples: readonly EncodedExample[],
  ranks: Ranks,
): Promise<{ loss: number; grads: Float32Array[] }[]> {
  const out: { loss: number; grads: Float32Array[] }[] = [];
  for (const method of METHODS) {
    const { model } = await loadHfFolder(modelDir, { skipTokenizer: true });
    const { params } = prepareMethod(model as LlamaForCausalLM, method, ranks, 0);
    model.train();
    const loss = causalLmLossSum(model, collate(examples, model.config.padTokenId ?? 0));
    loss.backward();
    out.push({
      loss: loss.item(),
      grads: params.map(([name, p]) => {
        if (!p.grad) throw new Error(`backend check: ${method} ${name} got no gradient`);
        return Float32Array.from(p.grad.data);
      }),
    });
  }
  return out;
}

/**
 * The fast backend is only worth using if it computes what the reference js backend
 * computes: one forward/backward of every method on the same batch must agree (loss to
 * 1e-4, each gradient to 1e-3 relative L2). Returns null when it does, else why not.
 */
export async function checkBackend(
  candidate: string,
  modelDir: string,
  examples: readonly EncodedExample[],
  ranks: Ranks,
): Promise<string | null> {
  try {
    await setBackend('js');
    const reference = await oneStep(modelDir, examples, ranks);
    await setBackend(candidate);
    const got = await oneStep(modelDir, examples, ranks);
    for (let m = 0; m < METHODS.length; m++) {
      const a = reference[m]!;
      const b = got[m]!;
      if (Math.abs(a.loss - b.loss) > 1e-4 * Math.abs(a.loss)) {
        return `${METHODS[m]}: loss ${b.loss} vs js ${a.loss}`;
      }
      for (let i = 0; i < a.grads.length; i++) {
        const err = relativeL2(a.grads[i]!, b.grads[i]!);
        if (!(err <= 1e-3)) return `${METHODS[m]}: gradient ${i} differs from js by ${err}`;
      }
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += a[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
