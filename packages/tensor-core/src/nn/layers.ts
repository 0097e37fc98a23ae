import { add, mul } from '../ops/arithmetic';
import { fromArray, ones, rand, randn } from '../ops/creation';
import { gather } from '../ops/indexing';
import { matmul } from '../ops/matmul';
import { rmsNorm } from '../ops/norm';
import { defaultRng, type Rng } from '../random/rng';
import { formatShape } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';

/** y = x Wᵀ + b with W of shape [out, in], as in PyTorch and Hugging Face checkpoints. */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean; rng?: Rng } = {},
  ) {
    super();
    const rng = opts.rng ?? defaultRng();
    // PyTorch's default: Kaiming-uniform with a = sqrt(5), i.e. U(−1/sqrt(in), 1/sqrt(in)).
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter(
      'weight',
      rand([outFeatures, inFeatures], { low: -bound, high: bound, rng }),
    );
    this.bias =
      opts.bias === false
        ? null
        : this.registerParameter('bias', rand([outFeatures], { low: -bound, high: bound, rng }));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new Error(
        `Linear(${this.inFeatures}→${this.outFeatures}): input ${formatShape(x.shape)} has the wrong last axis`,
      );
    }
    const y = matmul(x, this.weight, { transB: true });
    return this.bias ? add(y, this.bias) : y;
  }
}

export class Embedding extends Module {
  weight: Tensor;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: { rng?: Rng; std?: number } = {},
  ) {
    super();
    this.weight = this.registerParameter(
      'weight',
      randn([numEmbeddings, embeddingDim], { std: opts.std ?? 1, rng: opts.rng ?? defaultRng() }),
    );
  }

  /** Rows for `indices`; the result has the indices' shape followed by the embedding dim. */
  forward(indices: Tensor | ArrayLike<number>, shape?: readonly number[]): Tensor {
    return gather(this.weight, indices, shape);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;

  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = this.registerParameter('weight', ones([dim]));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Inverted dropout from a seeded generator; the identity in eval mode. */
export class Dropout extends Module {
  constructor(
    readonly p = 0.1,
    private readonly rng: Rng = defaultRng(),
  ) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p = ${p} must be in [0, 1)`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = new Float32Array(x.size);
    const scale = 1 / (1 - this.p);
    for (let i = 0; i < keep.length; i++) keep[i] = this.rng.uniform() >= this.p ? scale : 0;
    return mul(x, fromArray(keep, x.shape));
  }
}
