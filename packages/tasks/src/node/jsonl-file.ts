// Node only. Built-ins are imported inside the functions, so the package still
// bundles for the browser; calling these there fails with a clear error instead.
import { parseJsonl } from '../jsonl';
import type { Sample } from '../types';

/** Reads and parses a JSONL file of `{"prompt", "answer"}`; errors name `path:line`. */
export async function readJsonlFile(path: string): Promise<Sample[]> {
  const { readFile } = await import('node:fs/promises');
  return parseJsonl(await readFile(path, 'utf8'), path);
}
