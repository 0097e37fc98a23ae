/**
 * Recycles Float32Array buffers by exact length. Kernels take their outputs from here
 * and `dispose()`/`tidy()` give them back, so a training loop reuses the same few
 * buffers instead of allocating (and garbage-collecting) megabytes per step.
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxPooledBytes = 256 * 1024 * 1024) {}

  /** A buffer of `length` floats with unspecified contents. */
  acquire(length: number): Float32Array {
    const list = this.free.get(length);
    const buf = list?.pop();
    if (buf) {
      this.hits++;
      this.pooledBytes -= buf.byteLength;
      return buf;
    }
    this.misses++;
    return new Float32Array(length);
  }

  /** A buffer of `length` zeros. */
  acquireZeroed(length: number): Float32Array {
    const buf = this.acquire(length);
    buf.fill(0);
    return buf;
  }

  release(buf: Float32Array): void {
    if (buf.length === 0 || this.pooledBytes + buf.byteLength > this.maxPooledBytes) return;
    let list = this.free.get(buf.length);
    if (!list) {
      list = [];
      this.free.set(buf.length, list);
    }
    list.push(buf);
    this.pooledBytes += buf.byteLength;
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  get bytesPooled(): number {
    return this.pooledBytes;
  }
}

export const bufferPool = new BufferPool();
