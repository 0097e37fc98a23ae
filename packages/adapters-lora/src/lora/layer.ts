import { svd } from '@t2/svd';
import {
  add,
  Dropout,
  defaultRng,
  formatShape,
  Linear,
  type Module,
  mul,
  noGrad,
  type Rng,
  randn,
  Tensor,
} from '@t2/tensor-core';
import { AdapterLinear } from '@t2/tuners';
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
export class LoraLinear extends AdapterLinear<AdapterInfo> {
  readonly adapterType = 'LORA';
  private loraA = new ModuleDict<Linear>();
  private loraB = new ModuleDict<Linear>();
  private dropouts = new ModuleDict<Dropout>();

  /** `path` is the layer's dotted name in the model, used in error messages. */
  constructor(base: Linear, path: string) {
    super(base, path, 'LoRA');
    this.registerModule('lora_dropout', this.dropouts);
    this.registerModule('lora_A', this.loraA);
    this.registerModule('lora_B', this.loraB);
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

  adapterParameters(name: string): [string, Tensor][] {
    return [
      ['lora_A.weight', this.loraAWeight(name)],
      ['lora_B.weight', this.loraBWeight(name)],
    ];
  }

  /** PiSSA's initial A₀, B₀ (null for other inits). */
  pissaStart(name: string): { a0: Float32Array; b0: Float32Array } | null {
    return this.infoOf(name).pissaStart;
  }

  addAdapter(name: string, opts: LoraAdapterOptions): void {
    this.checkNewAdapter(name);
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

  /** A PiSSA adapter first gives its top-r part back to the base weight. */
  protected removeAdapter(name: string): void {
    const { pissaStart, scaling, r } = this.infoOf(name);
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
  }

  /** Adds (or takes back out) `scaling · B A` of adapter `name`. */
  protected foldUpdate(name: string, direction: 1 | -1): void {
    this.addUpdate(this.baseLayer.weight.data, name, direction);
  }

  protected override updateIsRandom(name: string): boolean {
    if (!this.dropouts.has(name)) return false;
    const dropout = this.dropouts.get(name);
    return dropout.training && dropout.p > 0;
  }

  /** The weight the forward pass effectively uses, `W + s·B A` (without autograd). */
  effectiveWeight(): Tensor {
    return noGrad(() => {
      const w = Float32Array.from(this.baseLayer.weight.data);
      const name = this.unmergedActive();
      if (name !== null) this.addUpdate(w, name, 1);
      return new Tensor(w, this.baseLayer.weight.shape);
    });
  }

  forward(x: Tensor): Tensor {
    const name = this.forwardAdapter();
    const y = this.baseLayer.forward(x);
    if (name === null) return y;
    const { scaling } = this.infoOf(name);
    const h = this.dropouts.has(name) ? this.dropouts.get(name).forward(x) : x;
    const update = this.loraB.get(name).forward(this.loraA.get(name).forward(h));
    return add(y, scaling === 1 ? update : mul(update, scaling));
  }

  /** `w += sign · scaling · B A` for adapter `name`. */
  private addUpdate(w: Float32Array, name: string, sign: 1 | -1): void {
    const { scaling, r } = this.infoOf(name);
    addProduct(
      w,
      this.loraBWeight(name).data,
      this.loraAWeight(name).data,
      this.outFeatures,
      r,
      this.inFeatures,
      sign * scaling,
    );
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
