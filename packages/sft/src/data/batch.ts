import type { Rng } from '@t2/tensor-core';
import type { Batch, EncodedExample } from '../types';

/**
 * Right-pads examples to the longest one and shifts labels left, so position t's
 * target is token t + 1 (the causal LM objective). Padding carries no loss.
 */
export function collate(examples: readonly EncodedExample[], padId = 0): Batch {
  const len = Math.max(...examples.map((e) => e.inputIds.length));
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  const targets: number[][] = [];
  let numTargets = 0;
  for (const e of examples) {
    const n = e.inputIds.length;
    inputIds.push([...e.inputIds, ...new Array(len - n).fill(padId)]);
    attentionMask.push([...new Array(n).fill(1), ...new Array(len - n).fill(0)]);
    const row = new Array<number>(len).fill(-100);
    for (let t = 0; t + 1 < n; t++) {
      row[t] = e.labels[t + 1]!;
      if (row[t] !== -100) numTargets++;
    }
    targets.push(row);
  }
  return { inputIds, attentionMask, targets, numTargets };
}

/**
 * An endless, seeded stream of batches: each epoch is a fresh shuffle. The cursor
 * (epoch, position) is part of a checkpoint so a resumed run sees the same batches.
 */
export class BatchStream {
  private order: number[] = [];
  epoch = 0;
  position = 0;

  constructor(
    private readonly examples: readonly EncodedExample[],
    private readonly batchSize: number,
    private readonly rng: Rng,
    private readonly padId = 0,
  ) {
    if (examples.length === 0) throw new Error('BatchStream: no training examples');
    this.shuffle();
  }

  private shuffle(): void {
    this.order = this.rng.shuffle(this.examples.map((_, i) => i));
  }

  next(): Batch {
    const picked: EncodedExample[] = [];
    while (picked.length < this.batchSize) {
      if (this.position >= this.order.length) {
        this.epoch++;
        this.position = 0;
        this.shuffle();
      }
      picked.push(this.examples[this.order[this.position++]!]!);
    }
    return collate(picked, this.padId);
  }

  state(): { epoch: number; position: number; order: number[] } {
    return { epoch: this.epoch, position: this.position, order: [...this.order] };
  }

  restore(s: { epoch: number; position: number; order: number[] }): void {
    if (s.order.length !== this.examples.length) {
      throw new Error(
        `BatchStream: checkpoint was made for ${s.order.length} examples, the data has ${this.examples.length}`,
      );
    }
    this.epoch = s.epoch;
    this.position = s.position;
    this.order = [...s.order];
  }
}
