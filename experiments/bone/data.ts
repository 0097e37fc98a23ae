import type { EncodedExample } from '@t2/sft';
import { Rng } from '@t2/tensor-core';

/**
 * A seeded synthetic fine-tuning task over raw token ids (the stories260K fixture has no
 * tokenizer): the prompt is `promptLength` ids drawn from a fixed alphabet of
 * `alphabetSize` ids, then a separator; the completion is the prompt mapped id by id
 * through a fixed random permutation of the alphabet, reversed when `reverse` is set,
 * then EOS. Loss is on the completion only (−100 on BOS, prompt and separator).
 */
export interface TaskSpec {
  seed: number;
  alphabetSize: number;
  promptLength: number;
  reverse: boolean;
  trainSize: number;
  evalSize: number;
  vocabSize: number;
  /**
   * Alphabet and separator come from ids >= this. In the llama2.c 512-token vocabulary,
   * ids 3..258 are byte-fallback tokens that TinyStories almost never needed: their
   * embeddings are nearly parallel (mean cosine 0.996 in stories260K, vs 0.09 among
   * word pieces), so a frozen tied output head cannot tell them apart and only full
   * fine-tuning could learn to emit them.
   */
  firstId: number;
  bosId: number;
  eosId: number;
}

export interface Task {
  spec: TaskSpec;
  /** The ids prompts are drawn from. */
  alphabet: number[];
  separatorId: number;
  /** alphabet[i] maps to alphabet[permutation[i]]. */
  permutation: number[];
  train: EncodedExample[];
  eval: EncodedExample[];
  /**
   * Mean completion loss of a model that knows only which ids can appear (uniform over the
   * alphabet) and where the sequence ends: a natural "has started to learn the mapping" line.
   */
  alphabetOnlyLoss: number;
}

export function makeTask(spec: TaskSpec): Task {
  const { seed, alphabetSize, promptLength, trainSize, evalSize, vocabSize, firstId } = spec;
  const { bosId, eosId } = spec;
  if (vocabSize - firstId < alphabetSize + 1) {
    throw new Error(
      `makeTask: ids ${firstId}..${vocabSize - 1} cannot hold ${alphabetSize} + 1 ids`,
    );
  }
  if (alphabetSize ** promptLength < 4 * (trainSize + evalSize)) {
    throw new Error(
      `makeTask: ${alphabetSize}^${promptLength} prompts are too few for ${trainSize} + ${evalSize} disjoint examples`,
    );
  }
  const rng = new Rng(seed);
  const candidates = rng.shuffle(
    Array.from({ length: vocabSize - firstId }, (_, i) => firstId + i).filter(
      (i) => i !== bosId && i !== eosId,
    ),
  );
  const alphabet = candidates.slice(0, alphabetSize);
  const separatorId = candidates[alphabetSize]!;
  const permutation = rng.shuffle(alphabet.map((_, i) => i));
  const mapped = new Map(alphabet.map((id, i) => [id, alphabet[permutation[i]!]!]));

  const seen = new Set<string>();
  const draw = (): EncodedExample => {
    for (;;) {
      const prompt = Array.from({ length: promptLength }, () => alphabet[rng.int(alphabetSize)]!);
      const key = prompt.join(',');
      if (seen.has(key)) continue; // train and eval prompts are disjoint
      seen.add(key);
      const completion = prompt.map((id) => mapped.get(id)!);
      if (spec.reverse) completion.reverse();
      const inputIds = [bosId, ...prompt, separatorId, ...completion, eosId];
      const labels = [...new Array<number>(promptLength + 2).fill(-100), ...completion, eosId];
      return { inputIds, labels };
    }
  };
  const train = Array.from({ length: trainSize }, draw);
  const evalSet = Array.from({ length: evalSize }, draw);
  const alphabetOnlyLoss = (promptLength * Math.log(alphabetSize)) / (promptLength + 1);
  return { spec, alphabet, separatorId, permutation, train, eval: evalSet, alphabetOnlyLoss };
}
