import { Rng } from '@t2/tensor-core';

/** How well one candidate α does: accuracy first, mean log-likelihood breaks ties. */
export interface CemScore {
  /** Fraction of examples answered correctly (or any score where higher is better). */
  accuracy: number;
  /** Mean log-likelihood of the correct answers; compared only when accuracies are equal. */
  logLik: number;
}

/** The quantity CEM maximises. It may be async (a model generating answers). */
export type CemObjective = (alpha: Float64Array) => Promise<CemScore> | CemScore;

export interface CemOptions {
  /** Number of coefficients searched (K, or K × layers). */
  dim: number;
  /** Candidates per iteration, the best member of the last iteration included. Default 32. */
  population?: number;
  /** Fraction of the population that refits the distribution. Default 0.2. */
  eliteRatio?: number;
  /** Number of populations evaluated. Default 10. */
  iterations?: number;
  /** Initial mean: one number for every coordinate, or one per coordinate. Default 0.5. */
  initMean?: number | ArrayLike<number>;
  /** Initial standard deviation of every coordinate. Default 0.5. */
  initStd?: number;
  /** Lower bound of the std after a refit, so the search never collapses entirely. Default 0. */
  minStd?: number;
  /** Candidates are clamped into this box. Default [0, 1]. */
  clamp?: readonly [number, number];
  /** Seed of the generator that draws the candidates. Default 0. */
  seed?: number;
  /** Called after every iteration, e.g. for a progress bar. */
  onIteration?: (progress: CemProgress) => void;
}

export interface CemProgress {
  /** 0-based index of the iteration just finished. */
  iteration: number;
  iterations: number;
  /** Best score seen so far. */
  best: CemScore;
  /** Best score among this iteration's candidates. */
  iterationBest: CemScore;
  /** Objective evaluations so far. */
  evaluations: number;
}

export interface CemIteration {
  iteration: number;
  /** Mean and std the candidates of this iteration were drawn from. */
  mean: Float64Array;
  std: Float64Array;
  /** This iteration's candidates (member 0 is the incumbent) and their scores, in population order. */
  candidates: Float64Array[];
  scores: CemScore[];
  /** Best score seen so far, after this iteration. */
  best: CemScore;
}

export interface CemResult {
  /** The best candidate ever evaluated. */
  alpha: Float64Array;
  score: CemScore;
  /** One entry per iteration. */
  history: CemIteration[];
  /** Objective evaluations in total (the kept best member is not evaluated twice). */
  evaluations: number;
}

/** Positive when `a` is better than `b`: higher accuracy, then higher log-likelihood. */
export function compareScores(a: CemScore, b: CemScore): number {
  if (a.accuracy !== b.accuracy) return a.accuracy > b.accuracy ? 1 : -1;
  if (a.logLik !== b.logLik) return a.logLik > b.logLik ? 1 : -1;
  return 0;
}

interface Resolved {
  dim: number;
  population: number;
  eliteCount: number;
  iterations: number;
  initMean: Float64Array;
  initStd: number;
  minStd: number;
  low: number;
  high: number;
  seed: number;
}

function resolve(opts: CemOptions): Resolved {
  const {
    dim,
    population = 32,
    eliteRatio = 0.2,
    iterations = 10,
    initStd = 0.5,
    minStd = 0,
    clamp = [0, 1],
    seed = 0,
  } = opts;
  if (!Number.isInteger(dim) || dim < 1)
    throw new Error(`cem: dim must be an integer ≥ 1, got ${dim}`);
  if (!Number.isInteger(population) || population < 2) {
    throw new Error(`cem: population must be an integer ≥ 2, got ${population}`);
  }
  if (!(eliteRatio > 0 && eliteRatio <= 1))
    throw new Error(`cem: eliteRatio must be in (0, 1], got ${eliteRatio}`);
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`cem: iterations must be an integer ≥ 1, got ${iterations}`);
  }
  if (!(initStd >= 0) || !Number.isFinite(initStd))
    throw new Error(`cem: initStd must be finite and ≥ 0, got ${initStd}`);
  if (!(minStd >= 0) || !Number.isFinite(minStd))
    throw new Error(`cem: minStd must be finite and ≥ 0, got ${minStd}`);
  const [low, high] = clamp;
  if (!(low <= high))
    throw new Error(`cem: clamp must be [low, high] with low ≤ high, got [${low}, ${high}]`);
  if (!Number.isInteger(seed)) throw new Error(`cem: seed must be an integer, got ${seed}`);
  const init = opts.initMean ?? 0.5;
  const initMean = new Float64Array(dim);
  if (typeof init === 'number') initMean.fill(init);
  else {
    if (init.length !== dim)
      throw new Error(`cem: initMean has ${init.length} values, dim is ${dim}`);
    initMean.set(Array.from(init));
  }
  for (let i = 0; i < dim; i++) {
    if (!Number.isFinite(initMean[i]!)) throw new Error(`cem: initMean[${i}] is ${initMean[i]}`);
    initMean[i] = Math.min(high, Math.max(low, initMean[i]!));
  }
  // The reference keeps int(population · eliteRatio) members; at least one must survive.
  const eliteCount = Math.max(1, Math.floor(population * eliteRatio));
  return { dim, population, eliteCount, iterations, initMean, initStd, minStd, low, high, seed };
}

function checkScore(score: CemScore, evaluation: number): CemScore {
  if (
    !score ||
    typeof score.accuracy !== 'number' ||
    Number.isNaN(score.accuracy) ||
    typeof score.logLik !== 'number' ||
    Number.isNaN(score.logLik)
  ) {
    throw new Error(
      `cem: the objective returned ${JSON.stringify(score)} for evaluation ${evaluation}; expected { accuracy, logLik } numbers`,
    );
  }
  return { accuracy: score.accuracy, logLik: score.logLik };
}

/**
 * The cross-entropy method as Transformer² uses it to find mixture coefficients:
 * draw a population from a diagonal Gaussian, clamp it into the box, keep the elite
 * fraction (by accuracy, ties broken by log-likelihood) and refit mean and std to it.
 * The first population contains the initial mean itself and every later one the best
 * member so far, so the result is never worse than the starting point.
 */
export async function cem(objective: CemObjective, options: CemOptions): Promise<CemResult> {
  const cfg = resolve(options);
  const rng = new Rng(cfg.seed);
  const mean = cfg.initMean.slice();
  const std = new Float64Array(cfg.dim).fill(cfg.initStd);
  const history: CemIteration[] = [];
  let best: { alpha: Float64Array; score: CemScore } | null = null;
  let evaluations = 0;

  for (let it = 0; it < cfg.iterations; it++) {
    const members: { alpha: Float64Array; score: CemScore }[] = [];
    // Member 0 is the incumbent (the initial mean on the first iteration); its score is reused.
    if (best) members.push(best);
    else {
      const alpha = mean.slice();
      members.push({ alpha, score: checkScore(await objective(alpha.slice()), evaluations++) });
    }
    while (members.length < cfg.population) {
      const alpha = new Float64Array(cfg.dim);
      for (let i = 0; i < cfg.dim; i++) {
        alpha[i] = Math.min(cfg.high, Math.max(cfg.low, mean[i]! + std[i]! * rng.normal()));
      }
      members.push({ alpha, score: checkScore(await objective(alpha.slice()), evaluations++) });
    }
    // A stable sort keeps population order among equal scores, so a tie goes to the incumbent.
    const ranked = members
      .map((m, index) => ({ ...m, index }))
      .sort((a, b) => compareScores(b.score, a.score) || a.index - b.index);
    if (!best || compareScores(ranked[0]!.score, best.score) > 0)
      best = { alpha: ranked[0]!.alpha, score: ranked[0]!.score };
    history.push({
      iteration: it,
      mean: mean.slice(),
      std: std.slice(),
      candidates: members.map((m) => m.alpha.slice()),
      scores: members.map((m) => m.score),
      best: best.score,
    });
    const elite = ranked.slice(0, cfg.eliteCount);
    for (let i = 0; i < cfg.dim; i++) {
      let m = 0;
      for (const e of elite) m += e.alpha[i]!;
      m /= elite.length;
      let v = 0;
      for (const e of elite) v += (e.alpha[i]! - m) ** 2;
      mean[i] = m;
      std[i] = Math.max(cfg.minStd, Math.sqrt(v / elite.length));
    }
    options.onIteration?.({
      iteration: it,
      iterations: cfg.iterations,
      best: best.score,
      iterationBest: ranked[0]!.score,
      evaluations,
    });
  }
  return { alpha: best!.alpha.slice(), score: best!.score, history, evaluations };
}
