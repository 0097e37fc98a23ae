/**
 * tensor-core's wasm matmul, and a training step on gpu.js WebGL2 (results kept on the
 * GPU vs read back after every op), in Debian's Chromium (headless; WebGL2 is SwiftShader,
 * a CPU rasterizer): the demo page is built with Vite, served by `vite preview`
 * (cross-origin isolated, so the wasm backend gets its worker threads) and
 * `window.t2demo.bench()` runs in the page's model worker.
 *
 *   npm run bench -w @t2/demo [-- --seconds S]
 *
 * Prints one JSON line per shape and thread count and per WebGL2 variant (and writes them as figures for the
 * root `npm run bench`, see bench/figures.ts); skipped with a message when Chromium is
 * missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchQuick, writeFigures } from '../../../bench/figures';
import type { BrowserBenchRow, GlTrainingBenchRow } from '../src/worker/bench';
import { chromiumMissing, launchChromium } from '../test/support/browser';
import { REPO } from '../test/support/fixture';
import { buildPage, startPreview } from '../test/support/server';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: benchQuick ? '0.6' : '3' } },
});

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) {
    console.log(`bench-browser: skipped (${missing}; sudo apt-get install chromium)`);
    return;
  }
  const tmp = await mkdtemp(join(tmpdir(), 't2-bench-browser-'));
  const models = join(REPO, 'models');
  const outDir = join(tmp, 'dist');
  await buildPage(outDir, models);
  const server = await startPreview(outDir, models);
  const browser = await launchChromium('webgl2');
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => 't2demo' in window);
    const seconds = Number(values.seconds);
    const info = await page.evaluate(async () => {
      const demo = (window as unknown as { t2demo: { ready: Promise<void> } }).t2demo;
      await demo.ready;
      return { isolated: globalThis.crossOriginIsolated, cores: navigator.hardwareConcurrency };
    });
    type Bench = { t2demo: { bench(s: number, which?: string): Promise<unknown> } };
    const rows = (await page.evaluate(
      (s) => (window as unknown as Bench).t2demo.bench(s, 'matmul'),
      seconds,
    )) as BrowserBenchRow[];
    const gl = (await page.evaluate(
      (s) => (window as unknown as Bench).t2demo.bench(s, 'gl-training'),
      seconds,
    )) as GlTrainingBenchRow[];
    const version = browser.version();
    const out = rows.map((r) => ({
      bench: 'matmul',
      where: 'chromium wasm',
      chromium: version,
      crossOriginIsolated: info.isolated,
      ...r,
      gflops: Math.round(r.gflops * 10) / 10,
    }));
    for (const row of out) console.log(JSON.stringify(row));
    const readback = gl.find((r) => r.variant === 'readback')!;
    for (const r of gl) {
      console.log(
        JSON.stringify({
          bench: 'train step, small LLaMA',
          where: 'chromium webgl2 (SwiftShader)',
          ...r,
          msPerStep: Math.round(r.msPerStep * 10) / 10,
          speedupOverReadback: Math.round((readback.msPerStep / r.msPerStep) * 100) / 100,
        }),
      );
    }
    writeFigures(
      'browser',
      [
        ...rows.map((r) => ({
          name: `matmul/${r.shape}/chromium-wasm-${r.threads === 1 ? '1thread' : 'all-threads'}`,
          value: r.gflops,
          unit: 'GFLOP/s',
          better: 'higher' as const,
          threads: r.threads,
        })),
        ...gl.map((r) => ({
          name: `train/small-llama/chromium-webgl2-${r.variant}`,
          value: r.msPerStep,
          unit: 'ms/step',
          better: 'lower' as const,
          readbacksPerStep: r.readbacksPerStep,
        })),
      ],
      { chromium: version, crossOriginIsolated: info.isolated, cores: info.cores },
    );
  } finally {
    await browser.close();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
