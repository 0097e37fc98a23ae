/** A learning-rate multiplier as a function of the step (0-based). */
export type Schedule = (step: number) => number;

export function constantSchedule(): Schedule {
  return () => 1;
}

/** Linear ramp from ~0 to 1 over `warmupSteps`, then constant. */
export function linearWarmup(warmupSteps: number): Schedule {
  return (step) => (warmupSteps > 0 && step < warmupSteps ? (step + 1) / warmupSteps : 1);
}

/** Linear warm-up, then cosine decay to `minRatio` at `totalSteps`. */
export function cosineSchedule(opts: {
  warmupSteps?: number;
  totalSteps: number;
  minRatio?: number;
}): Schedule {
  const { warmupSteps = 0, totalSteps, minRatio = 0 } = opts;
  return (step) => {
    if (step < warmupSteps) return (step + 1) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Sets `optimizer.lr = baseLr · schedule(step)`. */
export function applySchedule(
  optimizer: { lr: number },
  baseLr: number,
  schedule: Schedule,
  step: number,
): number {
  optimizer.lr = baseLr * schedule(step);
  return optimizer.lr;
}
