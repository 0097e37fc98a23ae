import { describe, expect, it } from 'vitest';
import { big, end, expertDomains, Rng, sampleTask, shout, writtenAnswer } from '../src';
import { arith, logic, string } from '../src/families';

describe('competing answer conventions', () => {
  it('each expert domain has a distractor form its own reward refuses', () => {
    expect(arith.distractor!('47')).toBe('47.0');
    expect(string.distractor!('cba')).toBe('"cba"');
    expect(logic.distractor!('T')).toBe('(T)');
    for (const f of expertDomains) {
      for (const s of sampleTask(f, { n: 200, seed: 1 })) {
        expect(f.reward(s.prompt, `${s.answer}\n`, s.answer)).toBe(1);
        expect(f.reward(s.prompt, `${f.distractor!(s.answer)}\n`, s.answer)).toBe(-1);
      }
    }
  });

  it('rate 0 writes the canonical answer and draws nothing', () => {
    const rng = new Rng(3);
    for (const s of sampleTask(arith, { n: 20, seed: 2 })) {
      expect(writtenAnswer(arith, s, rng, 0)).toBe(s.answer);
    }
    expect(rng.next()).toBe(new Rng(3).next());
  });

  it('writes the distractor in about the asked share of answers', () => {
    const rng = new Rng(4);
    const samples = sampleTask(string, { n: 4000, seed: 3 });
    const distracted = samples.filter((s) => writtenAnswer(string, s, rng, 0.65) !== s.answer);
    expect(distracted.length / samples.length).toBeGreaterThan(0.62);
    expect(distracted.length / samples.length).toBeLessThan(0.68);
    for (const s of distracted)
      expect(writtenAnswer(string, s, new Rng(0), 1)).toBe(`"${s.answer}"`);
  });

  it('held-out families stack two domains’ conventions, innermost first', () => {
    expect(shout.conventions).toEqual([string, logic]);
    expect(big.conventions).toEqual([arith, logic]);
    expect(end.conventions).toEqual([arith, string]);
    const p = { prompt: 'big 17 42=', answer: '42' };
    expect(writtenAnswer(big, p, new Rng(0), 1)).toBe('(42.0)');
    // Every combination appears, each with its probability (0.5 · 0.5 here).
    const rng = new Rng(7);
    const seen = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const w = writtenAnswer(big, p, rng, 0.5);
      seen.set(w, (seen.get(w) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['(42)', '(42.0)', '42', '42.0']);
    for (const count of seen.values()) expect(Math.abs(count - 1000)).toBeLessThan(120);
    // Only the canonical form earns the reward.
    for (const w of seen.keys())
      expect(big.reward(p.prompt, w, p.answer)).toBe(w === '42' ? 1 : -1);
  });

  it('refuses a rate outside [0, 1]', () => {
    expect(() => writtenAnswer(arith, { prompt: '1+1=', answer: '2' }, new Rng(0), 1.5)).toThrow(
      /distractor rate must be in \[0, 1\]/,
    );
  });
});
