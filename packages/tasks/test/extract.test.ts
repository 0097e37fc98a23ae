import { describe, expect, it } from 'vitest';
import { answerLine, extractInteger, extractToken } from '../src';

describe('extractors', () => {
  it('answerLine stops at the first newline and trims', () => {
    expect(answerLine('  47 \n12+35=47\n')).toBe('47');
    expect(answerLine('47')).toBe('47');
    expect(answerLine('\n47')).toBe('');
    expect(answerLine('')).toBe('');
    expect(answerLine('a b\r\nc')).toBe('a b');
  });

  it('extractInteger finds the first integer in canonical form', () => {
    expect(extractInteger('47')).toBe('47');
    expect(extractInteger(' 47\n99')).toBe('47');
    expect(extractInteger('= 47 apples')).toBe('47');
    expect(extractInteger('047')).toBe('47');
    expect(extractInteger('000')).toBe('0');
    expect(extractInteger('-23')).toBe('-23');
    expect(extractInteger('-0')).toBe('0');
    expect(extractInteger('+5')).toBe('5');
    expect(extractInteger('4 7')).toBe('4');
    expect(extractInteger('47.')).toBe('47');
    expect(extractInteger('12-35')).toBe('12');
    expect(extractInteger('47x')).toBe('');
    expect(extractInteger('x47')).toBe('');
    expect(extractInteger('4.5')).toBe('');
    expect(extractInteger('abc')).toBe('');
    expect(extractInteger('')).toBe('');
    expect(extractInteger('\n47')).toBe('');
  });

  it('extractToken takes the first word without trailing punctuation', () => {
    expect(extractToken('cba')).toBe('cba');
    expect(extractToken('  cba  xyz')).toBe('cba');
    expect(extractToken('cba.\nrev')).toBe('cba');
    expect(extractToken('T!')).toBe('T');
    expect(extractToken('ABC\trest')).toBe('ABC');
    expect(extractToken('')).toBe('');
    expect(extractToken('   \n')).toBe('');
  });
});
