import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExpert, serializeExpert } from '@t2/adapters-svf';
import { classificationTask, expertDomains } from '@t2/tasks';
import { Rng } from '@t2/tensor-core';
import { main } from '../src/main';
import { writeTinyModelFolder } from './tiny-model';

/** What a test of the Transformer² commands gets: a model folder with experts, and its neighbours. */
export interface TinyRuntime {
  /** The temporary folder everything lives in (remove it in afterAll). */
  dir: string;
  /** A tiny random LLaMA with a character tokenizer and `experts/` inside. */
  model: string;
  /** `model/experts`: arith, string, logic and classifier `.safetensors`. */
  experts: string;
  /** The same experts without classifier.safetensors. */
  expertsWithoutClassifier: string;
  /** Another tiny model (another seed): the experts were not made for it. */
  otherModel: string;
  /** SVD factor cache shared by the test file's runs. */
  cache: string;
}

/** Runs `t2 …` in-process and collects its output. */
export async function t2(
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY: false,
  });
  return { code, stdout, stderr };
}

async function rlExpert(
  model: string,
  cache: string,
  out: string,
  source: string[],
  seed: number,
): Promise<string> {
  const r = await t2([
    'rl',
    '--model',
    model,
    ...source,
    '--steps',
    '1',
    '--batch',
    '2',
    '--validate-every',
    '0',
    '--cache',
    cache,
    '--out',
    out,
  ]);
  if (r.code !== 0) throw new Error(`t2 rl ${source.join(' ')} failed: ${r.stderr}`);
  // One REINFORCE step leaves z near its start, where W' ≈ W; random z makes each expert
  // change the answers, so routing to the wrong expert (or none) shows in the outputs.
  const file = join(out, 'expert.safetensors');
  const expert = parseExpert(await readFile(file), file);
  const rng = new Rng(seed);
  for (const z of expert.z.values()) for (let i = 0; i < z.length; i++) z[i] = 3 * rng.normal();
  await writeFile(file, serializeExpert(expert));
  return file;
}

/**
 * Makes a tiny Transformer² setup in a temp folder the way users make theirs: a base model,
 * one `t2 rl` SVF expert per domain (arith, string, logic) and a classification expert
 * trained with `t2 rl --data` on classification prompts. A few seconds on 2 cores.
 */
export async function makeTinyRuntime(): Promise<TinyRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 't2-runtime-'));
  const model = await writeTinyModelFolder(join(dir, 'model'), { seed: 0 });
  const otherModel = await writeTinyModelFolder(join(dir, 'other'), { seed: 1 });
  const cache = join(dir, 'svd');
  const experts = join(model, 'experts');
  const expertsWithoutClassifier = join(dir, 'experts-no-classifier');
  await mkdir(experts, { recursive: true });
  await mkdir(expertsWithoutClassifier, { recursive: true });
  let seed = 10;
  for (const f of expertDomains) {
    const file = await rlExpert(model, cache, join(dir, 'rl', f.name), ['--task', f.name], seed++);
    await copyFile(file, join(experts, `${f.name}.safetensors`));
    await copyFile(file, join(expertsWithoutClassifier, `${f.name}.safetensors`));
  }
  const data = join(dir, 'classification.jsonl');
  const lines = classificationTask({ n: 40, seed: 0, split: 'train' }).map((s) =>
    JSON.stringify({ prompt: s.prompt, answer: s.answer }),
  );
  await writeFile(data, `${lines.join('\n')}\n`);
  const classifier = await rlExpert(
    model,
    cache,
    join(dir, 'rl', 'classifier'),
    ['--data', data, '--label', 'classifier'],
    seed,
  );
  await copyFile(classifier, join(experts, 'classifier.safetensors'));
  return { dir, model, experts, expertsWithoutClassifier, otherModel, cache };
}
