import { formatShape, shapesEqual } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';

/**
 * Base of every layer: named parameters and submodules, so that a model's state dict
 * uses Hugging Face names (`model.layers.0.mlp.up_proj.weight`) and code that wraps
 * layers can find and replace them by name.
 */
export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers (or replaces) a parameter; trainable unless `trainable` is false. */
  registerParameter(name: string, t: Tensor, trainable = true): Tensor {
    if (name.includes('.')) throw new Error(`registerParameter: '${name}' must not contain '.'`);
    t.isParameter = true;
    t.requiresGrad = trainable;
    this.params.set(name, t);
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    if (name.includes('.')) throw new Error(`registerModule: '${name}' must not contain '.'`);
    this.children.set(name, m);
    return m;
  }

  getParameter(name: string): Tensor | undefined {
    return this.params.get(name);
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.params) out.push([prefix + name, t]);
    for (const [name, child] of this.children)
      out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Parameters that currently require a gradient (what an optimizer should update). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  numParameters(trainableOnly = false): number {
    return (trainableOnly ? this.trainableParameters() : this.parameters()).reduce(
      (n, t) => n + t.size,
      0,
    );
  }

  /** Every module below (and including) this one, with its dotted path ('' for this). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = m.children.get(part);
      if (!next) throw new Error(`getSubmodule: no module '${path}' (missing '${part}')`);
      m = next;
    }
    return m;
  }

  /** Replaces the module at a dotted path (how a layer is wrapped). */
  setSubmodule(path: string, replacement: Module): void {
    const parts = path.split('.');
    const last = parts.pop()!;
    const parent = this.getSubmodule(parts.join('.'));
    if (!parent.children.has(last)) throw new Error(`setSubmodule: no module '${path}'`);
    parent.children.set(last, replacement);
    parent.onChildReplaced(last, replacement);
  }

  /** Hook for modules that keep typed references to their children. */
  protected onChildReplaced(_name: string, _replacement: Module): void {}

  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /**
   * Copies values into the existing parameters (their identity stays, so optimizers keep
   * working). Strict mode reports missing and unexpected names; shapes must match.
   */
  loadStateDict(
    state: Map<string, Tensor> | Record<string, Tensor>,
    opts: { strict?: boolean } = {},
  ): void {
    const { strict = true } = opts;
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const own = new Map(this.namedParameters());
    if (strict) {
      const missing = [...own.keys()].filter((k) => !entries.has(k));
      const unexpected = [...entries.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new Error(
          `loadStateDict: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''}`,
        );
      }
    }
    for (const [name, src] of entries) {
      const dst = own.get(name);
      if (!dst) continue;
      if (!shapesEqual(dst.shape, src.shape)) {
        throw new Error(
          `loadStateDict: '${name}' has shape ${formatShape(src.shape)}, the model expects ${formatShape(dst.shape)}`,
        );
      }
      dst.data.set(src.data);
    }
  }

  train(flag = true): this {
    for (const [, m] of this.namedModules()) m.training = flag;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (false: freeze the base model). */
  requiresGrad(flag: boolean): this {
    for (const t of this.parameters()) t.requiresGrad = flag;
    return this;
  }

  zeroGrad(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
    }
  }

  abstract forward(...args: never[]): unknown;
}

/** An indexed list of modules named '0', '1', … (Hugging Face `layers.3`). */
export class ModuleList<M extends Module = Module> extends Module {
  private items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): void {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: index ${i} out of range (${this.items.length})`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  protected override onChildReplaced(name: string, replacement: Module): void {
    this.items[Number(name)] = replacement as M;
  }

  forward(): never {
    throw new Error('ModuleList has no forward; iterate over it');
  }
}
