import { describe, expect, it } from 'vitest';
import {
  chooseAutoBackend,
  fromArray,
  getBackend,
  kernelCalls,
  matmul,
  resetKernelCalls,
  setBackend,
  useDefaultBackend,
  wasmSimdSupported,
} from '../src/index';

const product = () => matmul(fromArray([1, 2, 3, 4], [2, 2]), fromArray([5, 6, 7, 8], [2, 2])).data;

describe('the library default backend', () => {
  it("is 'auto' until a backend is chosen, and a chosen one stays", async () => {
    expect(getBackend().name).toBe('js');
    const { choice } = await chooseAutoBackend();
    expect((await useDefaultBackend()).name).toBe(choice);
    if (wasmSimdSupported()) expect(choice).not.toBe('js');
    await setBackend('js');
    expect((await useDefaultBackend()).name).toBe('js');
    expect((await setBackend()).name).toBe(choice);
  });

  it('counts the kernel calls of the backend that computed, not of the one asked for', async () => {
    await setBackend('js');
    resetKernelCalls();
    expect(Array.from(product())).toEqual([19, 22, 43, 50]);
    const afterJs = kernelCalls();
    expect(afterJs.js).toBeGreaterThan(0);
    if (!wasmSimdSupported()) return;
    expect(afterJs.wasm ?? 0).toBe(0);
    await setBackend('wasm');
    resetKernelCalls();
    expect(Array.from(product())).toEqual([19, 22, 43, 50]);
    expect(kernelCalls().wasm).toBeGreaterThan(0);
    expect(kernelCalls().js).toBe(0);
    // The decode kernel set a backend hands out is counted too.
    resetKernelCalls();
    const k = getBackend().decodeKernels!();
    const buf = k.alloc(4);
    k.write(buf, new Float32Array([1, 2, 3, 4]));
    k.release();
    expect(kernelCalls().wasm).toBe(3);
  });
});
