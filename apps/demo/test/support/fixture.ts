import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, from apps/demo/test/support. */
export const REPO = new URL('../../../../', import.meta.url).pathname;
const CLI = join(REPO, 'apps/cli/dist/main.js');

/** Task families whose experts the fixture trains, and the file stem each is saved as. */
const EXPERTS = ['arith', 'string', 'logic'];

async function t2(args: string[], cwd: string): Promise<void> {
  try {
    await run(process.execPath, [CLI, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`t2 ${args[0]} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/**
 * A tiny model in `<root>/t2-tiny` made the way models/t2-tiny is (t2 pretrain), with one
 * SVF expert per expert domain from two REINFORCE steps each: enough for every view of the
 * page, small enough for the CPU-emulated GPU. Returns the models folder.
 */
export async function buildFixtureModel(root: string): Promise<string> {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build the packages first (npm run build)`);
  }
  const models = join(root, 'models');
  const dir = join(models, 't2-tiny');
  // 100 short steps at a high rate: a base model adapters can visibly move in 20 steps.
  await t2(
    [
      'pretrain',
      '--out',
      dir,
      '--steps',
      '100',
      '--batch',
      '8',
      '--seq',
      '64',
      '--lr',
      '1e-2',
      '--problems',
      '2000',
      '--classification',
      '200',
      '--dim',
      '32',
      '--layers',
      '2',
      '--heads',
      '4',
      '--kv-heads',
      '2',
      '--hidden',
      '64',
      '--eval-n',
      '5',
      '--backend',
      'js',
    ],
    root,
  );
  await mkdir(join(dir, 'experts'), { recursive: true });
  await Promise.all(
    EXPERTS.map(async (task) => {
      const out = join(root, `rl-${task}`);
      await t2(
        [
          'rl',
          '--model',
          dir,
          '--task',
          task,
          '--steps',
          '2',
          '--batch',
          '4',
          '--validate-every',
          '0',
          '--cache',
          join(root, 'svd-cache'),
          '--out',
          out,
        ],
        root,
      );
      await copyFile(join(out, 'expert.safetensors'), join(dir, 'experts', `${task}.safetensors`));
    }),
  );
  return models;
}
