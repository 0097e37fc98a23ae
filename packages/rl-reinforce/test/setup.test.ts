import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LlamaForCausalLM, loadModel, type TextTokenizer } from '@t2/llama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRlTrainer,
  prepareRlAdapter,
  type RlRunInfo,
  resumeProblem,
  rlRunFiles,
  trainWithCheckpoints,
  truncateLog,
} from '../src/index';

const bundled = fileURLToPath(new URL('../../../models/t2-tiny', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 't2-rl-setup-'));
  dirs.push(d);
  return d;
}

async function tiny(): Promise<{ model: LlamaForCausalLM; tokenizer: TextTokenizer }> {
  const { model, tokenizer } = await loadModel(bundled);
  return { model, tokenizer: tokenizer! };
}

const run: RlRunInfo = {
  format: 't2-rl-run',
  method: 'svf',
  task: 'arith',
  data: null,
  reward: 'task',
  label: 'math',
  targets: ['gate_proj', 'up_proj', 'down_proj'],
  r: null,
  model: 'models/t2-tiny',
};

describe('prepareRlAdapter', () => {
  it('svf: z of the MLP projections by default, switched off for the base pass, saved as an expert', async () => {
    const { model } = await tiny();
    const a = await prepareRlAdapter(model, 'svf', {
      seed: 0,
      r: 4,
      alpha: 4,
      baseModel: 'models/t2-tiny',
      label: 'math',
    });
    expect(a.params.length).toBeGreaterThan(0);
    for (const [name] of a.params) expect(name).toMatch(/mlp\.(gate|up|down)_proj\.svf_z$/);
    const out = tempDir();
    expect(await a.save(out)).toBe(join(out, 'expert.safetensors'));
    expect(existsSync(join(out, 'expert.safetensors'))).toBe(true);
  });

  it('lora: a PEFT folder on the given targets', async () => {
    const { model } = await tiny();
    const a = await prepareRlAdapter(model, 'lora', {
      targets: ['q_proj'],
      seed: 0,
      r: 2,
      alpha: 2,
      baseModel: 'models/t2-tiny',
      label: 'math',
    });
    for (const [name] of a.params) expect(name).toMatch(/q_proj/);
    const out = tempDir();
    const dir = await a.save(out);
    expect(dir).toBe(join(out, 'lora'));
    expect(existsSync(join(dir, 'adapter_config.json'))).toBe(true);
  });
});

describe('resumeProblem and truncateLog', () => {
  it('names what is missing or differs, and null when the run can go on', async () => {
    const out = tempDir();
    const files = rlRunFiles(out);
    expect(await resumeProblem(out, run)).toBe(`no checkpoint at ${files.checkpoint}`);
    await writeFile(files.checkpoint, '');
    expect(await resumeProblem(out, run)).toBe(`${files.runInfo} is missing or unreadable`);
    await writeFile(files.runInfo, JSON.stringify(run));
    expect(await resumeProblem(out, run)).toBeNull();
    expect(await resumeProblem(out, { ...run, label: 'string' })).toBe(
      `the run in ${out} was started with label "math", this one has "string"`,
    );
  });

  it('keeps the log lines up to the step', async () => {
    const log = join(tempDir(), 'log.jsonl');
    await writeFile(log, '{"step":1}\n{"step":2}\nnot json\n{"step":3}\n');
    await truncateLog(log, 2);
    expect(await readFile(log, 'utf8')).toBe('{"step":1}\n{"step":2}\n');
  });
});

describe('createRlTrainer and trainWithCheckpoints', () => {
  let model: LlamaForCausalLM;
  let tokenizer: TextTokenizer;
  beforeAll(async () => {
    ({ model, tokenizer } = await tiny());
  });

  it('trains to the step count with checkpoints, and stops between steps when asked', async () => {
    const adapter = await prepareRlAdapter(model, 'svf', {
      seed: 0,
      r: 4,
      alpha: 4,
      baseModel: 'models/t2-tiny',
      label: 'math',
    });
    const samples = ['1+2=', '3+4=', '5+1=', '2+2='].map((prompt, i) => ({
      prompt,
      answer: String([3, 7, 6, 4][i]),
    }));
    const trainer = createRlTrainer({
      model,
      tokenizer,
      adapter,
      reward: (_p, output, s) => (output.trim() === s.answer ? 1 : -1),
      trainSamples: samples,
      validationSamples: samples.slice(0, 2),
      config: { batchSize: 2, maxNewTokens: 4, validateEvery: 2, seed: 0 },
    });
    const checkpointPath = join(tempDir(), 'checkpoint.safetensors');
    const steps: number[] = [];
    const stop = new AbortController();
    const stopped = await trainWithCheckpoints(trainer, {
      steps: 3,
      checkpointPath,
      checkpointEvery: 10,
      hasValidation: true,
      signal: stop.signal,
      onStep: (s) => {
        steps.push(s.step);
        if (s.step === 1) stop.abort();
      },
    });
    expect(stopped).toBe(false);
    expect(steps).toEqual([1]);
    expect(existsSync(checkpointPath)).toBe(true);
    const done = await trainWithCheckpoints(trainer, {
      steps: 3,
      checkpointPath,
      checkpointEvery: 10,
      hasValidation: true,
      onStep: (s) => {
        steps.push(s.step);
      },
    });
    expect(done).toBe(true);
    expect(steps).toEqual([1, 2, 3]);
    // The trainer validates before the first step and then every validateEvery steps.
    expect(trainer.validations.map((v) => v.step)).toEqual([0, 2]);
  });
});
