import type { DeviceData } from '../kernels/backend';
import { defaultRng, type Rng } from '../random/rng';
import { assertValidShape, type Shape, sizeOf } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

export type TensorLike = Tensor | number;

let emptyInit = 0;

/** Device data with a length and no values: a parameter that a loader replaces at once. */
class Placeholder implements DeviceData {
  constructor(readonly length: number) {}
  read(): Float32Array {
    throw new Error(
      'a placeholder weight (built under withEmptyInit) was read before being replaced',
    );
  }
  release(): void {}
}

/**
 * Runs `fn` with `full`, `zeros`, `ones`, `rand` and `randn` returning placeholders that
 * have shapes but no values (accelerate's init_empty_weights): a loader builds a model
 * whose every parameter it then replaces, without allocating or initialising them.
 */
export function withEmptyInit<T>(fn: () => T): T {
  emptyInit++;
  try {
    return fn();
  } finally {
    emptyInit--;
  }
}

function placeholder(shape: Shape): Tensor | null {
  if (!emptyInit) return null;
  assertValidShape(shape);
  return new Tensor(new Placeholder(sizeOf(shape)), shape);
}

/** Wraps values (copied) in a tensor; the shape defaults to 1-D. */
export function fromArray(values: ArrayLike<number>, shape?: Shape): Tensor {
  const s = shape ?? [values.length];
  assertValidShape(s, 'fromArray');
  if (sizeOf(s) !== values.length) {
    throw new Error(`fromArray: ${values.length} values do not fill shape [${s.join(', ')}]`);
  }
  return new Tensor(Float32Array.from(values), s);
}

/** A rank-0 tensor. */
export function scalar(value: number): Tensor {
  return new Tensor(new Float32Array([value]), []);
}

export function full(shape: Shape, value: number): Tensor {
  assertValidShape(shape, 'full');
  const empty = placeholder(shape);
  if (empty) return empty;
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
}

export function zeros(shape: Shape): Tensor {
  return full(shape, 0);
}

export function ones(shape: Shape): Tensor {
  return full(shape, 1);
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

export function onesLike(t: Tensor): Tensor {
  return ones(t.shape);
}

/** Values start, start + step, … below end (NumPy's arange). */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** Uniform values in [low, high) from a seeded generator. */
export function rand(shape: Shape, opts: { low?: number; high?: number; rng?: Rng } = {}): Tensor {
  const empty = placeholder(shape);
  if (empty) return empty;
  const { low = 0, high = 1, rng = defaultRng() } = opts;
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return new Tensor(data, shape);
}

/** Normal values with the given mean and std from a seeded generator. */
export function randn(shape: Shape, opts: { mean?: number; std?: number; rng?: Rng } = {}): Tensor {
  const empty = placeholder(shape);
  if (empty) return empty;
  const { mean = 0, std = 1, rng = defaultRng() } = opts;
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return new Tensor(data, shape);
}

/** Identity matrix. */
export function eye(n: number): Tensor {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return new Tensor(data, [n, n]);
}

export function toTensor(x: TensorLike): Tensor {
  return typeof x === 'number' ? scalar(x) : x;
}

/** Integer indices from a tensor or array, checked against [0, limit). */
export function toIndices(
  idx: Tensor | ArrayLike<number>,
  limit: number,
  opName: string,
): Int32Array {
  const values = idx instanceof Tensor ? idx.data : idx;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= limit) {
      throw new Error(`${opName}: index ${v} at position ${i} is out of range [0, ${limit})`);
    }
    out[i] = v;
  }
  return out;
}
