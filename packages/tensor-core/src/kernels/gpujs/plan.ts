import type { KernelArg } from './context';

/**
 * The output of an earlier launch of the same plan, read by a later launch with the
 * same [x, y, z] indexing as the launch's output extents.
 */
export class StepOutput {
  constructor(
    readonly step: number,
    readonly output: readonly number[],
  ) {}
}

export type PlanArg = KernelArg | StepOutput;

/** One gpu.js kernel launch: which kernel, over which output, reading what. */
export interface KernelLaunch {
  /** Cache key of the compiled kernel: the op plus whatever is baked into the source. */
  key: string;
  source: () => string;
  /** Output extents: [x], [x, y] or [x, y, z], x fastest. */
  output: readonly number[];
  args: readonly PlanArg[];
}

/**
 * The gpu.js kernels one Backend call launches, in order, and which outputs it returns.
 * A plan says *what* runs; run-plan.ts runs it synchronously (the Backend) or awaiting
 * each launch (gpu.js WebGPU, whose kernels return Promises). An output no later step
 * returns is an intermediate, which the executor may keep on the device.
 */
export class KernelPlan {
  readonly launches: KernelLaunch[] = [];
  readonly results: StepOutput[] = [];

  launch(
    key: string,
    source: () => string,
    output: readonly number[],
    ...args: PlanArg[]
  ): StepOutput {
    this.launches.push({ key, source, output, args });
    return new StepOutput(this.launches.length - 1, output);
  }

  /** The outputs the Backend call returns, in order. */
  returns(...outputs: StepOutput[]): this {
    this.results.push(...outputs);
    return this;
  }
}

/** A plan of a single launch returning its output. */
export function singleLaunch(
  key: string,
  source: () => string,
  output: readonly number[],
  ...args: PlanArg[]
): KernelPlan {
  const plan = new KernelPlan();
  return plan.returns(plan.launch(key, source, output, ...args));
}
