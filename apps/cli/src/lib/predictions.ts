import type { Evaluation, Sample } from '@t2/tasks';
import { writeFileAtomic } from '@t2/tensor-core';

/**
 * One JSON line per sample (prompt, answer, output, correct, family, category, pass-1 label),
 * written atomically: what paired comparisons of two runs on the same problems need.
 */
export async function writePredictions(
  file: string,
  samples: readonly Sample[],
  outputs: readonly string[],
  evaluation: Evaluation,
  labels?: readonly (string | null | undefined)[],
): Promise<void> {
  const lines = samples.map((s, i) =>
    JSON.stringify({
      prompt: s.prompt,
      answer: s.answer,
      output: outputs[i],
      correct: evaluation.results[i]!.correct,
      ...(s.family !== undefined && { family: s.family }),
      ...(s.category !== undefined && { category: s.category }),
      ...(labels && { label: labels[i] ?? null }),
    }),
  );
  await writeFileAtomic(file, `${lines.join('\n')}\n`);
}
