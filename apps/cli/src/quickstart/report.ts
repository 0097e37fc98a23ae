import type { TaskAlphaInfo } from '@t2/transformer2-runtime';
import type { ExpertInfo } from '../lib/runtime';
import type { TableRow } from './accuracy-table';
import type { BoneRunResult } from './bone';

/** Everything the tour measured, as written to `<out>/quickstart.json`. */
export function quickstartReport(r: {
  model: string;
  experts: readonly ExpertInfo[];
  n: number;
  seed: number;
  fewShot: { shots: number; iterations?: number; population?: number };
  alphas: Record<string, TaskAlphaInfo>;
  rows: readonly TableRow[];
  bone?: { task: string; steps: number; r: number; result: BoneRunResult };
  backend: string;
  seconds: number;
}): unknown {
  return {
    model: r.model,
    experts: r.experts.map(({ name, label, role }) => ({ name, label, role })),
    n: r.n,
    seed: r.seed,
    fewShot: {
      ...r.fewShot,
      alpha: Object.fromEntries(Object.entries(r.alphas).map(([t, a]) => [t, a.alpha])),
    },
    accuracy: Object.fromEntries(
      r.rows.map(({ result }) => [
        result.strategy,
        {
          all: result.evaluation.accuracy,
          perFamily: Object.fromEntries(
            Object.entries(result.evaluation.perFamily).map(([f, s]) => [f, s.accuracy]),
          ),
          ...(result.routing && { routing: result.routing.accuracy }),
          msPerPrompt: result.timings.totalMs,
        },
      ]),
    ),
    ...(r.bone && {
      bone: {
        task: r.bone.task,
        steps: r.bone.steps,
        r: r.bone.r,
        before: r.bone.result.before,
        after: r.bone.result.after,
        dir: r.bone.result.dir,
      },
    }),
    backend: r.backend,
    seconds: r.seconds,
  };
}
