import { classificationTask, expertDomains, formatExample, mixture, type Sample } from '@t2/tasks';

export interface CorpusOptions {
  /** Task problems drawn from the expert domains (train split). */
  problems: number;
  /** Classification examples (prompt → category), for Transformer²'s prompt strategy. */
  classification: number;
  seed: number;
}

/**
 * The pretraining text: problems of every expert domain written as `prompt answer\n`,
 * and classification prompts answered with their category. Held-out families are
 * left out on purpose: they are for few-shot adaptation later.
 */
export function pretrainDocuments(opts: CorpusOptions): string[] {
  const problems = mixture(expertDomains, { n: opts.problems, seed: opts.seed, split: 'train' });
  const labelled = classificationTask({
    n: opts.classification,
    seed: opts.seed + 1,
    split: 'train',
  });
  const docs = [...problems, ...labelled].map((s: Sample) => formatExample(s));
  return docs;
}

/**
 * Packs documents (in the given order) into sequences of exactly `length` tokens, each
 * starting with BOS, as language-model pretraining does; a document that does not fit
 * starts the next sequence.
 */
export function packSequences(docs: readonly number[][], length: number, bos: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [bos];
  for (const doc of docs) {
    if (doc.length + 1 > length) continue;
    if (cur.length + doc.length > length) {
      out.push(cur);
      cur = [bos];
    }
    cur.push(...doc);
  }
  if (cur.length > 1) out.push(cur);
  return out;
}
