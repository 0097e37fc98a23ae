import type { Sample } from '@t2/tasks';
import type { StrategyName, Trace, Transformer2Runtime } from '@t2/transformer2-runtime';
import { fewShotTask } from '@t2/transformer2-runtime';
import { inlineAlpha } from './alpha-inline';

export interface DemoAnswer {
  strategy: StrategyName;
  answer: string;
  correct: boolean;
  trace: Trace;
}

export interface DemoPrompt {
  sample: Sample;
  answers: DemoAnswer[];
}

/**
 * Answers each sample with each strategy (few-shot α must be cached for its family; the
 * oracle is told the sample's category) and scores the answers with the family's reward.
 */
export async function demoAnswers(
  runtime: Transformer2Runtime<unknown, unknown>,
  samples: readonly Sample[],
  strategyNames: readonly StrategyName[],
  reward: (sample: Sample, output: string) => boolean,
): Promise<DemoPrompt[]> {
  const out: DemoPrompt[] = [];
  for (const sample of samples) {
    const answers: DemoAnswer[] = [];
    for (const strategy of strategyNames) {
      const { output, trace } = await runtime.generate(sample.prompt, {
        strategy,
        label: sample.category,
        task: fewShotTask(sample),
      });
      const end = output.indexOf('\n');
      const answer = (end < 0 ? output : output.slice(0, end)).trim();
      answers.push({ strategy, answer, correct: reward(sample, output), trace });
    }
    out.push({ sample, answers });
  }
  return out;
}

/** How pass 1 decided, in a few words. */
function pass1(trace: Trace): string {
  if (trace.pass1Output !== undefined)
    return `pass 1 ${JSON.stringify(trace.pass1Output)} → ${trace.label}`;
  if (trace.strategy === 'oracle') return `label ${trace.label}`;
  if (trace.strategy === 'few-shot') return `task ${trace.task} (α from ${trace.alphaSource})`;
  return 'no pass 1';
}

/** Each prompt with one line per strategy: answer, ✓/✗, pass 1, α, time. */
export function renderDemo(prompts: readonly DemoPrompt[]): string[] {
  const lines: string[] = [];
  const strategyWidth = Math.max(
    ...prompts.flatMap((p) => p.answers.map((a) => a.strategy.length)),
  );
  for (const { sample, answers } of prompts) {
    lines.push(
      `${JSON.stringify(sample.prompt)}  expected ${JSON.stringify(sample.answer)}  (${sample.family}, category ${sample.category})`,
    );
    const answerWidth = Math.max(...answers.map((a) => JSON.stringify(a.answer).length));
    const routeWidth = Math.max(...answers.map((a) => pass1(a.trace).length));
    const alphaWidth = Math.max(...answers.map((a) => inlineAlpha(a.trace.alpha).length));
    for (const a of answers) {
      lines.push(
        `  ${a.strategy.padEnd(strategyWidth)}  ${JSON.stringify(a.answer).padEnd(answerWidth)} ${a.correct ? '✓' : '✗'}  ${pass1(a.trace).padEnd(routeWidth)}  ${inlineAlpha(a.trace.alpha).padEnd(alphaWidth)}  ${Math.round(a.trace.timings.totalMs).toString().padStart(4)} ms`,
      );
    }
  }
  return lines;
}
