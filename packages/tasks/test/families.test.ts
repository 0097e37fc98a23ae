import { describe, expect, it } from 'vitest';
import {
  expertCategories,
  expertDomains,
  families,
  formatExample,
  getFamily,
  heldOutFamilies,
  mixture,
  Rng,
  sampleTask,
} from '../src';

// Each answer recomputed from the prompt text alone, independently of the generators.
function solve(prompt: string): string {
  let m: RegExpExecArray | null;
  if ((m = /^(\d\d)([+-])(\d\d)=$/.exec(prompt))) {
    const [a, b] = [Number(m[1]), Number(m[3])];
    return String(m[2] === '+' ? a + b : a - b);
  }
  if ((m = /^(rev|up|last) ([a-z]{3,5})=$/.exec(prompt))) {
    const word = m[2]!;
    if (m[1] === 'rev') return word.split('').reverse().join('');
    if (m[1] === 'up') return word.toUpperCase();
    return word[word.length - 1]!;
  }
  if ((m = /^(max|min) (\d\d) (\d\d)=$/.exec(prompt))) {
    const [lo, hi] = [Number(m[2]), Number(m[3])].sort((x, y) => x - y);
    return String(m[1] === 'max' ? hi : lo);
  }
  if ((m = /^is (\d\d)([<>])(\d\d)=$/.exec(prompt))) {
    const [a, b] = [Number(m[1]), Number(m[3])];
    return (m[2] === '<' ? a < b : a > b) ? 'T' : 'F';
  }
  if ((m = /^count ([a-e]) in ([a-e]{4,8})=$/.exec(prompt))) {
    return String(m[2]!.split(m[1]!).length - 1);
  }
  if ((m = /^shout ([a-z]{3,5})=$/.exec(prompt))) return m[1]!.toUpperCase();
  if ((m = /^end ([a-z]{3,5})=$/.exec(prompt))) return m[1]!.at(-1)!;
  if ((m = /^big (\d\d) (\d\d)=$/.exec(prompt))) {
    return String(Math.max(Number(m[1]), Number(m[2])));
  }
  if ((m = /^sort (\d{3,4})=$/.exec(prompt))) {
    const counts = new Array(10).fill(0);
    for (const d of m[1]!) counts[Number(d)]++;
    return counts.map((c, d) => String(d).repeat(c)).join('');
  }
  throw new Error(`no solver for ${JSON.stringify(prompt)}`);
}

describe('task families', () => {
  it('has three expert domains with distinct categories and held-out families', () => {
    expect(expertDomains.map((f) => f.name)).toEqual(['arith', 'string', 'logic']);
    expect(expertCategories).toEqual(['math', 'string', 'logic']);
    expect(heldOutFamilies.map((f) => f.name)).toEqual(['count', 'sort', 'shout', 'big', 'end']);
    for (const f of heldOutFamilies) expect(expertCategories).toContain(f.category);
    expect(new Set(families.map((f) => f.name)).size).toBe(families.length);
  });

  it('getFamily finds every family and names the known ones on a miss', () => {
    for (const f of families) expect(getFamily(f.name)).toBe(f);
    expect(() => getFamily('nope')).toThrow(/unknown task family "nope"; known: arith, string/);
  });

  for (const family of families) {
    describe(family.name, () => {
      it('is deterministic for a seed', () => {
        const a = new Rng(5);
        const b = new Rng(5);
        for (let i = 0; i < 200; i++) expect(family.generate(a)).toEqual(family.generate(b));
        expect(sampleTask(family.name, { n: 50, seed: 9 })).toEqual(
          sampleTask(family.name, { n: 50, seed: 9 }),
        );
        expect(sampleTask(family.name, { n: 50, seed: 9 })).not.toEqual(
          sampleTask(family.name, { n: 50, seed: 10 }),
        );
      });

      it('answers correctly, with short prompts and answers', () => {
        const rng = new Rng(123);
        for (let i = 0; i < 3000; i++) {
          const { prompt, answer } = family.generate(rng);
          expect(answer).toBe(solve(prompt));
          expect(prompt.length).toBeLessThanOrEqual(40);
          expect(answer.length).toBeGreaterThan(0);
          expect(answer.length).toBeLessThanOrEqual(8);
          expect(prompt.endsWith('=')).toBe(true);
          expect(/\s/.test(answer)).toBe(false);
        }
      });

      it('rewards +1 for its answer and -1 otherwise', () => {
        for (const { prompt, answer } of sampleTask(family, { n: 100, seed: 1 })) {
          expect(family.reward(prompt, answer, answer)).toBe(1);
          expect(family.reward(prompt, ` ${answer}\n${prompt}`, answer)).toBe(1);
          expect(family.reward(prompt, `${answer}x`, answer)).toBe(-1);
          expect(family.reward(prompt, '', answer)).toBe(-1);
          expect(family.reward(prompt, `\n${answer}`, answer)).toBe(-1);
        }
      });

      it('labels samples with family and category', () => {
        for (const s of sampleTask(family, { n: 20, seed: 2 })) {
          expect(s.family).toBe(family.name);
          expect(s.category).toBe(family.category);
        }
      });
    });
  }

  it('string and arith cover all their operations; logic answers are balanced', () => {
    const prompts = sampleTask('string', { n: 600 }).map((s) => s.prompt.split(' ')[0]);
    expect(new Set(prompts)).toEqual(new Set(['rev', 'up', 'last']));
    const ops = sampleTask('arith', { n: 200 }).map((s) => (s.prompt.includes('+') ? '+' : '-'));
    expect(new Set(ops)).toEqual(new Set(['+', '-']));
    const truth = sampleTask('logic', { n: 4000 }).filter((s) => s.prompt.startsWith('is '));
    const trues = truth.filter((s) => s.answer === 'T').length / truth.length;
    expect(trues).toBeGreaterThan(0.4);
    expect(trues).toBeLessThan(0.6);
  });

  it('count answers vary beyond 0 and 1', () => {
    const answers = new Set(sampleTask('count', { n: 1000 }).map((s) => s.answer));
    for (const a of ['0', '1', '2', '3']) expect(answers).toContain(a);
  });
});

describe('mixture', () => {
  it('draws every family, deterministically, by name or object', () => {
    const a = mixture(['arith', 'string', 'logic'], { n: 300, seed: 4 });
    const b = mixture(expertDomains, { n: 300, seed: 4 });
    expect(a).toEqual(b);
    const counts = new Map<string, number>();
    for (const s of a) counts.set(s.family!, (counts.get(s.family!) ?? 0) + 1);
    for (const name of ['arith', 'string', 'logic']) expect(counts.get(name)).toBeGreaterThan(60);
    expect(mixture(expertDomains, { n: 300, seed: 5 })).not.toEqual(a);
  });

  it('rejects bad arguments', () => {
    expect(() => mixture([], { n: 1 })).toThrow(/no families/);
    expect(() => sampleTask('arith', { n: -1 })).toThrow(/non-negative/);
    expect(() => sampleTask('arith', { n: 1.5 })).toThrow(/non-negative/);
    expect(sampleTask('arith', { n: 0 })).toEqual([]);
  });

  it('formats training text as prompt, answer, newline', () => {
    expect(formatExample({ prompt: '12+35=', answer: '47' })).toBe('12+35=47\n');
  });
});
