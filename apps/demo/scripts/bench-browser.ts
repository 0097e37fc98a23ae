/**
 * tensor-core's wasm matmul in Debian's Chromium (headless): the demo page is built
 * with Vite, served by `vite preview` (cross-origin isolated, so the backend gets its
 * worker threads) and `window.t2demo.bench()` runs in the page's model worker.
 *
 *   npm run bench -w @t2/demo [-- --seconds S]
 *
 * Prints one JSON line per shape and thread count (and writes them as figures for the
 * root `npm run bench`, see bench/figures.ts); skipped with a message when Chromium is
 * missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchQuick, writeFigures } from '../../../bench/figures';
import type { BrowserBenchRow } from '../src/worker/bench';
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
    const rows = await page.evaluate(
      (s) =>
        (
          window as unknown as { t2demo: { bench(s: number): Promise<BrowserBenchRow[]> } }
        ).t2demo.bench(s),
      seconds,
    );
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
    writeFigures(
      'browser',
      rows.map((r) => ({
        name: `matmul/${r.shape}/chromium-wasm-${r.threads === 1 ? '1thread' : 'all-threads'}`,
        value: r.gflops,
        unit: 'GFLOP/s',
        better: 'higher',
        threads: r.threads,
      })),
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
