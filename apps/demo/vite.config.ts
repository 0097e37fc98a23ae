import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { t2Models } from './vite/models';
import { nodeBuiltinsStub } from './vite/node-builtins';
import { workspaceAliases, workspaceSideEffects } from './vite/workspace-sources';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

// Cross-origin isolation lets tensor-core's wasm backend share memory with its threads.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The page runs the packages' sources, like the tests do: a change in tensor-core shows
// up on reload without rebuilding the package.
export default defineConfig({
  root: here,
  publicDir: false,
  resolve: { alias: workspaceAliases(repo) },
  plugins: [
    nodeBuiltinsStub(),
    workspaceSideEffects(repo),
    t2Models(process.env.T2_MODELS_DIR ?? join(repo, 'models')),
  ],
  worker: { format: 'es', plugins: () => [nodeBuiltinsStub(), workspaceSideEffects(repo)] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  optimizeDeps: { include: ['gpu.js', '@huggingface/jinja', '@huggingface/tokenizers'] },
  server: { host: '127.0.0.1', headers: isolation, fs: { allow: [repo] } },
  preview: { host: '127.0.0.1', headers: isolation },
});
