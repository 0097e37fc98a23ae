import { describe, expect, it } from 'vitest';
import { exactMatchReward, numericReward, regexReward, userReward } from '../src';

describe('exactMatchReward', () => {
  it('compares the answer line, trimmed', () => {
    expect(exactMatchReward('p', 'Paris', 'Paris')).toBe(1);
    expect(exactMatchReward('p', ' Paris \nmore text', ' Paris')).toBe(1);
    expect(exactMatchReward('p', 'paris', 'Paris')).toBe(-1);
    expect(exactMatchReward('p', 'Paris!', 'Paris')).toBe(-1);
    expect(exactMatchReward('p', '', 'Paris')).toBe(-1);
  });
});

describe('numericReward', () => {
  it('is exact by default', () => {
    const reward = numericReward();
    expect(reward('p', '42', '42')).toBe(1);
    expect(reward('p', 'it is 42.0 m', '42')).toBe(1);
    expect(reward('p', '42.001', '42')).toBe(-1);
    expect(reward('p', 'none', '42')).toBe(-1);
    expect(reward('p', '\n42', '42')).toBe(-1);
  });

  it('accepts values within the tolerance, both sides, and parses decimals and exponents', () => {
    const reward = numericReward(0.01);
    expect(reward('p', '3.14', '3.14159')).toBe(1);
    expect(reward('p', '3.15', '3.14159')).toBe(1);
    expect(reward('p', '3.13', '3.14159')).toBe(-1);
    expect(reward('p', '-2.5', '-2.505')).toBe(1);
    expect(reward('p', '1e3', '1000')).toBe(1);
    expect(reward('p', '.5', '0.5')).toBe(1);
  });

  it('rejects a bad tolerance and a non-numeric answer', () => {
    expect(() => numericReward(-1)).toThrow(/tolerance/);
    expect(() => numericReward(Number.NaN)).toThrow(/tolerance/);
    expect(() => numericReward()('p', '1', 'one')).toThrow(/not a number/);
    expect(() => numericReward()('p', '1', ' ')).toThrow(/not a number/);
  });
});

describe('regexReward', () => {
  it('holds every sample to a fixed pattern; a string must match the whole line', () => {
    const digits = regexReward('\\d+');
    expect(digits('p', '123', 'ignored')).toBe(1);
    expect(digits('p', '123 apples', 'ignored')).toBe(-1);
    const contains = regexReward(/\d+/);
    expect(contains('p', '123 apples', 'ignored')).toBe(1);
    expect(contains('p', 'apples', 'ignored')).toBe(-1);
  });

  it('ignores the global flag (no state between calls)', () => {
    const reward = regexReward(/ab/g);
    for (let i = 0; i < 4; i++) expect(reward('p', 'xab', '')).toBe(1);
  });

  it('uses each sample answer as the pattern when none is given', () => {
    const reward = regexReward();
    expect(reward('p', 'red', 'red|blue')).toBe(1);
    expect(reward('p', 'blue\nred', 'red|blue')).toBe(1);
    expect(reward('p', 'green', 'red|blue')).toBe(-1);
    expect(reward('p', 'reddish', 'red|blue')).toBe(-1);
    expect(reward('p', '7', '\\d')).toBe(1);
  });
});

describe('userReward', () => {
  it('passes numbers through and maps booleans to ±1', () => {
    expect(userReward(() => 0.25)('p', 'o', 'a')).toBe(0.25);
    expect(userReward(() => true)('p', 'o', 'a')).toBe(1);
    expect(userReward(() => false)('p', 'o', 'a')).toBe(-1);
    const seen: string[][] = [];
    userReward((...args) => {
      seen.push(args);
      return 1;
    })('p', 'o', 'a');
    expect(seen).toEqual([['p', 'o', 'a']]);
  });

  it('rejects non-numbers and promises with the reward name', () => {
    expect(() => userReward(() => 'yes', 'mine')('p', 'o', 'a')).toThrow(/^mine: .*got yes/);
    expect(() => userReward(() => Number.NaN)('p', 'o', 'a')).toThrow(/finite/);
    expect(() => userReward(async () => 1)('p', 'o', 'a')).toThrow(/Promise/);
  });
});
