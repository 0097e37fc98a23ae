import { concat, narrow, rope, type Tensor } from '@t2/tensor-core';
import type { LlamaConfig, RopeScaling } from './config';

/**
 * Inverse frequencies of the rotary embedding, computed once per model (with the
 * `linear` or `llama3` scaling of long-context checkpoints) rather than per step.
 */
export function rotaryInvFreq(
  headDim: number,
  theta: number,
  scaling: RopeScaling | null,
): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  // float32 at each step, as transformers computes inv_freq.
  for (let i = 0; i < half; i++)
    inv[i] = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
  if (!scaling) return inv;
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = inv[i]! / scaling.factor;
    return inv;
  }
  // llama3: long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldLen } = scaling;
  const lowFreqWavelen = oldLen / lowFreqFactor;
  const highFreqWavelen = oldLen / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const freq = inv[i]!;
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) continue;
    if (wavelen > lowFreqWavelen) {
      inv[i] = freq / factor;
    } else {
      const smooth = (oldLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      inv[i] = (1 - smooth) * (freq / factor) + smooth * freq;
    }
  }
  return inv;
}

export function rotaryForConfig(config: LlamaConfig): Float32Array {
  return rotaryInvFreq(config.headDim, config.ropeTheta, config.ropeScaling);
}

/**
 * Where each token sits: one offset shared by every row (no padding), or one position
 * per (row, token) when rows are padded differently.
 */
export type Positions = { offset: number } | { perRow: Int32Array };

/** Rotate-half rotary embedding of x [batch, heads, seq, dim] at the given positions. */
export function applyRotary(x: Tensor, invFreq: Float32Array, positions: Positions): Tensor {
  if ('offset' in positions) return rope(x, { invFreq, offset: positions.offset });
  const [batch, , seq] = x.shape as [number, number, number, number];
  const pos = positions.perRow;
  if (pos.length !== batch * seq) {
    throw new Error(`applyRotary: ${pos.length} positions for batch ${batch} × seq ${seq}`);
  }
  // tensor-core's rope shares positions across leading axes, so rows are rotated one by
  // one; as ops, so the gradient follows and a device backend keeps the rows on the device.
  const rows: Tensor[] = [];
  for (let b = 0; b < batch; b++) {
    rows.push(
      rope(narrow(x, 0, b, 1), { invFreq, positions: pos.subarray(b * seq, (b + 1) * seq) }),
    );
  }
  return batch === 1 ? rows[0]! : concat(rows, 0);
}
