import { Module } from '@t2/tensor-core';

/**
 * Modules keyed by adapter name, so a wrapped layer's state dict reads like PEFT's
 * (`q_proj.lora_A.default.weight`).
 */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();

  constructor(entries: Iterable<[string, M]> = []) {
    super();
    for (const [name, m] of entries) this.set(name, m);
  }

  set(name: string, m: M): M {
    this.items.set(name, this.registerModule(name, m));
    return m;
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  get(name: string): M {
    const m = this.items.get(name);
    if (!m) throw new Error(`ModuleDict: no entry '${name}'`);
    return m;
  }

  entries(): [string, M][] {
    return [...this.items];
  }

  forward(): never {
    throw new Error('ModuleDict has no forward');
  }
}
