import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  NonFiniteInputError,
  SvdConvergenceError,
  type SvdJob,
  svd,
  svdEach,
  svdMany,
} from '../src/index';
import { poolStats } from '../src/many';
import { randomMatrix } from './helpers';

/** Mixed tall, wide, square and small matrices (each path of svd: QR first, transposed, QR sweeps). */
function batch(): SvdJob[] {
  const shapes: [number, number][] = [
    [300, 64],
    [64, 300],
    [120, 120],
    [200, 20],
    [17, 90],
    [300, 64],
  ];
  return shapes.map(([m, n], i) => ({
    matrix: { shape: [m, n], data: randomMatrix(m, n, 100 + i) },
    name: `layers.${i}.weight`,
  }));
}

/** Bitwise equality of two float64 arrays (NaN-safe, tells −0 from 0). */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

function expectSame(jobs: SvdJob[], results: Awaited<ReturnType<typeof svdMany>>): void {
  expect(results).toHaveLength(jobs.length);
  jobs.forEach(({ matrix, ...opts }, i) => {
    const want = svd(matrix, opts);
    const got = results[i]!;
    expect([got.m, got.n, got.k], opts.name).toEqual([want.m, want.n, want.k]);
    expect(sameBits(got.U, want.U), `U of ${opts.name}`).toBe(true);
    expect(sameBits(got.S, want.S), `S of ${opts.name}`).toBe(true);
    expect(sameBits(got.V, want.V), `V of ${opts.name}`).toBe(true);
  });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('svdMany', () => {
  it('gives factors bit-identical to svd, in job order, on two worker threads', async () => {
    const jobs = batch();
    const before = poolStats.workersStarted;
    const results = await svdMany(jobs, { threads: 2 });
    expect(poolStats.workersStarted - before).toBe(2);
    expectSame(jobs, results);
  });

  it('passes rank and the other svd options to each matrix', async () => {
    const jobs: SvdJob[] = [
      { matrix: { rows: 80, cols: 30, data: randomMatrix(80, 30, 7) }, name: 'a', rank: 5 },
      { matrix: { rows: 30, cols: 80, data: Array.from(randomMatrix(30, 80, 8)) }, name: 'b' },
      { matrix: { shape: [40, 40], data: new Float32Array(randomMatrix(40, 40, 9)) }, rank: 0 },
    ];
    const results = await svdMany(jobs, { threads: 3 });
    expect(results.map((r) => r.k)).toEqual([5, 30, 0]);
    expectSame(jobs, results);
  });

  it('threads: 1 (and T2_SVD_THREADS=1) decompose on the calling thread, same factors', async () => {
    const jobs = batch().slice(0, 3);
    const before = poolStats.workersStarted;
    expectSame(jobs, await svdMany(jobs, { threads: 1 }));
    vi.stubEnv('T2_SVD_THREADS', '1');
    expectSame(jobs, await svdMany(jobs));
    // One matrix never starts a worker either.
    expectSame(jobs.slice(0, 1), await svdMany(jobs.slice(0, 1), { threads: 4 }));
    expect(poolStats.workersStarted).toBe(before);
    expect(await svdMany([], { threads: 2 })).toEqual([]);
  });

  it('by default keeps a small batch on the calling thread and spreads a large one', async () => {
    vi.stubEnv('T2_SVD_THREADS', '');
    const before = poolStats.workersStarted;
    expectSame(batch(), await svdMany(batch()));
    expect(poolStats.workersStarted).toBe(before);
    // 2 × 600·300·300 = 1.08e8 < 2^27; 3 of them are above it.
    const big = (count: number): SvdJob[] =>
      Array.from({ length: count }, (_, i) => ({
        matrix: { rows: 600, cols: 300, data: randomMatrix(600, 300, i) },
        name: `big${i}`,
      }));
    expectSame(big(2), await svdMany(big(2)));
    expect(poolStats.workersStarted).toBe(before);
    const jobs = big(3);
    expectSame(jobs, await svdMany(jobs));
    expect(poolStats.workersStarted).toBeGreaterThan(before);
  });

  it('takes the thread count from T2_SVD_THREADS and checks it', async () => {
    const jobs = batch().slice(0, 2);
    vi.stubEnv('T2_SVD_THREADS', '2');
    const before = poolStats.workersStarted;
    expectSame(jobs, await svdMany(jobs));
    expect(poolStats.workersStarted - before).toBe(2);
    vi.stubEnv('T2_SVD_THREADS', 'two');
    await expect(svdMany(jobs)).rejects.toThrow(/T2_SVD_THREADS \("two"\) must be an integer ≥ 1/);
    await expect(svdMany(jobs, { threads: 0 })).rejects.toThrow(/threads must be an integer ≥ 1/);
  });

  it('rejects with the name of the matrix that holds a NaN, as NonFiniteInputError', async () => {
    const jobs = batch();
    const bad = new Float64Array(randomMatrix(64, 300, 3));
    bad[5 * 300 + 7] = Number.NaN;
    jobs[3] = { matrix: { shape: [64, 300], data: bad }, name: 'layers.3.mlp.up_proj.weight' };
    const err = await svdMany(jobs, { threads: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteInputError);
    expect((err as NonFiniteInputError).matrixName).toBe('layers.3.mlp.up_proj.weight');
    expect((err as Error).message).toMatch(/"layers\.3\.mlp\.up_proj\.weight".*at \[5, 7\]/);
    await expect(svdMany(jobs, { threads: 1 })).rejects.toThrow(err as Error);
  });

  it('keeps SvdConvergenceError and its fields across the thread boundary', async () => {
    const jobs = batch().slice(0, 2);
    jobs[1] = { ...jobs[1]!, maxIterations: 3 };
    const err = (await svdMany(jobs, { threads: 2 }).catch(
      (e: unknown) => e,
    )) as SvdConvergenceError;
    expect(err).toBeInstanceOf(SvdConvergenceError);
    let direct: unknown;
    try {
      svd(jobs[1]!.matrix, jobs[1]!);
    } catch (e) {
      direct = e;
    }
    expect({ ...err, message: err.message }).toEqual({
      ...(direct as SvdConvergenceError),
      message: (direct as Error).message,
    });
  });

  it('calls an unnamed matrix by its index', async () => {
    const data = randomMatrix(30, 20, 1);
    data[0] = Number.POSITIVE_INFINITY;
    const jobs: SvdJob[] = [0, 1, 2].map((i) => ({
      matrix: { rows: 30, cols: 20, data: i === 1 ? data : randomMatrix(30, 20, i) },
    }));
    await expect(svdMany(jobs, { threads: 2 })).rejects.toThrow(/matrix "A\[1\]"/);
    await expect(svdMany(jobs, { threads: 1 })).rejects.toThrow(/matrix "A\[1\]"/);
  });

  it('names the matrix in other errors from a worker', async () => {
    const jobs = batch().slice(0, 2);
    jobs[1] = { ...jobs[1]!, rank: 9999 };
    await expect(svdMany(jobs, { threads: 2 })).rejects.toThrow(
      /rank for "layers\.1\.weight" must be an integer in \[0, 64\]/,
    );
  });
});

describe('svdEach', () => {
  it('hands every result to the callback once, with its index, and waits for async callbacks', async () => {
    const jobs = batch();
    const seen = new Map<number, Awaited<ReturnType<typeof svdMany>>[number]>();
    await svdEach(
      jobs,
      async (r, i) => {
        await new Promise((ok) => setTimeout(ok, 5));
        expect(seen.has(i)).toBe(false);
        seen.set(i, r);
      },
      { threads: 2 },
    );
    expectSame(
      jobs,
      jobs.map((_, i) => seen.get(i)!),
    );
  });

  it('rejects with the error of a callback and stops', async () => {
    const jobs = batch();
    let calls = 0;
    await expect(
      svdEach(
        jobs,
        () => {
          calls++;
          throw new Error('cache full');
        },
        { threads: 2 },
      ),
    ).rejects.toThrow('cache full');
    expect(calls).toBeLessThan(jobs.length);
  });
});

describe('the worker pool', () => {
  // A separate Node process: it must exit by itself once svdMany settles, resolved or rejected.
  const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  const script = `
    const { svdMany } = await import(${JSON.stringify(src)});
    const m = (s) => ({ shape: [50, 20], data: Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i * s)) });
    const ok = await svdMany([m(1), m(2), m(3)].map((matrix, i) => ({ matrix, name: 'w' + i })), { threads: 2 });
    const bad = m(4); bad.data[3] = Infinity;
    const err = await svdMany([m(1), bad, m(3)].map((matrix, i) => ({ matrix, name: 'w' + i })), { threads: 2 }).catch((e) => e);
    console.log(ok.length, err.matrixName);
  `;

  it('lets the process exit after success and after a failure', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 30_000 },
    );
    expect(stdout.trim()).toBe('3 w1');
  });
});
