import { afterAll, describe, expect, it } from 'vitest';
import { gemm, gemmKernel, rowMajor, withKernelArrays } from '../src/kernels/gemm';
import { setWasmEnabled } from '../src/kernels/wasm-kernels';
import { matmul, randomMatrix, transpose } from './helpers';

describe('gemm', () => {
  afterAll(() => {
    setWasmEnabled(true);
  });

  it('runs the WebAssembly SIMD kernel in Node', () => {
    expect(gemmKernel()).toBe('wasm');
  });

  for (const kind of ['wasm', 'js'] as const) {
    it(`${kind} kernel: C ← alpha·op(A)·op(B) + beta·C on odd and block-crossing sizes`, () => {
      setWasmEnabled(kind === 'wasm');
      expect(gemmKernel()).toBe(kind);
      for (const [m, n, k] of [
        [1, 1, 1],
        [5, 3, 7],
        [97, 1030, 260],
        [130, 9, 513],
      ] as const) {
        const a = randomMatrix(m, k, m + k);
        const b = randomMatrix(k, n, n + k);
        const expected = matmul(a, b, m, k, n);
        const c = randomMatrix(m, n, 1);
        const c0 = c.slice();
        // Transposed views of the transposes: same product, other packing paths.
        gemm(m, n, k, -2, rowMajor(transpose(a, m, k), m, 0, true), rowMajor(b, n), 1, c, 0, n);
        let worst = 0;
        for (let i = 0; i < m * n; i++) {
          worst = Math.max(worst, Math.abs(c[i]! - (c0[i]! - 2 * expected[i]!)));
        }
        expect(worst).toBeLessThan(1e-11);
        const d = new Float64Array(m * (n + 3));
        gemm(m, n, k, 1, rowMajor(a, k), rowMajor(transpose(b, k, n), k, 0, true), 0, d, 0, n + 3);
        worst = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            worst = Math.max(worst, Math.abs(d[i * (n + 3) + j]! - expected[i * n + j]!));
          }
        }
        expect(worst).toBeLessThan(1e-11);
      }
    });
  }

  it('updates a C in the kernel memory in place, partial tiles and blocks included', () => {
    for (const wasm of [true, false]) {
      setWasmEnabled(wasm);
      for (const [m, n, k] of [
        [7, 6, 5],
        [97, 1030, 260],
        [130, 9, 513],
      ] as const) {
        const a = randomMatrix(m, k, m + k);
        const b = randomMatrix(k, n, n + k);
        const expected = matmul(a, b, m, k, n);
        const ld = n + 3;
        const c0 = randomMatrix(m, ld, 3);
        const worst = withKernelArrays([5, m * ld + 2], ([pad, c]) => {
          expect(pad).toEqual(new Float64Array(5));
          c!.set(c0, 2);
          gemm(m, n, k, -2, rowMajor(a, k), rowMajor(b, n), 1, c!, 2, ld);
          let w = 0;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < ld; j++) {
              const want = c0[i * ld + j]! - (j < n ? 2 * expected[i * n + j]! : 0);
              w = Math.max(w, Math.abs(c![2 + i * ld + j]! - want));
            }
          }
          return w;
        });
        expect(worst).toBeLessThan(1e-11);
      }
    }
  });
});
