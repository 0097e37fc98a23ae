import {
  type Bf16Data,
  bf16DataOf,
  type DecodeKernels,
  type DeviceBuffer,
  Embedding,
  getBackend,
  linearWeightsOf,
  RMSNorm,
  type Tensor,
  WasmMemoryError,
} from '@t2/tensor-core';
import type { Projection } from '../model/attention';
import type { LlamaForCausalLM } from '../model/llama-model';

/** One projection's resident weight and bias (0 when it has none). */
interface Resident {
  w: DeviceBuffer;
  /** W holds bfloat16 values (a BF16 checkpoint's bits, kept as stored). */
  bf16: boolean;
  b: DeviceBuffer;
  rows: number;
  cols: number;
}

interface LayerBuffers {
  inputNorm: DeviceBuffer;
  q: Resident;
  k: Resident;
  v: Resident;
  o: Resident;
  postNorm: DeviceBuffer;
  gate: Resident;
  up: Resident;
  down: Resident;
  /** Per row of the batch: [kvHeads, capacity, headDim]. */
  keys: DeviceBuffer[];
  values: DeviceBuffer[];
}

/**
 * Why the fused decoder cannot run `model` on the active backend, or null when it can:
 * the backend must offer decode kernels, and every projection must be a plain Linear or
 * an adapter that can give the weight and bias it amounts to (`InferenceWeights`, as
 * SVF's layer does); others change the forward pass in ways only the ops know.
 */
export function fusedDecodingUnavailable(model: LlamaForCausalLM): string | null {
  const backend = getBackend();
  if (!backend.decodeKernels) return `the '${backend.name}' backend has no decode kernels`;
  const inner = model.model;
  if (!(inner.embed_tokens instanceof Embedding)) return 'embed_tokens is not an Embedding';
  if (!(inner.norm instanceof RMSNorm)) return 'the final norm is not an RMSNorm';
  if (model.lm_head && !linearWeightsOf(model.lm_head)) return 'lm_head is wrapped by an adapter';
  for (const [i, layer] of [...inner.layers].entries()) {
    const a = layer.self_attn;
    const m = layer.mlp;
    for (const [name, p] of [
      ['q_proj', a.q_proj],
      ['k_proj', a.k_proj],
      ['v_proj', a.v_proj],
      ['o_proj', a.o_proj],
      ['gate_proj', m.gate_proj],
      ['up_proj', m.up_proj],
      ['down_proj', m.down_proj],
    ] as const) {
      if (!linearWeightsOf(p)) {
        return `layer ${i} ${name} is wrapped by an adapter that cannot give its inference weights`;
      }
    }
    if (
      !(
        layer.input_layernorm instanceof RMSNorm &&
        layer.post_attention_layernorm instanceof RMSNorm
      )
    ) {
      return `layer ${i} has a norm other than RMSNorm`;
    }
  }
  return null;
}

/**
 * The decoder forward pass for generation, on a backend's resident-buffer decode
 * kernels: weights are copied in once per generation, each row's KV cache is
 * preallocated for `capacity` positions, and a step copies only one embedding row in
 * and the logits out. Computes what `LlamaForCausalLM.forward` computes (to float32
 * rounding), for one row at a time; rows never see each other, so no padding is needed.
 */
export class FusedDecoder {
  private readonly k: DecodeKernels;
  private readonly layers: LayerBuffers[] = [];
  private readonly finalNorm: DeviceBuffer;
  private readonly head: Resident;
  /** The embedding as float32, or as the bfloat16 bits a BF16 checkpoint stored. */
  private readonly embedding: Float32Array | Bf16Data;
  /** bfloat16 weights used in place where they were loaded: checked live before each use. */
  private readonly adopted: Bf16Data[] = [];
  /** cos/sin of every position's angles, [capacity, headDim / 2]. */
  private readonly cos: DeviceBuffer;
  private readonly sin: DeviceBuffer;
  /** Cached positions per row. */
  private readonly lengths: Int32Array;
  // Scratch for up to `chunk` tokens at once.
  private readonly x: DeviceBuffer;
  private readonly xb: DeviceBuffer;
  private readonly q: DeviceBuffer;
  private readonly kv: DeviceBuffer;
  private readonly vv: DeviceBuffer;
  private readonly att: DeviceBuffer;
  private readonly gate: DeviceBuffer;
  private readonly up: DeviceBuffer;
  private readonly scores: DeviceBuffer;
  private readonly logits: DeviceBuffer;
  private readonly hidden: number;
  private readonly heads: number;
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly inter: number;
  private readonly vocab: number;
  private readonly eps: number;
  private readonly scale: number;
  private disposed = false;

  /** Tokens a prompt is fed in at once: projections of a chunk run as one product. */
  static readonly chunk = 64;

  /**
   * A decoder for `rows` independent sequences of up to `capacity` tokens, or null when the
   * model or backend cannot (see `fusedDecodingUnavailable`) or the backend's memory is too small.
   */
  static create(model: LlamaForCausalLM, rows: number, capacity: number): FusedDecoder | null {
    if (fusedDecodingUnavailable(model)) return null;
    try {
      return new FusedDecoder(model, getBackend().decodeKernels!(), rows, capacity);
    } catch (err) {
      // Said, not hidden: the ops path would run, but many times slower.
      if (err instanceof WasmMemoryError) {
        throw new WasmMemoryError(
          `cannot decode ${rows} row${rows === 1 ? '' : 's'} of up to ${capacity} tokens with this model on the '${getBackend().name}' backend: ${err.message}. Load BF16 weights (kept as stored), use fewer rows or a shorter context`,
        );
      }
      throw err;
    }
  }

  private constructor(
    model: LlamaForCausalLM,
    kernels: DecodeKernels,
    rows: number,
    readonly capacity: number,
  ) {
    this.k = kernels;
    const c = model.config;
    this.hidden = c.hiddenSize;
    this.heads = c.numAttentionHeads;
    this.kvHeads = c.numKeyValueHeads;
    this.headDim = c.headDim;
    this.inter = c.intermediateSize;
    this.vocab = c.vocabSize;
    this.scale = 1 / Math.sqrt(c.headDim);
    this.lengths = new Int32Array(rows);
    const inner = model.model;
    const embed = inner.embed_tokens.weight;
    this.embedding = bf16DataOf(embed) ?? embed.data;
    this.eps = (inner.norm as RMSNorm).eps;
    try {
      const cacheFloats = this.kvHeads * capacity * this.headDim;
      for (const layer of inner.layers) {
        const a = layer.self_attn;
        const m = layer.mlp;
        const inputNorm = layer.input_layernorm as RMSNorm;
        const postNorm = layer.post_attention_layernorm as RMSNorm;
        if (inputNorm.eps !== this.eps || postNorm.eps !== this.eps) {
          throw new Error('FusedDecoder: every RMSNorm must share one eps');
        }
        this.layers.push({
          inputNorm: this.upload(inputNorm.weight),
          q: this.resident(a.q_proj),
          k: this.resident(a.k_proj),
          v: this.resident(a.v_proj),
          o: this.resident(a.o_proj),
          postNorm: this.upload(postNorm.weight),
          gate: this.resident(m.gate_proj),
          up: this.resident(m.up_proj),
          down: this.resident(m.down_proj),
          keys: Array.from({ length: rows }, () => kernels.alloc(cacheFloats)),
          values: Array.from({ length: rows }, () => kernels.alloc(cacheFloats)),
        });
      }
      this.finalNorm = this.upload((inner.norm as RMSNorm).weight);
      this.head = model.lm_head
        ? this.resident(model.lm_head)
        : { ...this.uploadWeight(embed), b: 0, rows: this.vocab, cols: this.hidden };
      const [cos, sin] = rotaryTables(model.invFreq, capacity);
      this.cos = kernels.alloc(cos.length);
      kernels.write(this.cos, cos);
      this.sin = kernels.alloc(sin.length);
      kernels.write(this.sin, sin);
      const n = FusedDecoder.chunk;
      const qDim = this.heads * this.headDim;
      const kvDim = this.kvHeads * this.headDim;
      this.x = kernels.alloc(n * this.hidden);
      this.xb = kernels.alloc(n * Math.max(this.hidden, qDim));
      this.q = kernels.alloc(n * qDim);
      this.kv = kernels.alloc(n * kvDim);
      this.vv = kernels.alloc(n * kvDim);
      this.att = kernels.alloc(n * qDim);
      this.gate = kernels.alloc(n * this.inter);
      this.up = kernels.alloc(n * this.inter);
      this.scores = kernels.alloc(capacity);
      this.logits = kernels.alloc(Math.min(rows, n) * this.vocab);
    } catch (e) {
      kernels.release();
      throw e;
    }
  }

  private upload(t: Tensor): DeviceBuffer {
    const buf = this.k.alloc(t.data.length);
    this.k.write(buf, t.data);
    return buf;
  }

  /**
   * A weight matrix: bfloat16 bits stay bfloat16 (used in place when they were loaded into
   * the backend's memory, copied otherwise), anything else float32.
   */
  private uploadWeight(t: Tensor): { w: DeviceBuffer; bf16: boolean } {
    const bits = bf16DataOf(t);
    if (!bits) return { w: this.upload(t), bf16: false };
    const inPlace = this.k.residentBf16(bits.where);
    if (inPlace !== null) {
      this.adopted.push(bits);
      return { w: inPlace, bf16: true };
    }
    const w = this.k.allocBf16(t.size);
    this.k.writeBf16(w, bits.where.bits());
    return { w, bf16: true };
  }

  private resident(p: Projection): Resident {
    const { weight, bias } = linearWeightsOf(p)!;
    const [rows, cols] = weight.shape as [number, number];
    return { ...this.uploadWeight(weight), b: bias ? this.upload(bias) : 0, rows, cols };
  }

  /** Throws if a weight used in place was released (widened by a host read) since. */
  private checkLive(): void {
    if (this.disposed) throw new Error('FusedDecoder: used after dispose()');
    for (const d of this.adopted) d.where;
  }

  /** Positions cached for `row` so far. */
  length(row: number): number {
    return this.lengths[row]!;
  }

  /** Appends `tokens` to row `row` and returns the logits after the last of them. */
  feed(
    row: number,
    tokens: readonly number[],
    out: Float32Array = new Float32Array(this.vocab),
  ): Float32Array {
    this.checkLive();
    if (tokens.length === 0) throw new Error('FusedDecoder.feed: no tokens');
    if (this.lengths[row]! + tokens.length > this.capacity) {
      throw new Error(
        `FusedDecoder: ${this.lengths[row]! + tokens.length} positions exceed the capacity ${this.capacity}`,
      );
    }
    for (let i = 0; i < tokens.length; i += FusedDecoder.chunk) {
      const part = tokens.slice(i, i + FusedDecoder.chunk);
      this.forwardChunk(
        part.map(() => row),
        part,
        false,
      );
    }
    const k = this.k;
    const last = (tokens.length - 1) % FusedDecoder.chunk;
    const h = this.x + 4 * last * this.hidden;
    k.rmsNorm(h, this.finalNorm, this.xb, 1, this.hidden, this.eps);
    this.gemvRows(this.head, this.xb, this.logits, 1);
    return k.read(this.logits, out);
  }

  /**
   * Appends one token to each of several rows with one pass over the weights (every
   * projection a matrix × `rows.length` vectors) and writes each row's next logits into
   * `outs` (same order). Each row gets the bits `feed(row, [token])` would give it: the
   * batched products compute every output as the one-vector product does. Rows must be
   * distinct; finished rows are simply left out.
   */
  step(
    rows: readonly number[],
    tokens: readonly number[],
    outs: readonly Float32Array[] = rows.map(() => new Float32Array(this.vocab)),
  ): readonly Float32Array[] {
    this.checkLive();
    if (rows.length !== tokens.length || rows.length !== outs.length) {
      throw new Error('FusedDecoder.step: rows, tokens and outs differ in length');
    }
    if (new Set(rows).size !== rows.length) throw new Error('FusedDecoder.step: a row twice');
    for (const r of rows) {
      if (!(r >= 0 && r < this.lengths.length)) throw new Error(`FusedDecoder.step: no row ${r}`);
      if (this.lengths[r]! + 1 > this.capacity) {
        throw new Error(
          `FusedDecoder: ${this.lengths[r]! + 1} positions exceed the capacity ${this.capacity}`,
        );
      }
    }
    const room = this.logitRows;
    for (let i = 0; i < rows.length; i += room) {
      const part = rows.slice(i, i + room);
      const n = part.length;
      this.forwardChunk(part, tokens.slice(i, i + room), true);
      const k = this.k;
      k.rmsNorm(this.x, this.finalNorm, this.xb, n, this.hidden, this.eps);
      this.gemvRows(this.head, this.xb, this.logits, n);
      for (let t = 0; t < n; t++) k.read(this.logits + 4 * t * this.vocab, outs[i + t]!);
    }
    return outs;
  }

  /** Rows whose logits fit the logits buffer at once. */
  private get logitRows(): number {
    return Math.min(this.lengths.length, FusedDecoder.chunk);
  }

  /**
   * Runs up to `chunk` tokens through every layer, leaving their hidden states in x:
   * token t extends row `rowOf[t]`. `batched`: the tokens belong to distinct rows (one
   * decode step of several sequences; one-vector products, batched); otherwise they are
   * consecutive tokens of one row (a prompt chunk; one matrix product).
   */
  private forwardChunk(
    rowOf: readonly number[],
    tokens: readonly number[],
    batched: boolean,
  ): void {
    const { k, hidden, heads, kvHeads, headDim, inter } = this;
    const n = tokens.length;
    const vocab = this.vocab;
    const embedded = new Float32Array(n * hidden);
    for (let t = 0; t < n; t++) {
      const id = tokens[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new Error(`FusedDecoder: token id ${id} is outside the vocabulary [0, ${vocab})`);
      }
      this.embedRow(id, embedded.subarray(t * hidden, (t + 1) * hidden));
    }
    k.write(this.x, embedded);
    // Position of each token: after its row's cache, and after the chunk's earlier tokens.
    const positions = rowOf.map((r, t) => this.lengths[r]! + (batched ? 0 : t));
    const qDim = heads * headDim;
    const kvDim = kvHeads * headDim;
    const half = headDim / 2;
    const project = (p: Resident, x: DeviceBuffer, y: DeviceBuffer) =>
      batched ? this.gemvRows(p, x, y, n) : this.project(p, x, y, n);
    for (const L of this.layers) {
      k.rmsNorm(this.x, L.inputNorm, this.xb, n, hidden, this.eps);
      project(L.q, this.xb, this.q);
      project(L.k, this.xb, this.kv);
      project(L.v, this.xb, this.vv);
      for (let t = 0; t < n; t++) {
        const keys = L.keys[rowOf[t]!]!;
        const values = L.values[rowOf[t]!]!;
        const pos = positions[t]!;
        const cos = this.cos + 4 * pos * half;
        const sin = this.sin + 4 * pos * half;
        const q = this.q + 4 * t * qDim;
        const kt = this.kv + 4 * t * kvDim;
        k.rope(q, heads, headDim, cos, sin);
        k.rope(kt, kvHeads, headDim, cos, sin);
        k.cacheWrite(kt, keys, kvHeads, headDim, this.capacity, pos);
        k.cacheWrite(this.vv + 4 * t * kvDim, values, kvHeads, headDim, this.capacity, pos);
        // Causal: token t sees the cache up to and including itself.
        k.attend(
          q,
          keys,
          values,
          this.att + 4 * t * qDim,
          heads,
          kvHeads,
          headDim,
          this.capacity,
          pos + 1,
          this.scale,
          this.scores,
        );
      }
      project(L.o, this.att, this.xb);
      k.addInto(this.x, this.xb, n * hidden);
      k.rmsNorm(this.x, L.postNorm, this.xb, n, hidden, this.eps);
      project(L.gate, this.xb, this.gate);
      project(L.up, this.xb, this.up);
      k.swiglu(this.gate, this.up, this.gate, n * inter);
      project(L.down, this.gate, this.xb);
      k.addInto(this.x, this.xb, n * hidden);
    }
    for (let t = 0; t < n; t++) this.lengths[rowOf[t]!] = positions[t]! + 1;
  }

  /** n vectors (distinct rows' tokens) through `p` with one pass over its weight. */
  private gemvRows(p: Resident, x: DeviceBuffer, y: DeviceBuffer, n: number): void {
    (p.bf16 ? this.k.gemvBatchBf16 : this.k.gemvBatch)(p.w, x, y, n, p.rows, p.cols, p.b);
  }

  /** n consecutive tokens of one row through `p` as one matrix product. */
  private project(p: Resident, x: DeviceBuffer, y: DeviceBuffer, n: number): void {
    (p.bf16 ? this.k.linearRowsBf16 : this.k.linearRows)(x, p.w, y, n, p.cols, p.rows, p.b);
  }

  /** Token `id`'s embedding row, widened from bfloat16 when the embedding is kept so. */
  private embedRow(id: number, out: Float32Array): void {
    const h = this.hidden;
    if (this.embedding instanceof Float32Array) {
      out.set(this.embedding.subarray(id * h, (id + 1) * h));
      return;
    }
    this.embedding.widen(id * h, out);
  }

  /** Frees the resident weights, caches and scratch. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.k.release();
  }
}

/** cos and sin of pos·invFreq[i] for every position below `capacity`, as the rope kernels compute them. */
function rotaryTables(invFreq: Float32Array, capacity: number): [Float32Array, Float32Array] {
  const half = invFreq.length;
  const cos = new Float32Array(capacity * half);
  const sin = new Float32Array(capacity * half);
  for (let p = 0; p < capacity; p++) {
    for (let i = 0; i < half; i++) {
      // float32 angle, as the reference computes it.
      const angle = Math.fround(p * invFreq[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return [cos, sin];
}
