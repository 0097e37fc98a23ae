/**
 * Where bfloat16 bits live: an ordinary array, or a region of a backend's memory that its
 * kernels read in place (one copy of each weight for every path).
 */
export interface Bf16Home {
  /** The bits; a fresh view per call, since a growing wasm memory replaces its buffer. */
  bits(): Uint16Array;
  /** Gives the memory back; idempotent. */
  free(): void;
}
