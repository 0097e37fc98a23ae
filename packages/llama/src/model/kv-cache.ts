import { concat, keep, type Tensor } from '@t2/tensor-core';

/**
 * Keys and values of the tokens seen so far, per layer ([batch, kvHeads, length, headDim]),
 * plus which cached entries are padding and the next position of each row.
 */
export class KVCache {
  private readonly keys: (Tensor | null)[];
  private readonly values: (Tensor | null)[];
  /** Cached entries per row (padding included). */
  length = 0;
  /** Per row, 1 for a real token and 0 for padding; null while no entry is padding. */
  private maskRows: number[][] | null = null;
  /** Real tokens per row: the position the row's next token takes. */
  readonly nextPosition: Int32Array;

  constructor(
    readonly numLayers: number,
    readonly batch: number,
  ) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
    this.nextPosition = new Int32Array(batch);
  }

  /** Appends a layer's new keys and values and returns everything cached for that layer. */
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    if (k.shape[0] !== this.batch) {
      throw new Error(`KVCache: batch of ${k.shape[0]} rows, the cache was made for ${this.batch}`);
    }
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    // Concatenating per step costs a copy of the cache, the same order as attention reading it.
    const newK = keep(oldK ? concat([oldK, k], 2) : k);
    const newV = keep(oldV ? concat([oldV, v], 2) : v);
    if (oldK && !oldK.requiresGrad) oldK.dispose();
    if (oldV && !oldV.requiresGrad) oldV.dispose();
    this.keys[layer] = newK;
    this.values[layer] = newV;
    return [newK, newV];
  }

  /** The padding mask of cached entries followed by `incoming` (null when nothing is padding). */
  maskWith(incoming: number[][] | null, newTokens: number): number[][] | null {
    if (!this.maskRows && !incoming) return null;
    const rows: number[][] = [];
    for (let b = 0; b < this.batch; b++) {
      const past = this.maskRows ? this.maskRows[b]! : new Array<number>(this.length).fill(1);
      const now = incoming ? incoming[b]! : new Array<number>(newTokens).fill(1);
      rows.push([...past, ...now]);
    }
    return rows;
  }

  /** Records that `newTokens` entries were appended to every layer. */
  commit(newTokens: number, incoming: number[][] | null): void {
    const mask = this.maskWith(incoming, newTokens);
    this.maskRows = mask;
    for (let b = 0; b < this.batch; b++) {
      let real = newTokens;
      if (incoming) real = incoming[b]!.reduce((s, m) => s + (m ? 1 : 0), 0);
      this.nextPosition[b]! += real;
    }
    this.length += newTokens;
  }

  /** Returns the cached tensors to the buffer pool. */
  dispose(): void {
    for (let i = 0; i < this.numLayers; i++) {
      this.keys[i]?.dispose();
      this.values[i]?.dispose();
      this.keys[i] = null;
      this.values[i] = null;
    }
    this.length = 0;
    this.maskRows = null;
    this.nextPosition.fill(0);
  }
}
