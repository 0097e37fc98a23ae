import { svd } from '@t2/svd';
import {
  add,
  Dropout,
  defaultRng,
  formatShape,
  Linear,
  Module,
  mul,
  noGrad,
  type Rng,
  randn,
  Tensor,
} from '@t2/tensor-core';
import { ModuleDict } from '../shared/module-dict';
import { isPissa, type LoraInit } from './config';

export interface LoraAdapterOptions {
  r: number;
  alpha: number;
  /** Multiplies `B A x`: alpha / r, or alpha / sqrt(r) with rsLoRA. */
  scaling: number;
  dropout: number;
  init: LoraInit;
  rng?: Rng;
}

interface AdapterInfo {
  r: number;
  alpha: number;
  scaling: number;
  init: LoraInit;
  /** PiSSA's starting A₀ (r×in) and B₀ (out×r): W = residual + scaling·B₀A₀. */
  pissaStart: { a0: Float32Array; b0: Float32Array } | null;
}

/**
 * A Linear layer with LoRA adapters beside it: `y = base(x) + scaling · B A dropout(x)`.
 * Children follow PEFT's names: `base_layer` (frozen), `lora_A.<adapter>` (Linear in→r),
 * `lora_B.<adapter>` (Linear r→out), `lora_dropout.<adapter>`.
 */
export class LoraLinear extends Module {
  readonly isAdapterLayer = true;
  readonly adapterType = 'LORA';
  readonly baseLayer: Linear;
  private loraA = new ModuleDict<Linear>();
  private loraB = new ModuleDict<Linear>();
  private dropouts = new ModuleDict<Dropout>();
  private readonly info = new Map<string, AdapterInfo>();
  /** The adapter used by `forward`; null: none. */
  activeAdapter: string | null = null;
  /** When true, `forward` is the base layer's. */
  disabled = false;
  /** Adapters whose update is in the base weight, in merge order. */
  readonly mergedAdapters: string[] = [];

  /** `path` is the layer's dotted name in the model, used in error messages. */
  constructor(
    base: Linear,
    readonly path: string,
  ) {
    super();
    this.baseLayer = this.registerModule('base_layer', base);
    this.registerModule('lora_dropout', this.dropouts);
    this.registerModule('lora_A', this.loraA);
    this.registerModule('lora_B', this.loraB);
  }

  get inFeatures(): number {
    return this.baseLayer.inFeatures;
  }

  get outFeatures(): number {
    return this.baseLayer.outFeatures;
  }

  get adapterNames(): string[] {
    return [...this.info.keys()];
  }

  hasAdapter(name: string): boolean {
    return this.info.has(name);
  }

  /** r, alpha, scaling and init of adapter `name`. */
  adapterInfo(name: string): Readonly<Omit<AdapterInfo, 'pissaStart'>> & { pissa: boolean } {
    const { r, alpha, scaling, init, pissaStart } = this.infoOf(name);
    return { r, alpha, scaling, init, pissa: pissaStart !== null };
  }

  /** `lora_A` weight, shape [r, in]. */
  loraAWeight(name: string): Tensor {
    this.infoOf(name);
    return this.loraA.get(name).weight;
  }

  /** `lora_B` weight, shape [out, r]. */
  loraBWeight(name: string): Tensor {
    this.infoOf(name);
    return this.loraB.get(name).weight;
  }

  /** PiSSA's initial A₀, B₀ (null for other inits). */
  pissaStart(name: string): { a0: Float32Array; b0: Float32Array } | null {
    return this.infoOf(name).pissaStart;
  }

  addAdapter(name: string, opts: LoraAdapterOptions): void {
    if (this.info.has(name))
      throw new Error(`LoRA: '${this.path}' already has an adapter named '${name}'`);
    if (name.includes('.') || name === '')
      throw new Error(`LoRA: adapter name '${name}' must be non-empty without '.'`);
    if (this.mergedAdapters.length && isPissa(opts.init)) {
      throw new Error(
        `LoRA: '${this.path}' has merged adapters; unmerge before adding a PiSSA adapter`,
      );
    }
    const { r, init } = opts;
    const rng = opts.rng ?? defaultRng();
    const inF = this.inFeatures;
    const out = this.outFeatures;
    // nn.Linear's default init is PEFT's Kaiming-uniform (a = sqrt(5)) for lora_A.
    const a = new Linear(inF, r, { bias: false, rng });
    const b = new Linear(r, out, { bias: false, rng });
    let pissaStart: AdapterInfo['pissaStart'] = null;
    if (init === true || init === 'gaussian') b.weight.data.fill(0);
    if (init === 'gaussian') a.weight.data.set(randn([r, inF], { std: 1 / r, rng }).data);
    if (isPissa(init)) {
      pissaStart = this.pissaInit(a.weight, b.weight, r, opts.scaling);
    }
    this.loraA.set(name, a);
    this.loraB.set(name, b);
    if (opts.dropout > 0) this.dropouts.set(name, new Dropout(opts.dropout, rng));
    this.info.set(name, { r, alpha: opts.alpha, scaling: opts.scaling, init, pissaStart });
  }

  /**
   * PEFT's PiSSA: with W ≈ U_r S_r V_rᵀ (top r), A = diag(sqrt(S_r/s)) V_rᵀ and
   * B = U_r diag(sqrt(S_r/s)), so s·B A is the top-r part; the base keeps W − s·B A.
   */
  private pissaInit(
    aw: Tensor,
    bw: Tensor,
    r: number,
    scaling: number,
  ): { a0: Float32Array; b0: Float32Array } {
    const inF = this.inFeatures;
    const out = this.outFeatures;
    if (r > Math.min(out, inF)) {
      throw new Error(
        `PiSSA: '${this.path}' has weight ${formatShape([out, inF])}, so r = ${r} exceeds its rank`,
      );
    }
    const w = this.baseLayer.weight;
    const { U, S, V, k } = svd(w, { rank: r, name: `${this.path}.weight` });
    for (let i = 0; i < r; i++) {
      const root = Math.sqrt(S[i]! / scaling);
      for (let c = 0; c < inF; c++) aw.data[i * inF + c] = root * V[c * k + i]!;
      for (let o = 0; o < out; o++) bw.data[o * r + i] = U[o * k + i]! * root;
    }
    // The residual is taken with the float32 A, B so that residual + s·B A reproduces W.
    addProduct(w.data, bw.data, aw.data, out, r, inF, -scaling);
    return { a0: Float32Array.from(aw.data), b0: Float32Array.from(bw.data) };
  }

  /** Removes adapter `name`; a PiSSA adapter first gives its top-r part back to the base weight. */
  deleteAdapter(name: string): void {
    const { pissaStart, scaling, r } = this.infoOf(name);
    if (this.mergedAdapters.includes(name))
      throw new Error(`LoRA: '${this.path}': unmerge '${name}' before deleting it`);
    if (pissaStart)
      addProduct(
        this.baseLayer.weight.data,
        pissaStart.b0,
        pissaStart.a0,
        this.outFeatures,
        r,
        this.inFeatures,
        scaling,
      );
    const without = <M extends Module>(d: ModuleDict<M>) =>
      new ModuleDict(d.entries().filter(([n]) => n !== name));
    this.loraA = this.registerModule('lora_A', without(this.loraA));
    this.loraB = this.registerModule('lora_B', without(this.loraB));
    this.dropouts = this.registerModule('lora_dropout', without(this.dropouts));
    this.info.delete(name);
    if (this.activeAdapter === name) this.activeAdapter = null;
  }

  /** Writes `scaling · B A` of adapter `name` into the base weight (no-op if merged). */
  merge(name: string): void {
    const { scaling, r } = this.infoOf(name);
    if (this.mergedAdapters.includes(name)) return;
    addProduct(
      this.baseLayer.weight.data,
      this.loraBWeight(name).data,
      this.loraAWeight(name).data,
      this.outFeatures,
      r,
      this.inFeatures,
      scaling,
    );
    this.mergedAdapters.push(name);
  }

  /** Takes every merged update back out of the base weight, last merged first. */
  unmerge(): void {
    while (this.mergedAdapters.length) {
      const name = this.mergedAdapters.pop()!;
      const { scaling, r } = this.infoOf(name);
      addProduct(
        this.baseLayer.weight.data,
        this.loraBWeight(name).data,
        this.loraAWeight(name).data,
        this.outFeatures,
        r,
        this.inFeatures,
        -scaling,
      );
    }
  }

  /** The weight the forward pass effectively uses, `W + s·B A` (without autograd). */
  effectiveWeight(): Tensor {
    return noGrad(() => {
      const w = Float32Array.from(this.baseLayer.weight.data);
      const name = this.activeAdapter;
      if (!this.disabled && name !== null && !this.mergedAdapters.includes(name)) {
        const { scaling, r } = this.infoOf(name);
        addProduct(
          w,
          this.loraBWeight(name).data,
          this.loraAWeight(name).data,
          this.outFeatures,
          r,
          this.inFeatures,
          scaling,
        );
      }
      return new Tensor(w, this.baseLayer.weight.shape);
    });
  }

  forward(x: Tensor): Tensor {
    const name = this.activeAdapter;
    if (this.disabled && this.mergedAdapters.length) {
      throw new Error(`LoRA: '${this.path}' is disabled but has merged adapters; unmerge first`);
    }
    const y = this.baseLayer.forward(x);
    if (this.disabled || name === null || this.mergedAdapters.includes(name)) return y;
    const { scaling } = this.infoOf(name);
    const h = this.dropouts.has(name) ? this.dropouts.get(name).forward(x) : x;
    const update = this.loraB.get(name).forward(this.loraA.get(name).forward(h));
    return add(y, scaling === 1 ? update : mul(update, scaling));
  }

  private infoOf(name: string): AdapterInfo {
    const info = this.info.get(name);
    if (!info)
      throw new Error(
        `LoRA: '${this.path}' has no adapter named '${name}' (has: ${this.adapterNames.join(', ') || 'none'})`,
      );
    return info;
  }
}

/** `w += s · b a` with b [out, r], a [r, in], accumulated in float64. */
export function addProduct(
  w: Float32Array,
  b: ArrayLike<number>,
  a: ArrayLike<number>,
  out: number,
  r: number,
  inF: number,
  s: number,
): void {
  const row = new Float64Array(inF);
  for (let o = 0; o < out; o++) {
    row.fill(0);
    for (let i = 0; i < r; i++) {
      const bo = b[o * r + i]!;
      if (bo === 0) continue;
      for (let c = 0; c < inF; c++) row[c]! += bo * a[i * inF + c]!;
    }
    for (let c = 0; c < inF; c++) w[o * inF + c]! += s * row[c]!;
  }
}
