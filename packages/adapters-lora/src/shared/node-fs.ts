// Duplicated by necessity in @t2/adapters-bone. Node built-ins load on first use so that
// the pure parts of the package bundle for the browser.
type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');

let cached: Promise<{ fs: Fs; path: Path }> | null = null;

export function nodeModules(): Promise<{ fs: Fs; path: Path }> {
  cached ??= Promise.all([import('node:fs/promises'), import('node:path')]).then(([fs, path]) => ({
    fs,
    path,
  }));
  return cached;
}
