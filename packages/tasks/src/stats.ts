import { Rng } from './rng';

/** A paired comparison of two systems scored on the same problems. */
export interface PairedComparison {
  /** Problems compared. */
  n: number;
  /** Mean score of each system (accuracy for 0/1 scores). */
  meanA: number;
  meanB: number;
  /** meanB − meanA. */
  diff: number;
  /** 95% paired-bootstrap percentile interval of `diff`. */
  ci95: [number, number];
  /** Two-sided p-value of "no difference": exact McNemar for 0/1 scores, else a sign-flip test. */
  pValue: number;
  /** Which test gave `pValue`. */
  test: 'mcnemar-exact' | 'sign-flip';
  /** Problems only B got right and only A got right (0/1 scores), or where B > A and A > B. */
  bBetter: number;
  aBetter: number;
}

export interface PairedOptions {
  /** Bootstrap resamples (and sign-flip draws). Default 10,000. */
  resamples?: number;
  seed?: number;
}

/**
 * Compares B against A on the same problems: `a[i]` and `b[i]` score problem i (0/1 for one
 * run, or a mean over seeds). Pairing removes the problem-to-problem variance that two
 * independent samples would carry, so effects of a few points are visible at n ≈ 1000.
 */
export function pairedComparison(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  opts: PairedOptions = {},
): PairedComparison {
  const n = a.length;
  if (b.length !== n) throw new Error(`pairedComparison: ${a.length} scores vs ${b.length}`);
  if (n === 0) throw new Error('pairedComparison: no problems');
  const resamples = opts.resamples ?? 10_000;
  const d = new Float64Array(n);
  let sumA = 0;
  let sumB = 0;
  let aBetter = 0;
  let bBetter = 0;
  let binary = true;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      throw new Error(`pairedComparison: score ${i} is not finite (${x}, ${y})`);
    }
    if ((x !== 0 && x !== 1) || (y !== 0 && y !== 1)) binary = false;
    sumA += x;
    sumB += y;
    d[i] = y - x;
    if (y > x) bBetter++;
    else if (x > y) aBetter++;
  }
  const diff = (sumB - sumA) / n;
  const rng = new Rng(opts.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(0, n - 1)]!;
    means[r] = s / n;
  }
  means.sort();
  const ci95: [number, number] = [quantile(means, 0.025), quantile(means, 0.975)];
  const pValue = binary ? mcnemarExact(bBetter, aBetter) : signFlipTest(d, resamples, rng);
  return {
    n,
    meanA: sumA / n,
    meanB: sumB / n,
    diff,
    ci95,
    pValue,
    test: binary ? 'mcnemar-exact' : 'sign-flip',
    bBetter,
    aBetter,
  };
}

/**
 * Exact two-sided McNemar test: under "no difference" each discordant problem is B-better
 * with probability 1/2, so the count is Binomial(b + c, 1/2).
 */
export function mcnemarExact(b: number, c: number): number {
  const m = b + c;
  if (m === 0) return 1;
  const k = Math.min(b, c);
  // P(X ≤ k) for X ~ Bin(m, 1/2), in log space so m in the thousands stays finite.
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(m, i) - m * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** Two-sided randomisation test of mean(d) = 0: each difference keeps or flips its sign. */
function signFlipTest(d: Float64Array, draws: number, rng: Rng): number {
  const observed = Math.abs(d.reduce((s, x) => s + x, 0));
  let extreme = 0;
  for (let r = 0; r < draws; r++) {
    let s = 0;
    for (let i = 0; i < d.length; i++) s += rng.next() < 0.5 ? d[i]! : -d[i]!;
    if (Math.abs(s) >= observed - 1e-12) extreme++;
  }
  return (extreme + 1) / (draws + 1);
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

const LOG_FACTORIALS: number[] = [0];
function logFactorial(n: number): number {
  for (let i = LOG_FACTORIALS.length; i <= n; i++)
    LOG_FACTORIALS.push(LOG_FACTORIALS[i - 1]! + Math.log(i));
  return LOG_FACTORIALS[n]!;
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
