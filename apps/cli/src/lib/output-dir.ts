import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UsageError } from './command';

/**
 * Where a command writes, claimed before any work starts. One place for the rules every
 * writing command (train, rl, merge, pretrain) follows:
 *
 * - never into one of its inputs (the model, an adapter, the data);
 * - not into a non-empty folder it did not create, unless the user says so (`--overwrite`,
 *   or `--resume` for a run's own checkpoint);
 * - one run per folder: a lock file holds the writer's pid; a lock whose process is gone
 *   (kill -9) is taken over;
 * - temporary files and folders that killed runs left behind are removed.
 */
export interface OutputDir {
  /** The folder as given. */
  path: string;
  /** True when the folder did not exist (or was empty) before this run. */
  fresh: boolean;
  /** Removes the lock (and the folder when this run created it and left it empty). */
  release(): Promise<void>;
}

export interface ClaimOptions {
  /** The flag named in messages (default '--out'). */
  flag?: string;
  /** Paths the command reads, with the flag that named them: never written into. */
  inputs?: readonly { flag: string; path: string | undefined }[];
  /** `--overwrite`: a non-empty folder may be written into. */
  overwrite?: boolean;
  /** `--resume`: a non-empty folder may be written into (the command checks its checkpoint). */
  resume?: boolean;
  /** What the command is (for the lock file and messages), e.g. 't2 train'. */
  command: string;
}

export const LOCK_FILE = '.t2-lock';

/**
 * `--resume`, `--overwrite` and `--json` of the commands that train into an `--out` folder
 * (train, rl, pretrain), spread into their flags.
 */
export const RUN_FLAGS = {
  resume: { type: 'boolean', default: false },
  overwrite: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

/** Claims not yet released; `releaseOutputDirs` (called when a command returns) ends them. */
const active = new Set<() => Promise<void>>();

/** Releases every claim and lock this process still holds (the CLI calls it after each command). */
export async function releaseOutputDirs(): Promise<void> {
  for (const release of [...active]) await release();
}

/** Names of the temporary files and folders t2 writes: atomic-write temps and checkpoint temps. */
const TEMP_PATTERNS = [/^\..+\.(\d+)\.[a-z0-9]+\.tmp$/, /\.tmp-(\d+)$/];

function isTemp(name: string): boolean {
  return TEMP_PATTERNS.some((p) => p.test(name));
}

/** Whether `child` is `parent` or lies inside it (both resolved). */
function within(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
function realish(p: string): string {
  const abs = resolve(p);
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      tail.push(head.slice(up.length).replace(/^[/\\]+/, ''));
      head = up;
    }
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid may have been reused by an unrelated program since a run was killed: on Linux,
  // a live holder is a node process.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node/.test(cmdline);
  } catch {
    return true;
  }
}

interface LockInfo {
  pid: number;
  command?: string;
  started?: string;
}

function readLock(file: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return typeof info?.pid === 'number' ? info : { pid: -1 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A half-written lock (the writer was killed between open and write) is stale.
    return { pid: -1 };
  }
}

/**
 * Takes `dir`'s lock file for this process; refuses when a live process holds it. The lock
 * is removed by the returned function and, as a last resort, when the process exits.
 */
export async function lockFolder(
  dir: string,
  command: string,
  flag = '--out',
): Promise<() => void> {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UsageError(
          `${flag} ${dir}: cannot create the lock file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
      const held = readLock(file);
      if (held && pidAlive(held.pid)) {
        throw new UsageError(
          `${flag} ${dir}: another run is writing into this folder (${held.command ?? 't2'}, pid ${held.pid}${held.started ? `, since ${held.started}` : ''}); wait for it to finish or choose another folder`,
        );
      }
      // The run that held it is gone (killed): its lock is stale.
      rmSync(file, { force: true });
      continue;
    }
    writeSync(
      fd,
      `${JSON.stringify({ pid: process.pid, command, started: new Date().toISOString() })}\n`,
    );
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      active.delete(releaseAsync);
      const now = readLock(file);
      if (now?.pid === process.pid) rmSync(file, { force: true });
    };
    const releaseAsync = async () => release();
    active.add(releaseAsync);
    process.on('exit', release);
    return release;
  }
  throw new UsageError(
    `${flag} ${dir}: could not take the lock ${file}; another run keeps taking it`,
  );
}

/** Removes what killed runs left behind in `dir` and its subfolders (two levels). */
export async function removeStaleTemps(dir: string, depth = 2): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (isTemp(name)) {
      // Left by a run that is gone; a live process's (this one's, or a run writing a
      // sibling of a shared folder) are kept.
      const pid = Number(TEMP_PATTERNS.map((r) => r.exec(name)?.[1]).find(Boolean));
      if (pidAlive(pid)) continue;
      await rm(p, { recursive: true, force: true });
      removed.push(p);
      continue;
    }
    if (depth > 1) {
      const s = await stat(p).catch(() => null);
      if (s?.isDirectory()) removed.push(...(await removeStaleTemps(p, depth - 1)));
    }
  }
  return removed;
}

/** Refuses an output folder that is one of the inputs or inside one (before anything is written). */
export function refuseInputs(
  out: string,
  inputs: readonly { flag: string; path: string | undefined }[],
  flag = '--out',
): void {
  const target = realish(out);
  for (const input of inputs) {
    if (!input.path) continue;
    const src = realish(input.path);
    if (within(target, src)) {
      throw new UsageError(
        `${flag} ${out} is ${target === src ? '' : 'inside '}the input ${input.flag} ${input.path}: t2 never writes into its input; choose another folder`,
      );
    }
  }
}

/**
 * Claims an output folder for a command: checks it is none of the inputs, takes its lock,
 * clears leftovers of killed runs, and refuses a non-empty folder unless `overwrite` or
 * `resume` says the user means it. Call before loading anything large.
 */
export async function claimOutputDir(out: string, opts: ClaimOptions): Promise<OutputDir> {
  const flag = opts.flag ?? '--out';
  refuseInputs(out, opts.inputs ?? [], flag);
  const s = await stat(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new UsageError(`${flag} ${out}: cannot use it (${err.code ?? err.message})`);
  });
  if (s && !s.isDirectory()) {
    throw new UsageError(
      `${flag} ${out}: is a file, expected a folder (or a path that does not exist)`,
    );
  }
  const created = !s;
  try {
    await mkdir(out, { recursive: true });
  } catch (err) {
    throw new UsageError(
      `${flag} ${out}: cannot create the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const unlock = await lockFolder(out, opts.command, flag);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    active.delete(release);
    unlock();
    if (created) await rmdir(out).catch(() => {});
  };
  active.add(release);
  try {
    const names = (await readdir(out)).filter((n) => n !== LOCK_FILE && !isTemp(n));
    if (names.length > 0 && !opts.overwrite && !opts.resume) {
      const shown = names
        .slice(0, 3)
        .map((n) => `'${n}'`)
        .join(', ');
      throw new UsageError(
        `${flag} ${out} is not empty (it holds ${shown}${names.length > 3 ? ` and ${names.length - 3} more` : ''}); pass --overwrite to write over it${opts.resume === undefined ? '' : ', or --resume to continue the run whose checkpoint is there'}, or choose another folder`,
      );
    }
    await removeStaleTemps(out);
  } catch (err) {
    await release();
    throw err;
  }
  return { path: out, fresh: created, release };
}
