/**
 * The demo in a real browser: Debian's Chromium, headless, with WebGL2 and WebGPU emulated
 * on the CPU (SwiftShader). A fixture model is made with the t2 CLI, the page is built with
 * Vite and served by `vite preview`; screenshots go to apps/demo/test-results/.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors } from '@t2/tensor-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ModelInfo, Spectrum } from '../src/protocol';
import { kernelCases } from '../src/selftest/cases';
import type { SelftestReport } from '../src/selftest/selftest';
import type { ChatTurn } from '../src/ui/chat-view';
import type { TrainingLog } from '../src/ui/train-view';
import { chromiumMissing, launchChromium } from './support/browser';
import { buildFixtureModel, REPO } from './support/fixture';
import { buildPage, type PreviewServer, startPreview } from './support/server';

const RESULTS = join(REPO, 'apps/demo/test-results');
const missing = chromiumMissing();
// CI installs Chromium (.ci/run); elsewhere a missing browser skips rather than fails.
const suite = missing && !process.env.CI ? describe.skip : describe;
if (missing) console.warn(`demo e2e: ${missing}`);

interface DemoWindow {
  t2demo: {
    ready: Promise<void>;
    backend: { active: string; requested: string; note?: string };
    model: ModelInfo;
    app: { model: ModelInfo | null };
    chat: ChatTurn[];
    training: TrainingLog;
    spectrum(): Spectrum | null;
    selftest(
      backend: string,
      thread?: 'worker' | 'main',
      opts?: { only?: string[]; variant?: 'page' | 'defaults' },
    ): Promise<SelftestReport>;
  };
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width: 1200, height: 900 },
    acceptDownloads: true,
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as DemoWindow).t2demo?.ready !== undefined);
  await page.evaluate(() => (window as unknown as DemoWindow).t2demo.ready);
  expect(errors).toEqual([]);
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(RESULTS, name), fullPage: true });

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** A 20-step LoRA run on the count task from the train view, as the user starts it. */
async function loraRun(page: Page) {
  await page.click('[data-testid=tab-train]');
  await page.selectOption('[data-testid=method]', 'lora');
  await page.selectOption('[data-testid=task]', 'count');
  await page.fill('[data-testid=steps]', '20');
  await page.fill('[data-testid=lr]', '0.02');
  await page.fill('[data-testid=eval-every]', '10');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(
    () => {
      const t = (window as unknown as DemoWindow).t2demo.training;
      return t.result || t.error;
    },
    null,
    { timeout: 180_000 },
  );
  return page.evaluate(() => (window as unknown as DemoWindow).t2demo.training);
}

function failures(r: SelftestReport): string[] {
  return r.results.filter((x) => !x.ok).map((x) => `${x.kernel}: ${x.name}`);
}

suite('demo in Chromium', () => {
  let tmp: string;
  let models: string;
  let server: PreviewServer;

  beforeAll(async () => {
    await mkdir(RESULTS, { recursive: true });
    tmp = await mkdtemp(join(tmpdir(), 't2-demo-e2e-'));
    models = await buildFixtureModel(tmp);
    const outDir = join(tmp, 'dist');
    await buildPage(outDir, models);
    server = await startPreview(outDir, models);
  });

  afterAll(async () => {
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('with a WebGPU adapter', () => {
    let browser: Browser;
    let page: Page;
    beforeAll(async () => {
      browser = await launchChromium('webgpu');
      page = await openPage(browser, server.url);
    });
    afterAll(async () => {
      await browser?.close();
    });

    test('loads the model; shows the WebGPU adapter and the fallback to WebGL2', async () => {
      const state = await page.evaluate(() => {
        const d = (window as unknown as DemoWindow).t2demo;
        return { backend: d.backend, model: d.model };
      });
      expect(state.model.name).toBe('t2-tiny');
      expect(state.model.layers).toBe(2);
      expect(state.model.experts.map((e) => e.name)).toEqual(['arith', 'logic', 'string']);
      expect(state.backend).toMatchObject({ requested: 'webgpu', active: 'gpujs-webgl2' });
      await expect(page.textContent('[data-testid=capabilities]')).resolves.toMatch(
        /WebGPU adapter: .*swiftshader/,
      );
      const note = page.locator('[data-testid=backend-note]');
      expect(await note.isVisible()).toBe(true);
      expect(await note.textContent()).toMatch(
        /webgpu \(adapter: .*\): .* the model computes on gpujs-webgl2; the kernels tab runs tensor-core's kernel suite on WebGPU/,
      );
      expect(await page.textContent('[data-testid=backend-active]')).toBe('gpujs-webgl2');
      expect(await page.textContent('[data-testid=model-status]')).toMatch(/3 experts/);
      await shot(page, 'load-webgpu-fallback.png');
    });

    test('chat: pass 1 decides, the answer streams in, the trace shows α per expert', async () => {
      const send = async (prompt: string, strategy: string, label?: string) => {
        await page.fill('[data-testid=prompt]', prompt);
        await page.selectOption('[data-testid=strategy]', strategy);
        if (label) await page.selectOption('[data-testid=oracle-label]', label);
        const before = await page.evaluate(
          () => (window as unknown as DemoWindow).t2demo.chat.length,
        );
        await page.click('[data-testid=send]');
        await page.waitForFunction(
          (n) => {
            const turns = (window as unknown as DemoWindow).t2demo.chat;
            return turns.length > n && (turns.at(-1)!.trace || turns.at(-1)!.error);
          },
          before,
          { timeout: 120_000 },
        );
        return page.evaluate(() => (window as unknown as DemoWindow).t2demo.chat.at(-1)!);
      };

      const routed = await send('25+39=', 'prompt');
      expect(routed.error).toBeUndefined();
      // Pass 1 was announced before pass 2 began, and says what the final trace says.
      expect(routed.pass1).not.toBeNull();
      expect(routed.pass1!.pass1Output).toBe(routed.trace!.pass1Output);
      expect(routed.pass1!.label).toBe(routed.trace!.label);
      expect(routed.trace!.timings.totalMs).toBeGreaterThan(0);

      const oracle = await send('38+51=', 'oracle', 'math');
      expect(oracle.error).toBeUndefined();
      expect(oracle.trace!.alpha).toEqual({ arith: 1, logic: 0, string: 0 });
      expect(oracle.pass1!.alpha).toEqual({ arith: 1, logic: 0, string: 0 });
      // The streamed tokens add up to the answer the runtime returned.
      const streamed = await page.textContent('.turn:first-child [data-testid=answer]');
      expect(streamed).toBe(oracle.answer || '(empty)');
      const bar = page.locator('.turn:first-child .alpha-row[data-expert=arith]');
      expect(await bar.getAttribute('data-alpha')).toBe('1');
      expect(await page.textContent('.turn:first-child [data-testid=timings]')).toMatch(
        /pass 1 .* pass 2 .* on gpujs-webgl2/,
      );
      await shot(page, 'chat.png');
    });

    test("tensor-core's op suite passes on webgpu through the async kernel set", async () => {
      await page.click('[data-testid=tab-kernels]');
      await page.click('[data-testid=selftest-webgpu]');
      const shown = '[data-testid=selftest-report][data-backend=webgpu]';
      await page.waitForSelector(shown, { timeout: 120_000 });
      const report = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.selftest('webgpu'),
      );
      console.log(
        `webgpu op suite (worker): ${report.passed}/${report.results.length} in ${report.ms.toFixed(0)} ms`,
      );
      expect(report.unavailable).toBeUndefined();
      expect(failures(report)).toEqual([]);
      expect(report.results).toHaveLength(kernelCases().length);
      expect(report).toMatchObject({ backend: 'webgpu', async: true, pipelined: true });
      // Every arithmetic kernel ran as a WebGPU compute shader; none fell back to cpu.
      expect(report.compiled!.length).toBeGreaterThan(50);
      for (const k of report.compiled!) expect(k.modes, k.key).toEqual(['webgpu']);
      expect(await page.getAttribute(shown, 'data-ok')).toBe('true');
      await expect(
        page.textContent('[data-testid=selftest-summary-row][data-backend=webgpu]'),
      ).resolves.toMatch(new RegExp(`${kernelCases().length}/${kernelCases().length}`));
      await shot(page, 'kernels-webgpu.png');
    });

    test('the webgpu op suite also passes on the main thread', async () => {
      const report = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.selftest('webgpu', 'main'),
      );
      console.log(
        `webgpu op suite (main thread): ${report.passed}/${report.results.length} in ${report.ms.toFixed(0)} ms`,
      );
      expect(failures(report)).toEqual([]);
      expect(report.results).toHaveLength(kernelCases().length);
    });

    let webglLosses: number[] = [];

    test('train: a short LoRA run shows a falling loss curve and downloads PEFT files', async () => {
      const log = await loraRun(page);
      expect(log.error).toBeUndefined();
      expect(log.result).toMatchObject({ method: 'lora', steps: 20, stopped: false });
      const losses = log.losses.map(([, l]) => l);
      webglLosses = losses;
      expect(losses).toHaveLength(20);
      console.log(`lora on count: loss ${losses.map((l) => l.toFixed(2)).join(' ')}`);
      expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.5);
      expect(log.evals.map(([s]) => s)).toEqual([0, 10, 20]);
      const points = await page.getAttribute('[data-testid=loss-chart] polyline', 'points');
      expect(points!.trim().split(/\s+/)).toHaveLength(20);

      const downloads: Record<string, Buffer> = {};
      const got = new Promise<void>((resolve) => {
        page.on('download', async (d) => {
          downloads[d.suggestedFilename()] = await readFile((await d.path())!);
          if (Object.keys(downloads).length === 2) resolve();
        });
      });
      await page.click('[data-testid=train-download]');
      await got;
      const config = JSON.parse(downloads['adapter_config.json']!.toString('utf8'));
      expect(config.peft_type).toBe('LORA');
      expect(config.r).toBe(4);
      const weights = parseSafetensors(new Uint8Array(downloads['adapter_model.safetensors']!));
      const names = [...weights.tensors.keys()];
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((n) => /lora_[AB]\.weight$/.test(n))).toBe(true);
      await shot(page, 'train-lora.png');
    });

    test('the WebGL2 run (results on the GPU) follows the js backend step for step', async () => {
      expect(webglLosses).toHaveLength(20);
      const jsPage = await openPage(browser, `${server.url}?backend=js`);
      try {
        const log = await loraRun(jsPage);
        expect(log.error).toBeUndefined();
        const js = log.losses.map(([, l]) => l);
        console.log(`lora on count, js backend: loss ${js.map((l) => l.toFixed(2)).join(' ')}`);
        expect(js).toHaveLength(20);
        // Same seed, same batches: float32 on the GPU against float32 on the CPU.
        webglLosses.forEach((l, k) => {
          expect(Math.abs(l - js[k]!), `step ${k + 1}`).toBeLessThanOrEqual(0.01 * js[k]!);
        });
      } finally {
        await jsPage.close();
      }
    });

    test('training runs off the main thread and stops between steps', async () => {
      await page.selectOption('[data-testid=method]', 'bone');
      await page.fill('[data-testid=steps]', '500');
      await page.fill('[data-testid=eval-every]', '0');
      await page.click('[data-testid=train-start]');
      await page.waitForFunction(
        () => (window as unknown as DemoWindow).t2demo.training.losses.length >= 2,
        null,
        { timeout: 60_000 },
      );
      // The page answers at once while the worker trains.
      const lags: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        await page.evaluate(() => document.querySelectorAll('*').length);
        lags.push(Date.now() - t0);
      }
      expect(Math.max(...lags)).toBeLessThan(500);
      await page.click('[data-testid=train-stop]');
      await page.waitForFunction(
        () => {
          const t = (window as unknown as DemoWindow).t2demo.training;
          return t.result || t.error;
        },
        null,
        { timeout: 60_000 },
      );
      const log = await page.evaluate(() => (window as unknown as DemoWindow).t2demo.training);
      expect(log.error).toBeUndefined();
      expect(log.result!.stopped).toBe(true);
      expect(log.result!.steps).toBeLessThan(500);
      expect(log.losses).toHaveLength(log.result!.steps);
      expect(await page.textContent('[data-testid=train-progress]')).toMatch(/^stopped after/);
    });

    test('train SVF with REINFORCE, then inspect the spectrum and the masks per expert', async () => {
      await page.selectOption('[data-testid=method]', 'svf-reinforce');
      await page.selectOption('[data-testid=task]', 'arith');
      await page.fill('[data-testid=steps]', '3');
      await page.fill('[data-testid=batch]', '4');
      await page.fill('[data-testid=eval-every]', '0');
      await page.click('[data-testid=train-start]');
      await page.waitForFunction(
        () => {
          const t = (window as unknown as DemoWindow).t2demo.training;
          return t.method === 'svf-reinforce' && (t.result || t.error);
        },
        null,
        { timeout: 120_000 },
      );
      const log = await page.evaluate(() => (window as unknown as DemoWindow).t2demo.training);
      expect(log.error).toBeUndefined();
      expect(log.rewards).toHaveLength(3);
      for (const [, r] of log.rewards) expect(Math.abs(r)).toBeLessThanOrEqual(1);
      await shot(page, 'train-svf.png');

      await page.click('[data-testid=tab-svf]');
      await page.waitForFunction(
        () => (window as unknown as DemoWindow).t2demo.spectrum() !== null,
      );
      const s = await page.evaluate(() => (window as unknown as DemoWindow).t2demo.spectrum()!);
      expect(s.weight).toBe('model.layers.0.mlp.up_proj');
      expect(s.shape).toEqual([64, 32]);
      expect(s.singularValues).toHaveLength(32);
      for (let i = 1; i < 32; i++)
        expect(s.singularValues[i]!).toBeLessThanOrEqual(s.singularValues[i - 1]!);
      // Three experts from the folder and the one trained here, each a mask in (0, maxMult).
      expect(s.masks.map((m) => m.expert)).toEqual(['arith', 'logic', 'string', 'trained here']);
      for (const m of s.masks) {
        expect(m.values).toHaveLength(32);
        for (const v of m.values) expect(v > 0 && v < s.maxMult).toBe(true);
      }
      expect(await page.locator('[data-testid=spectrum-chart] rect').count()).toBe(32);
      expect(await page.locator('[data-testid=mask-chart] polyline').count()).toBe(4);
      await shot(page, 'inside-svf.png');

      // The trained expert replaces the folder's expert of its category for chat.
      await page.click('[data-testid=tab-train]');
      await page.click('[data-testid=train-use]');
      await page.waitForFunction(() =>
        (window as unknown as DemoWindow).t2demo.app.model?.experts.some((e) => e.name === 'math'),
      );
      const experts = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.app.model!.experts.map(
          (e) => `${e.name}:${e.label}`,
        ),
      );
      expect(experts).toEqual(['logic:logic', 'string:string', 'math:math']);
    });
  });

  describe('on WebGL2', () => {
    let browser: Browser;
    let page: Page;
    beforeAll(async () => {
      browser = await launchChromium('webgl2');
      page = await openPage(browser, `${server.url}?backend=gpujs-webgl2`);
    });
    afterAll(async () => {
      await browser?.close();
    });

    test('loads a Hugging Face folder the user picks', async () => {
      await page.setInputFiles('[data-testid=dropzone] input[type=file]', join(models, 't2-tiny'));
      await page.waitForFunction(
        () => (window as unknown as DemoWindow).t2demo.app.model?.source === 'files',
        null,
        { timeout: 60_000 },
      );
      const m = await page.evaluate(() => (window as unknown as DemoWindow).t2demo.app.model!);
      expect(m.name).toBe('t2-tiny');
      expect(m.experts.map((e) => e.name)).toEqual(['arith', 'logic', 'string']);
      expect(m.parameters).toBeGreaterThan(20_000);
    });

    test("tensor-core's op suite passes in the page's worker on webgl2", async () => {
      expect(
        await page.evaluate(() => (window as unknown as DemoWindow).t2demo.backend),
      ).toMatchObject({ active: 'gpujs-webgl2', requested: 'gpujs-webgl2' });
      await page.click('[data-testid=tab-kernels]');
      await page.click('[data-testid=selftest-worker]');
      await page.waitForSelector('[data-testid=selftest-report][data-backend=gpujs-webgl2]', {
        timeout: 120_000,
      });
      const report = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.selftest('gpujs-webgl2'),
      );
      expect(failures(report)).toEqual([]);
      expect(report.results.length).toBeGreaterThan(80);
      // The page computes with tensor-core's defaults: intermediates stay on the GPU.
      expect(report.pipelined).toBe(true);
      // Every kernel ran on the GPU, none fell back to gpu.js's CPU mode.
      expect(report.compiled!.length).toBeGreaterThan(50);
      for (const k of report.compiled!) expect(k.modes).toEqual(['gpu']);
      // A small LLaMA's training step keeps every op's result on the GPU: nothing is read
      // back during forward and backward, then the loss and each gradient once; the loss
      // and gradients agree with the js backend.
      const x = report.residency!;
      console.log(`webgl2 training step: ${JSON.stringify(x)}`);
      expect(x).toMatchObject({ ok: true, resident: true, readbacksDuringPass: 0 });
      expect(x.readbacks).toBe(1 + x.parameters);
      expect(await page.getAttribute('[data-testid=selftest-residency]', 'data-resident')).toBe(
        'true',
      );
      expect(
        await page.getAttribute(
          '[data-testid=selftest-report][data-backend=gpujs-webgl2]',
          'data-ok',
        ),
      ).toBe('true');
      await shot(page, 'kernels-webgl2.png');
    });

    test('the op suite also passes on the main thread', async () => {
      const report = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.selftest('gpujs-webgl2', 'main'),
      );
      expect(failures(report)).toEqual([]);
    });

    test('on WebGL1 too: the op suite, and the training step reads back only at its end', async () => {
      const report = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.selftest('gpujs-webgl', 'worker', {
          variant: 'defaults',
        }),
      );
      expect(report.unavailable).toBeUndefined();
      expect(failures(report)).toEqual([]);
      expect(report.residency).toMatchObject({ ok: true, resident: true, readbacksDuringPass: 0 });
    });

    test("the op suite also passes with tensor-core's defaults (intermediates on the GPU)", async () => {
      const report = await page.evaluate(() =>
        (window as unknown as DemoWindow).t2demo.selftest('gpujs-webgl2', 'worker', {
          variant: 'defaults',
        }),
      );
      expect(report.pipelined).toBe(true);
      for (const r of report.results.filter((x) => !x.ok))
        console.log(`webgl2 (tensor-core defaults) FAIL ${r.kernel}: ${r.name} — ${r.error}`);
      expect(failures(report)).toEqual([]);
    });
  });
});
