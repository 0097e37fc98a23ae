import { record } from '../autograd/record';
import { getBackend } from '../kernels/registry';
import { formatShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { toIndices } from './creation';

/** Inverse frequencies θ^(−2i/dim) of rotary embeddings. */
export function ropeInvFreq(dim: number, theta = 10000): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = 1 / theta ** ((2 * i) / dim);
  return out;
}

export interface RopeOptions {
  /** Base of the frequencies (rope_theta); ignored when invFreq is given. */
  theta?: number;
  /** Precomputed inverse frequencies (for scaled variants such as llama3). */
  invFreq?: Float32Array;
  /** Position of the first sequence entry (KV-cache decoding). */
  offset?: number;
  /** Explicit position per sequence entry. */
  positions?: ArrayLike<number>;
}

/**
 * Rotary position embedding, rotate-half convention (Hugging Face LLaMA), on
 * x of shape [..., seq, dim]; pairs are (i, i + dim/2).
 */
export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  if (x.ndim < 2) throw new Error(`rope: need [..., seq, dim], got ${formatShape(x.shape)}`);
  const dim = x.shape[x.ndim - 1]!;
  const seq = x.shape[x.ndim - 2]!;
  if (dim % 2 !== 0) throw new Error(`rope: head dim ${dim} must be even`);
  const invFreq = opts.invFreq ?? ropeInvFreq(dim, opts.theta ?? 10000);
  if (invFreq.length !== dim / 2)
    throw new Error(`rope: invFreq has ${invFreq.length} entries, need ${dim / 2}`);
  const positions = opts.positions
    ? toIndices(opts.positions, Number.MAX_SAFE_INTEGER, 'rope')
    : undefined;
  if (positions && positions.length !== seq)
    throw new Error(`rope: ${positions.length} positions for seq ${seq}`);
  const params = {
    rows: x.size / (seq * dim),
    seq,
    dim,
    offset: opts.offset ?? 0,
    positions,
    invFreq,
  };
  const be = getBackend();
  const out = new Tensor(be.rope(x.kernelData(be), { ...params, inverse: false }), x.shape);
  return record(out, 'rope', [x], (g) => {
    const gb = getBackend();
    return [new Tensor(gb.rope(g.kernelData(gb), { ...params, inverse: true }), x.shape)];
  });
}
