import { writeFileAtomic } from '@t2/tensor-core';
import type { RlMethod } from './adapter';
import { joinPath } from './join-path';

// node:fs is imported on first use: this package's entry is also bundled for the browser
// (the demo trains experts with it), where there is no node:fs to import at load time.
const fs = () => import('node:fs/promises');

/** `run.json`: the settings a resumed run must share with the run it continues (beyond the trainer's own). */
export interface RlRunInfo {
  format: 't2-rl-run';
  method: RlMethod;
  task: string | null;
  data: string | null;
  reward: string;
  label: string;
  targets: string[];
  r: number | null;
  model: string;
}

const RESUME_KEYS = ['method', 'task', 'data', 'reward', 'label', 'targets', 'r', 'model'] as const;

/** The files of a run folder. */
export function rlRunFiles(out: string) {
  return {
    checkpoint: joinPath(out, 'checkpoint.safetensors'),
    log: joinPath(out, 'log.jsonl'),
    runInfo: joinPath(out, 'run.json'),
  };
}

/**
 * Why the run in `out` cannot be continued with the settings `run` (no checkpoint, no
 * run.json, another setting), as one line; null when it can.
 */
export async function resumeProblem(out: string, run: RlRunInfo): Promise<string | null> {
  const files = rlRunFiles(out);
  if (!(await exists(files.checkpoint))) return `no checkpoint at ${files.checkpoint}`;
  let saved: Partial<RlRunInfo>;
  try {
    saved = JSON.parse(await (await fs()).readFile(files.runInfo, 'utf8'));
  } catch {
    return `${files.runInfo} is missing or unreadable`;
  }
  for (const key of RESUME_KEYS) {
    const a = JSON.stringify(saved[key] ?? null);
    const b = JSON.stringify(run[key] ?? null);
    if (a !== b) return `the run in ${out} was started with ${key} ${a}, this one has ${b}`;
  }
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await (await fs()).stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Keeps the log lines up to the checkpoint's step: later ones belong to the interrupted tail. */
export async function truncateLog(path: string, step: number): Promise<void> {
  let text = '';
  try {
    text = await (await fs()).readFile(path, 'utf8');
  } catch {
    return;
  }
  const kept = text
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { step?: number }).step! <= step;
      } catch {
        return false;
      }
    })
    .map((line) => `${line}\n`)
    .join('');
  await writeFileAtomic(path, kept);
}
