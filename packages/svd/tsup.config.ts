import { defineConfig } from 'tsup';

export default defineConfig({
  // svd-worker is the script svdMany's worker threads run (found next to index.js/.cjs).
  entry: ['src/index.ts', 'src/svd-worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // The CommonJS build gets import.meta.url from __filename, to find dist/svd-worker.cjs.
  shims: true,
});
