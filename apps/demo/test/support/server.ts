import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO } from './fixture';

const DEMO = join(REPO, 'apps/demo');
const VITE = join(REPO, 'node_modules/vite/bin/vite.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function vite(args: string[], modelsDir: string): ChildProcess {
  return spawn(process.execPath, [VITE, ...args], {
    cwd: DEMO,
    env: { ...process.env, T2_MODELS_DIR: modelsDir, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d) => (text += d));
  child.stderr?.on('data', (d) => (text += d));
  return () => text;
}

/** `vite build` of the page into `outDir`, serving models from `modelsDir`. */
export async function buildPage(outDir: string, modelsDir: string): Promise<void> {
  const child = vite(
    ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    modelsDir,
  );
  const output = collect(child);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`vite build failed (${code}):\n${output()}`);
}

export interface PreviewServer {
  url: string;
  stop(): Promise<void>;
}

/** `vite preview` of a build on 127.0.0.1 and a free port; `/models/` maps to `modelsDir`. */
export async function startPreview(outDir: string, modelsDir: string): Promise<PreviewServer> {
  const port = await freePort();
  const child = vite(
    ['preview', '--outDir', outDir, '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    modelsDir,
  );
  const output = collect(child);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite preview exited:\n${output()}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`vite preview did not answer on ${url}:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await closed;
    },
  };
}
