/** A weight as adapters see it: a shape and float32 values, row-major. */
export interface WeightLike {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s)
    throw new Error('adapters-svf: Web Crypto (crypto.subtle) is not available to hash weights');
  return s;
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(await subtle().digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/**
 * SHA-256 of a weight's shape and float32 bytes: the key of its cached SVD factors and
 * the unit of a base model's fingerprint.
 */
export async function weightHash(weight: WeightLike): Promise<string> {
  const { data } = weight;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const body = await sha256Hex(bytes);
  // The shape is hashed with the bytes so that a reshaped weight gets another key.
  return sha256Hex(new TextEncoder().encode(`f32[${weight.shape.join(',')}]:${body}`));
}

/**
 * Fingerprint of a base model as seen by an expert: the hashes of the weights it adapts,
 * in path order. Two models agree on it exactly when those weights are bit-identical.
 */
export async function baseFingerprint(weightHashes: ReadonlyMap<string, string>): Promise<string> {
  const lines = [...weightHashes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(new TextEncoder().encode(lines.map(([p, h]) => `${p}=${h}\n`).join('')));
}
