import { MIXINGS, type Mixing } from '@t2/adapters-svf';
import { writeFileAtomic } from '@t2/tensor-core';
import type { CemScore } from '../cem/cem';

/** The α found for one task, as the runtime stores and reuses it. */
export interface TaskAlpha {
  /** Names of the task experts α refers to, in α order. */
  experts: string[];
  /** Adapted weights per expert when α is per layer, else null. */
  targets: number | null;
  /**
   * Coefficients as answers use them (normalised for convex mixing), `experts.length ×
   * (targets ?? 1)` values, row-major by expert.
   */
  alpha: number[];
  /** How the experts were mixed when α was searched; absent (older files) means 'convex'. */
  mixing?: Mixing;
  /** Score of α on the examples it was searched on. */
  score?: CemScore;
  /** How many labelled examples the search used. */
  examples?: number;
  /** ISO time of the search. */
  updatedAt?: string;
  /**
   * Content key of what α was searched for: the model and experts (`model`) and the labelled
   * examples. A search on other examples — a different file under the same task name — does
   * not reuse it.
   */
  key?: string;
  /** Fingerprint of the model and experts α was searched with (the runtime's `fingerprint`). */
  model?: string;
}

/**
 * A short content key of some strings (two 53-bit string hashes, hex): cheap, the same in
 * Node and browsers, and enough to tell apart the inputs of a cache (it is no security hash).
 */
export function contentKey(parts: readonly string[]): string {
  const text = parts.map((p) => `${p.length}:${p}`).join('\u0000');
  const hash = (seed: number) => {
    let h1 = 0xdeadbeef ^ seed;
    let h2 = 0x41c6ce57 ^ seed;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
  };
  return `${hash(0)}${hash(1)}`;
}

export const ALPHA_CACHE_FORMAT = 't2-alpha-cache';

function checkEntry(task: string, e: unknown, where: string): TaskAlpha {
  const bad = (why: string) => new Error(`${where}: task '${task}': ${why}`);
  if (!e || typeof e !== 'object') throw bad('entry is not an object');
  const entry = e as Partial<TaskAlpha>;
  if (
    !Array.isArray(entry.experts) ||
    !entry.experts.every((n) => typeof n === 'string') ||
    entry.experts.length === 0
  ) {
    throw bad('"experts" must be a non-empty list of names');
  }
  if (!(entry.targets === null || (Number.isInteger(entry.targets) && entry.targets! > 0))) {
    throw bad('"targets" must be null or a positive integer');
  }
  const n = entry.experts.length * (entry.targets ?? 1);
  if (
    !Array.isArray(entry.alpha) ||
    entry.alpha.length !== n ||
    !entry.alpha.every((a) => Number.isFinite(a))
  ) {
    throw bad(`"alpha" must be ${n} finite numbers`);
  }
  if (entry.mixing !== undefined && !MIXINGS.includes(entry.mixing)) {
    throw bad('"mixing" must be "convex" or "additive"');
  }
  for (const k of ['key', 'model'] as const) {
    if (entry[k] !== undefined && typeof entry[k] !== 'string')
      throw bad(`"${k}" must be a string`);
  }
  return entry as TaskAlpha;
}

/**
 * α per task id, kept in memory and, when a file is given, in a JSON file that is
 * rewritten atomically on every change (so a crash never leaves a torn cache).
 */
export class AlphaCache {
  private readonly entries = new Map<string, TaskAlpha>();

  constructor(readonly file?: string) {}

  /** A cache backed by `file`, with its entries when the file exists. */
  static async open(file: string): Promise<AlphaCache> {
    const cache = new AlphaCache(file);
    const fs = await import('node:fs/promises');
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return cache;
      throw new Error(`${file}: cannot read the α cache: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}: the α cache is not valid JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const doc = json as { format?: unknown; tasks?: unknown };
    if (doc?.format !== ALPHA_CACHE_FORMAT || !doc.tasks || typeof doc.tasks !== 'object') {
      throw new Error(
        `${file}: not an α cache (expected {"format": "${ALPHA_CACHE_FORMAT}", "tasks": {…}})`,
      );
    }
    for (const [task, entry] of Object.entries(doc.tasks as Record<string, unknown>)) {
      cache.entries.set(task, checkEntry(task, entry, file));
    }
    return cache;
  }

  get(task: string): TaskAlpha | undefined {
    const e = this.entries.get(task);
    return e && structuredClone(e);
  }

  has(task: string): boolean {
    return this.entries.has(task);
  }

  tasks(): string[] {
    return [...this.entries.keys()];
  }

  async set(task: string, entry: TaskAlpha): Promise<void> {
    this.entries.set(task, checkEntry(task, structuredClone(entry), 'AlphaCache.set'));
    await this.flush();
  }

  async delete(task: string): Promise<boolean> {
    const had = this.entries.delete(task);
    if (had) await this.flush();
    return had;
  }

  /** The file's contents. */
  toJSON(): { format: string; version: number; tasks: Record<string, TaskAlpha> } {
    return { format: ALPHA_CACHE_FORMAT, version: 1, tasks: Object.fromEntries(this.entries) };
  }

  private async flush(): Promise<void> {
    if (this.file === undefined) return;
    const { dirname } = await import('node:path');
    const fs = await import('node:fs/promises');
    await fs.mkdir(dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
  }
}
