/**
 * The worker's training in Node on the bundled t2-tiny: methods with PEFT files go through
 * @t2/sft's trainSft with the page's events and Stop; a registered method trains unedited.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getFamily } from '@t2/tasks';
import { type AdapterMethod, adapterMethod, registerAdapterMethod } from '@t2/tuners';
import { beforeAll, describe, expect, test } from 'vitest';
import type { TrainSettings, WorkerEvent } from '../src/protocol';
import { buildModel, type LoadedFolder, loadFolder } from '../src/worker/load';
import type { ModelSource } from '../src/worker/source';
import { train } from '../src/worker/train';
import { REPO } from './support/fixture';

const TINY = join(REPO, 'models/t2-tiny');

/** The bundled model read from disk, as the worker reads a dropped folder. */
const diskSource = (dir: string): ModelSource => ({
  name: 't2-tiny',
  read: (path) =>
    readFile(join(dir, path)).then(
      (b) => new Uint8Array(b),
      () => null,
    ),
  experts: async () =>
    (await readdir(join(dir, 'experts'))).filter((f) => f.endsWith('.safetensors')),
});

const settings = (method: string, more: Partial<TrainSettings> = {}): TrainSettings => ({
  method,
  task: 'count',
  steps: 4,
  batchSize: 2,
  lr: 1e-2,
  r: 2,
  evalEvery: 2,
  evalSize: 4,
  seed: 0,
  ...more,
});

describe('worker training', () => {
  let folder: LoadedFolder;
  const run = (
    s: TrainSettings,
    onEvent: (e: WorkerEvent) => void = () => {},
    stop = new AbortController(),
  ) => train(buildModel(folder).model, folder.tokenizer, s, folder.name, onEvent, stop.signal);

  beforeAll(async () => {
    folder = await loadFolder(diskSource(TINY), () => {});
  });

  test('LoRA: a step event per step, accuracy at 0, every evalEvery and the end, PEFT files', async () => {
    const events: WorkerEvent[] = [];
    const { result, adapter } = await run(settings('lora'), (e) => events.push(e));
    expect(result).toMatchObject({ method: 'lora', steps: 4, stopped: false });
    expect(result.trainable).toBeGreaterThan(0);
    const steps = events.flatMap((e) => (e.event === 'trainStep' ? [e] : []));
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4]);
    for (const e of steps) {
      expect(e.steps).toBe(4);
      expect(Number.isFinite(e.loss) && e.loss > 0).toBe(true);
      expect(e.ms).toBeGreaterThanOrEqual(0);
    }
    expect(events.flatMap((e) => (e.event === 'trainEval' ? [e.step] : []))).toEqual([0, 2, 4]);
    const files = adapter.files();
    expect(files.map((f) => f.name)).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(JSON.parse(new TextDecoder().decode(files[0]!.bytes))).toMatchObject({
      peft_type: 'LORA',
      r: 2,
    });
  });

  test('Stop ends the run after the step it is in', async () => {
    const stop = new AbortController();
    const seen: number[] = [];
    const { result } = await run(
      settings('bone', { steps: 50, evalEvery: 0 }),
      (e) => {
        if (e.event !== 'trainStep') return;
        seen.push(e.step);
        if (e.step === 2) stop.abort();
      },
      stop,
    );
    expect(result).toMatchObject({ method: 'bone', steps: 2, stopped: true });
    expect(seen).toEqual([1, 2]);
  });

  test('a method registered in a test trains with no demo edit', async () => {
    registerAdapterMethod({
      ...(adapterMethod('lora') as AdapterMethod<unknown>),
      name: 'toy-train',
      label: 'Toy',
      variants: [],
      summary: 'LoRA under another name',
      peftTypes: ['TOY_TRAIN'],
    });
    const { result, adapter } = await run(settings('toy-train', { steps: 2, evalEvery: 0 }));
    expect(result).toMatchObject({ method: 'toy-train', steps: 2, stopped: false });
    expect(adapter.files()).toHaveLength(2);
  });

  test('SVF by REINFORCE leaves an expert for the task category', async () => {
    const rewards: number[] = [];
    const { result, adapter } = await run(
      settings('svf-reinforce', { steps: 1, evalEvery: 0, lr: 2e-3 }),
      (e) => {
        if (e.event === 'trainStep' && e.reward !== undefined) rewards.push(e.reward);
      },
    );
    expect(result).toMatchObject({ method: 'svf-reinforce', steps: 1, stopped: false });
    expect(rewards).toHaveLength(1);
    expect(adapter.expert?.meta.task).toBe(getFamily('count').category);
    expect(adapter.files()[0]!.name).toBe(`${getFamily('count').category}.safetensors`);
  });

  test('an unknown method is refused by name', async () => {
    await expect(run(settings('nope'))).rejects.toThrow(/no training method named 'nope'/);
  });
});
