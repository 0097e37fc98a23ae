import {
  fromArray,
  InputError,
  type OptimizerState,
  readSafetensorsFile,
  readTextFileChecked,
  type Tensor,
  writeFileAtomic,
  writeSafetensorsFile,
} from '@t2/tensor-core';

/** Everything a run needs to continue exactly where it stopped. */
export interface TrainerState {
  step: number;
  rng: number[];
  stream: { epoch: number; position: number; order: number[] };
  optimizer: { step: number; lr: number };
  history: { step: number; loss: number; lr: number }[];
  evals: { step: number; loss: number }[];
  /** Free-form fields a caller wants back on resume (method, config, …). */
  extra?: Record<string, unknown>;
}

/** A checkpoint that cannot be resumed from (missing, incomplete, another run's); names the folder. */
export class SftCheckpointError extends InputError {
  override name = 'SftCheckpointError';
}

const STATE = 'trainer-state.json';
const PARAMS = 'params.safetensors';
const MOMENTS = 'optimizer.safetensors';

/**
 * Writes a checkpoint folder atomically: everything goes to a temporary sibling folder
 * that is renamed into place, so an interrupted write never leaves a half checkpoint.
 */
export async function saveCheckpoint(
  dir: string,
  params: readonly [string, Tensor][],
  optimizer: OptimizerState,
  state: TrainerState,
): Promise<void> {
  const fs = await import('node:fs/promises');
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  await writeSafetensorsFile(`${tmp}/${PARAMS}`, new Map(params));
  const moments = new Map<string, Tensor>();
  for (const [kind, list] of Object.entries(optimizer.slots)) {
    list.forEach((values, i) => {
      const [name, p] = params[i]!;
      moments.set(`${kind}/${name}`, fromArray(values, p.shape));
    });
  }
  await writeSafetensorsFile(`${tmp}/${MOMENTS}`, moments);
  await writeFileAtomic(
    `${tmp}/${STATE}`,
    JSON.stringify({ ...state, optimizer: { step: optimizer.step, lr: optimizer.lr } }),
  );
  await fs.rm(old, { recursive: true, force: true });
  const hadOld = await exists(dir);
  if (hadOld) await fs.rename(dir, old);
  await fs.rename(tmp, dir);
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

/**
 * Loads a checkpoint into the given parameters (matched by name) and returns the
 * trainer and optimizer state; null when there is none. Falls back to the previous
 * checkpoint if a crash happened between the two renames of a save. A folder that holds
 * checkpoint files but no trainer-state.json is an error, not "no checkpoint".
 */
export async function loadCheckpoint(
  dir: string,
  params: readonly [string, Tensor][],
): Promise<{ state: TrainerState; optimizer: OptimizerState } | null> {
  let from = dir;
  if (!(await exists(`${dir}/${STATE}`))) {
    if (await exists(`${dir}.old/${STATE}`)) from = `${dir}.old`;
    else if (await exists(dir))
      throw new SftCheckpointError(
        `checkpoint ${dir}: no ${STATE} (an incomplete or foreign checkpoint folder); start over with --overwrite`,
      );
    else return null;
  }
  const stateFile = `${from}/${STATE}`;
  let state: TrainerState & { optimizer: { step: number; lr: number } };
  try {
    state = JSON.parse((await readTextFileChecked(stateFile))!);
  } catch (err) {
    throw new SftCheckpointError(`${stateFile}: unreadable (${(err as Error).message})`);
  }
  if (
    !state ||
    typeof state !== 'object' ||
    !Number.isInteger(state.step) ||
    !Array.isArray(state.history) ||
    !Array.isArray(state.evals) ||
    typeof state.optimizer?.step !== 'number' ||
    typeof state.optimizer?.lr !== 'number' ||
    !Array.isArray(state.rng) ||
    !Array.isArray(state.stream?.order)
  ) {
    throw new SftCheckpointError(
      `${stateFile}: not a t2 trainer state (expected step, rng, stream, optimizer, history, evals)`,
    );
  }
  const saved = (await readSafetensorsFile(`${from}/${PARAMS}`)).tensors;
  for (const [name, p] of params) {
    const t = saved.get(name);
    if (!t) throw new SftCheckpointError(`checkpoint ${from}: parameter '${name}' is missing`);
    if (t.size !== p.size) {
      throw new SftCheckpointError(
        `checkpoint ${from}: '${name}' has ${t.size} values, the model's has ${p.size}`,
      );
    }
    p.data.set(t.data);
  }
  if (saved.size !== params.length) {
    throw new SftCheckpointError(
      `checkpoint ${from}: holds ${saved.size} parameters, the run trains ${params.length}`,
    );
  }
  const moments = (await readSafetensorsFile(`${from}/${MOMENTS}`)).tensors;
  const slots: Record<string, number[][]> = {};
  for (const [key, t] of moments) {
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash);
    const index = params.findIndex(([n]) => n === key.slice(slash + 1));
    if (index < 0)
      throw new SftCheckpointError(
        `checkpoint ${from}: optimizer state for unknown parameter '${key}'`,
      );
    slots[kind] ??= params.map(([, p]) => new Array(p.size).fill(0));
    slots[kind][index] = Array.from(t.data);
  }
  return { state, optimizer: { step: state.optimizer.step, lr: state.optimizer.lr, slots } };
}

async function exists(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    await fs.stat(path);
    return true;
  } catch {
    return false;
  }
}
