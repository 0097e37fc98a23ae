import { describe, expect, it } from 'vitest';
import { ExpertRegistry } from '../src/index';

describe('ExpertRegistry', () => {
  const make = () =>
    new ExpertRegistry<string>([
      { name: 'm', label: 'math', role: 'task', expert: 'M' },
      { name: 'cls', label: 'classifier', role: 'classifier', expert: 'C' },
      { name: 's', label: 'string', role: 'task', expert: 'S' },
    ]);

  it('keeps task experts in insertion order and the classifier apart', () => {
    const r = make();
    expect(r.labels()).toEqual(['math', 'string']);
    expect(r.taskExperts().map((e) => e.expert)).toEqual(['M', 'S']);
    expect(r.classifier()?.expert).toBe('C');
    expect(r.size).toBe(3);
    expect(r.get('s')?.label).toBe('string');
  });

  it('finds labels case-insensitively', () => {
    const r = make();
    expect(r.indexOfLabel('STRING')).toBe(1);
    expect(r.indexOfLabel('other')).toBe(-1);
    expect(r.indexOfLabel('classifier')).toBe(-1);
  });

  it('refuses ambiguous registrations', () => {
    expect(() =>
      make().add({ name: 'm', label: 'logic', role: 'task', expert: 'X', source: 'b.safetensors' }),
    ).toThrow(/^b\.safetensors: a second expert named 'm'/);
    expect(() => make().add({ name: 'm2', label: 'math', role: 'task', expert: 'X' })).toThrow(
      /'m' .*and 'm2' both claim category 'math'/,
    );
    expect(() => make().add({ name: 'c2', label: 'c', role: 'classifier', expert: 'X' })).toThrow(
      /a second classification expert/,
    );
    expect(() => make().add({ name: 'x', label: '', role: 'task', expert: 'X' })).toThrow(
      /no category label/,
    );
  });
});
