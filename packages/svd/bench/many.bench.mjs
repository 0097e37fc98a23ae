// svdMany against one-by-one svd in the same run: `node packages/svd/bench/many.bench.mjs
// [count] [m] [n] [threads]` (default 8 matrices of 4864×896, Qwen2.5-0.5B's MLP shape, on
// 2 threads). Uses the built package (npm run build first). Checks the factors are identical.
import { execSync } from 'node:child_process';
import { svd, svdMany } from '@t2/svd';

const [count, m, n, threads] = [8, 4864, 896, 2].map((d, i) => Number(process.argv[2 + i] ?? d));
let seed = 1;
const uniform = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648 - 0.5;
};
const jobs = Array.from({ length: count }, (_, i) => ({
  matrix: { shape: [m, n], data: Float32Array.from({ length: m * n }, uniform) },
  name: `w${i}`,
}));
const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/.*load/, 'load');

console.log(`${count} × ${m}×${n}, ${threads} threads; before: ${load()}`);
let t = performance.now();
const seq = jobs.map(({ matrix, name }) => svd(matrix, { name }));
const seqS = (performance.now() - t) / 1000;
console.log(`sequential: ${seqS.toFixed(1)} s (${(seqS / count).toFixed(2)} s each); ${load()}`);
t = performance.now();
const par = await svdMany(jobs, { threads });
const parS = (performance.now() - t) / 1000;
console.log(`svdMany:    ${parS.toFixed(1)} s; ${load()}`);
const same = seq.every((r, i) =>
  ['U', 'S', 'V'].every((key) =>
    Buffer.from(r[key].buffer).equals(Buffer.from(par[i][key].buffer)),
  ),
);
console.log(`sequential / svdMany = ${(seqS / parS).toFixed(2)}×; factors identical: ${same}`);
