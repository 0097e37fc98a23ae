/** The train view's method list is the registry's: a registered method shows up with no demo edit. */
import { type AdapterMethod, adapterMethod, registerAdapterMethod } from '@t2/tuners';
import { describe, expect, test } from 'vitest';
import { SVF_REINFORCE, trainMethod, trainMethods } from '../src/worker/methods';

describe('train methods from the @t2/tuners registry', () => {
  test('the built-in packages give the choices the page has always had, in order', () => {
    const list = trainMethods();
    expect(list.map((m) => m.name)).toEqual(['bone', 'bat', 'lora', 'pissa', SVF_REINFORCE]);
    expect(trainMethod('lora')).toMatchObject({ label: 'LoRA', trainer: 'sft', usesRank: true });
    expect(trainMethod('pissa')).toMatchObject({ label: 'PiSSA', defaultLr: 5e-3 });
    expect(trainMethod(SVF_REINFORCE)).toMatchObject({
      label: 'SVF (REINFORCE)',
      trainer: 'reinforce',
      usesRank: false,
    });
    for (const m of list) expect(m.summary.length).toBeGreaterThan(0);
  });

  test('a method registered later is offered, with its variants; one without files is not', () => {
    // A toy method: LoRA's machinery under another name, as a plugin package would add it.
    const loraMethod = adapterMethod('lora') as AdapterMethod<unknown>;
    registerAdapterMethod({
      ...loraMethod,
      name: 'toy',
      label: 'Toy',
      variants: ['toy-wide'],
      summary: 'a toy adapter for this test',
      peftTypes: ['TOY'],
    });
    registerAdapterMethod({
      ...loraMethod,
      name: 'fileless',
      label: 'Fileless',
      variants: [],
      summary: 'no way to save it',
      peftTypes: [],
      files: null,
    });
    const names = trainMethods().map((m) => m.name);
    // PEFT methods first, in registration order; the REINFORCE choice after them.
    expect(names).toEqual(['bone', 'bat', 'lora', 'pissa', 'toy', 'toy-wide', SVF_REINFORCE]);
    expect(trainMethod('toy')).toEqual({
      name: 'toy',
      label: 'Toy',
      summary: 'a toy adapter for this test',
      trainer: 'sft',
      usesRank: true,
      defaultLr: 1e-2,
    });
    expect(trainMethod('toy-wide')?.label).toBe('Toy (toy-wide)');
    expect(trainMethod('fileless')).toBeUndefined();
  });
});
