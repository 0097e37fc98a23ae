import { Module, type Tensor } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import {
  type AdapterMethod,
  adapterMethod,
  adapterMethodForPeftType,
  adapterMethodNames,
  adapterMethods,
  registerAdapterMethod,
} from '../src/index';

class NoLayer extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** A method that is only a name: enough to see how the registry files it. */
function method(name: string, peftTypes: string[], variants?: string[]): AdapterMethod {
  return {
    name,
    label: name.toUpperCase(),
    ...(variants && { variants }),
    summary: `${name} for the registry test`,
    peftTypes,
    config: (o) => o,
    layer: NoLayer,
    inject: () => {
      throw new Error('not used');
    },
    handleOf: () => undefined,
    files: null,
  };
}

describe('adapter method registry', () => {
  it('lists methods in name order, whatever order they were registered in', () => {
    registerAdapterMethod(method('zz-reg', ['ZZ_REG']));
    registerAdapterMethod(method('aa-reg', ['AA_REG'], ['aa-reg-variant']));
    const names = adapterMethods().map((m) => m.name);
    expect(names).toEqual([...names].sort());
    expect(names.indexOf('aa-reg')).toBeLessThan(names.indexOf('zz-reg'));
    // each method's variants follow its own name
    const all = adapterMethodNames();
    expect(all.indexOf('aa-reg-variant')).toBe(all.indexOf('aa-reg') + 1);
  });

  it('finds a method by name, variant or peft_type', () => {
    expect(adapterMethod('aa-reg')?.label).toBe('AA-REG');
    expect(adapterMethod('aa-reg-variant')?.name).toBe('aa-reg');
    expect(adapterMethodForPeftType('ZZ_REG')?.name).toBe('zz-reg');
    expect(adapterMethod('nope')).toBeUndefined();
    expect(adapterMethodForPeftType('NOPE')).toBeUndefined();
  });

  it('refuses a name, variant or peft_type another method has, and ignores a repeat', () => {
    const zz = adapterMethods().find((m) => m.name === 'zz-reg')!;
    registerAdapterMethod(zz);
    expect(adapterMethods().filter((m) => m.name === 'zz-reg')).toHaveLength(1);
    expect(() => registerAdapterMethod(method('zz-reg', ['OTHER']))).toThrow(
      "registerAdapterMethod: 'zz-reg' is already used by method 'zz-reg'",
    );
    expect(() => registerAdapterMethod(method('new-reg', ['AA_REG']))).toThrow(
      "'AA_REG' is already used by method 'aa-reg'",
    );
    expect(() => registerAdapterMethod(method('aa-reg-variant', ['X_REG']))).toThrow(
      "'aa-reg-variant' is already used by method 'aa-reg'",
    );
  });
});
