/**
 * One instance of the kernels with its memory. Each kernel call lays out its
 * operands in a bump arena above a reserved low region (mailboxes for the worker
 * threads), so a call costs no allocation beyond growing the memory once to its
 * high-water mark.
 */
import { createMemory, type KernelExports, kernelsModule, SHARED_MAX_PAGES } from './module';
import { hostCores, ThreadPool, threadsSupported } from './threads';

const PAGE = 65536;
/** Bytes below the arena: mailboxes of the worker threads. */
const RESERVED = PAGE;
const ALIGN = 64;
/** The most memory a runtime addresses: SHARED_MAX_PAGES (2 GiB). */
const MAX_BYTES = SHARED_MAX_PAGES * PAGE;

/** The wasm memory cannot hold what was asked (it tops out at 2 GiB). */
export class WasmMemoryError extends RangeError {
  override name = 'WasmMemoryError';
}

export interface WasmRuntimeOptions {
  /**
   * Threads that share large kernels, the calling thread included: 1 for none; by
   * default the host's cores (at most 8) where shared memory is available.
   */
  threads?: number;
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly ex: KernelExports;
  /** Worker threads, or null when single-threaded. */
  pool: ThreadPool | null;
  /** Start of the per-call arena: above the reserved region and every resident buffer. */
  private base = RESERVED;
  private top = RESERVED;
  /** Resident regions [start, end) in address order; freed ones are dropped once on top. */
  private regions: { start: number; end: number; live: boolean }[] = [];
  private view: Float32Array;
  private intView: Int32Array;

  private constructor(memory: WebAssembly.Memory, ex: KernelExports, pool: ThreadPool | null) {
    this.memory = memory;
    this.ex = ex;
    this.pool = pool;
    this.view = new Float32Array(memory.buffer);
    this.intView = new Int32Array(memory.buffer);
  }

  static async create(opts: WasmRuntimeOptions = {}): Promise<WasmRuntime> {
    if (!wasmSimdSupported()) {
      throw new Error('wasm backend: this WebAssembly engine does not support SIMD');
    }
    // T2_WASM_THREADS (Node) sets the default, e.g. to time one thread against two.
    const env = typeof process === 'undefined' ? undefined : process.env?.T2_WASM_THREADS;
    const given = opts.threads ?? (env ? Number(env) : undefined);
    const wanted = given ?? Math.min(8, await hostCores());
    if (!(Number.isInteger(wanted) && wanted >= 1)) {
      throw new Error(
        `wasm backend: threads must be a positive integer, got ${opts.threads ?? `T2_WASM_THREADS=${env}`}`,
      );
    }
    const threaded = wanted > 1 && threadsSupported();
    const module = await kernelsModule(threaded);
    const memory = createMemory(threaded, 64);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const ex = instance.exports as unknown as KernelExports;
    const pool = threaded ? await ThreadPool.create(module, memory, wanted - 1) : null;
    return new WasmRuntime(memory, ex, pool);
  }

  /** Threads a kernel may be split over (1 when there are no workers). */
  get threads(): number {
    return 1 + (this.pool?.size ?? 0);
  }

  /** The memory as floats; re-fetched because growing replaces the buffer. */
  get f32(): Float32Array {
    if (this.view.byteLength !== this.memory.buffer.byteLength) {
      this.view = new Float32Array(this.memory.buffer);
      this.intView = new Int32Array(this.memory.buffer);
    }
    return this.view;
  }

  get i32(): Int32Array {
    void this.f32;
    return this.intView;
  }

  /** Starts laying out a new call's operands (everything from the previous call is dropped). */
  reset(): void {
    this.top = this.base;
  }

  /**
   * Bytes that stay put across calls (weights, caches), zero-filled unless `zero: false`,
   * until `release`.
   * Must not be called while a kernel's operands are laid out (between calls only).
   */
  reserve(bytes: number, opts: { zero?: boolean } = {}): number {
    this.top = this.base;
    let start = this.reuse(bytes);
    if (start === null) {
      start = this.alloc(bytes);
      this.base = this.top;
      this.regions.push({ start, end: this.base, live: true });
    }
    // A caller about to overwrite every byte (a loader) skips the fill: on a fresh
    // gigabyte it is the page faults, seconds, not the zeros.
    if (opts.zero !== false) this.f32.fill(0, start >> 2, (start + bytes + 3) >> 2);
    return start;
  }

  /**
   * First fit among freed regions below the arena (weights a loader put here and an op has
   * since widened to the host): without it their bytes would be lost until everything above
   * them is freed too. Regions are contiguous, so a run of freed ones is one gap.
   */
  private reuse(bytes: number): number | null {
    const need = Math.ceil(bytes / ALIGN) * ALIGN;
    const r = this.regions;
    for (let i = 0; i < r.length; i++) {
      if (r[i]!.live) continue;
      let j = i;
      while (j < r.length && !r[j]!.live) j++;
      const start = r[i]!.start;
      const end = r[j - 1]!.end;
      if (end - start >= need) {
        const rest = end - start > need ? [{ start: start + need, end, live: false }] : [];
        r.splice(i, j - i, { start, end: start + need, live: true }, ...rest);
        return start;
      }
      i = j;
    }
    return null;
  }

  /** Frees a region from `reserve`; the arena shrinks back once no live region lies above. */
  release(start: number): void {
    const region = this.regions.find((r) => r.start === start && r.live);
    if (!region) throw new Error(`wasm runtime: no resident region at ${start}`);
    region.live = false;
    while (this.regions.length && !this.regions[this.regions.length - 1]!.live) this.regions.pop();
    this.base = this.regions.length ? this.regions[this.regions.length - 1]!.end : RESERVED;
    this.top = this.base;
  }

  /** Byte offset of `bytes` fresh (uninitialised) bytes, 64-byte aligned. */
  alloc(bytes: number): number {
    const ptr = this.top;
    const end = ptr + Math.ceil(bytes / ALIGN) * ALIGN;
    if (end > MAX_BYTES) {
      // Byte offsets are int32s in the kernels' glue (`ptr >> 2`), so 2 GiB is the limit
      // for both the shared and the single-threaded memory.
      const mib = (n: number) => `${Math.ceil(n / 2 ** 20).toLocaleString('en-US')} MiB`;
      throw new WasmMemoryError(
        `wasm backend: ${mib(end)} of memory needed (${mib(ptr - RESERVED)} already resident, ${mib(bytes)} more), over the wasm memory's ${mib(MAX_BYTES)}`,
      );
    }
    this.top = end;
    const have = this.memory.buffer.byteLength;
    if (this.top > have) {
      const pages = Math.ceil((this.top - have) / PAGE);
      // Grow geometrically so that a slowly rising high-water mark grows rarely.
      const want = Math.max(pages, Math.ceil(have / PAGE / 4));
      const max = SHARED_MAX_PAGES - have / PAGE;
      try {
        this.memory.grow(this.pool ? Math.min(want, max) : want);
      } catch {
        this.memory.grow(pages);
      }
    }
    return ptr;
  }

  /** Copies floats in; returns their byte offset. */
  put(src: Float32Array): number {
    const ptr = this.alloc(src.length * 4);
    this.f32.set(src, ptr >> 2);
    return ptr;
  }

  putInt(src: Int32Array): number {
    const ptr = this.alloc(src.length * 4);
    this.i32.set(src, ptr >> 2);
    return ptr;
  }

  /** Copies `dst.length` floats out from byte offset `ptr`. */
  read(ptr: number, dst: Float32Array): Float32Array {
    const i = ptr >> 2;
    dst.set(this.f32.subarray(i, i + dst.length));
    return dst;
  }

  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }
}

let simdSupported: boolean | null = null;

/** Whether WebAssembly SIMD validates here (a module of one v128 function). */
export function wasmSimdSupported(): boolean {
  if (simdSupported === null) {
    // (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt), as feature detectors use.
    const bytes = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
      15, 253, 98, 11,
    ]);
    simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
  }
  return simdSupported;
}
