import type { TextTokenizer } from '@t2/llama';
import type { EncodedExample } from '@t2/sft';
import {
  classificationTask,
  expertDomains,
  formatExample,
  getFamily,
  mixableFamilies,
  mixture,
  Rng,
  type Sample,
  writtenAnswer,
} from '@t2/tasks';
import { Rng as TensorRng } from '@t2/tensor-core';

export interface CorpusOptions {
  /** Task problems drawn from the expert domains (train split). */
  problems: number;
  /** Classification examples (prompt → category), for Transformer²'s prompt strategy. */
  classification: number;
  /**
   * Share of answers (of each part of a composite answer) written in the family's competing
   * convention (`47.0`, `"cba"`, `(T)`). Default 0: canonical answers only.
   */
  distractorRate?: number;
  /**
   * Problems of the held-out families that answer in two domains' conventions at once
   * (`shout`, `big`, `end`; train split). Default 0.
   */
  heldOut?: number;
  seed: number;
}

/**
 * The pretraining text: problems of every expert domain written as `prompt answer\n`,
 * and classification prompts answered with their category. With `distractorRate` > 0 a share
 * of the answers uses each family's competing convention, so the model learns both ways of
 * answering and an expert has one to pick. The held-out families that combine two domains'
 * conventions are taught with `heldOut` > 0 (kept out of expert training, not out of
 * pretraining); `count` and `sort` never are: they stay skills the model lacks.
 */
export function pretrainDocuments(opts: CorpusOptions): string[] {
  const rate = opts.distractorRate ?? 0;
  const problems = mixture(expertDomains, { n: opts.problems, seed: opts.seed, split: 'train' });
  const labelled = classificationTask({
    n: opts.classification,
    seed: opts.seed + 1,
    split: 'train',
  });
  const stacked =
    (opts.heldOut ?? 0) > 0
      ? mixture(mixableFamilies, { n: opts.heldOut!, seed: opts.seed + 3, split: 'train' })
      : [];
  // A generator of its own, so that rate 0 leaves the draws of the problems unchanged.
  const style = new Rng(opts.seed + 4);
  const written = (s: Sample): Sample =>
    s.family === undefined
      ? s
      : { ...s, answer: writtenAnswer(getFamily(s.family), s, style, rate) };
  return [...problems.map(written), ...labelled, ...stacked.map(written)].map((s) =>
    formatExample(s),
  );
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

/** The pretraining examples: the corpus tokenized, shuffled, packed, with a held-back eval set. */
export function pretrainExamples(
  opts: CorpusOptions & { seqLength: number },
  tokenizer: TextTokenizer,
): { examples: EncodedExample[]; evalSet: EncodedExample[]; sequences: number } {
  const docs = pretrainDocuments(opts).map((d) => tokenizer.encode(d, { addSpecialTokens: false }));
  new TensorRng(opts.seed + 2).shuffle(docs);
  const sequences = packSequences(docs, opts.seqLength, tokenizer.bosTokenId ?? 1);
  const examples: EncodedExample[] = sequences.map((s) => ({ inputIds: s, labels: s }));
  const evalSet = examples.splice(0, Math.min(64, Math.floor(examples.length / 20)));
  return { examples, evalSet, sequences: sequences.length };
}
