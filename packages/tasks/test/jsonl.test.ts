import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonlError, parseJsonl, readJsonlFile } from '../src';

function caught(fn: () => unknown): JsonlError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(JsonlError);
    return error as JsonlError;
  }
  throw new Error('expected a JsonlError');
}

describe('parseJsonl', () => {
  it('reads prompts, answers and optional categories; skips blank lines', () => {
    const text = [
      '{"prompt": "2+2=", "answer": "4"}',
      '',
      '  ',
      '{"prompt": "capital of France?", "answer": "Paris", "category": "geo", "extra": 1}',
      '{"prompt": "6*7=", "answer": 42}',
    ].join('\n');
    expect(parseJsonl(text, 'a.jsonl')).toEqual([
      { prompt: '2+2=', answer: '4' },
      { prompt: 'capital of France?', answer: 'Paris', category: 'geo' },
      { prompt: '6*7=', answer: '42' },
    ]);
  });

  it('reads "completion" (the training data name) as an alias of "answer"', () => {
    expect(parseJsonl('{"prompt": "2+2=", "completion": "4"}', 'a.jsonl')).toEqual([
      { prompt: '2+2=', answer: '4' },
    ]);
    const error = caught(() => parseJsonl('{"prompt": "a", "answer": "b", "completion": "c"}'));
    expect(error.message).toMatch(/give one of "answer" and "completion"/);
  });

  it('handles CRLF, a byte-order mark, a final newline and an empty file', () => {
    const text = '\uFEFF{"prompt":"a","answer":"b"}\r\n{"prompt":"c","answer":"d"}\r\n';
    expect(parseJsonl(text)).toEqual([
      { prompt: 'a', answer: 'b' },
      { prompt: 'c', answer: 'd' },
    ]);
    expect(parseJsonl('')).toEqual([]);
  });

  it('reports a malformed line as file:line: why', () => {
    const text = '{"prompt":"a","answer":"b"}\n{"prompt": "c", "answer": }\n';
    const error = caught(() => parseJsonl(text, 'data/train.jsonl'));
    expect(error.message).toMatch(/^data\/train\.jsonl:2: invalid JSON/);
    expect(error.issues).toEqual([
      { file: 'data/train.jsonl', line: 2, message: expect.stringMatching(/^invalid JSON/) },
    ]);
    expect(error.samples).toEqual([{ prompt: 'a', answer: 'b' }]);
  });

  it('collects every bad line, keeps every good one, and counts blank lines', () => {
    const text = [
      '{"prompt":"ok1","answer":"1"}',
      '[1, 2]',
      '',
      '{"answer":"x"}',
      '{"prompt":3,"answer":"x"}',
      '{"prompt":"ok2","answer":"2"}',
      '{"prompt":"p"}',
      '{"prompt":"p","answer":null}',
      '{"prompt":"  ","answer":"x"}',
      '{"prompt":"p","answer":"x","category":5}',
      'null',
      '{"prompt":"ok3","answer":"3"}',
    ].join('\n');
    const error = caught(() => parseJsonl(text, 'f.jsonl'));
    expect(error.issues.map((i) => [i.line, i.message])).toEqual([
      [2, 'expected an object {"prompt": ..., "answer": ...}'],
      [4, 'missing "prompt"'],
      [5, '"prompt" must be a string'],
      [7, 'missing "answer"'],
      [8, '"answer" must be a string or a number'],
      [9, '"prompt" is empty'],
      [10, '"category" must be a string when present'],
      [11, 'expected an object {"prompt": ..., "answer": ...}'],
    ]);
    expect(error.message.split('\n')[0]).toBe(
      'f.jsonl:2: expected an object {"prompt": ..., "answer": ...}',
    );
    expect(error.message.split('\n')).toHaveLength(8);
    expect(error.samples.map((s) => s.prompt)).toEqual(['ok1', 'ok2', 'ok3']);
  });

  it('caps the message at 20 lines but keeps all issues', () => {
    const error = caught(() => parseJsonl(Array(25).fill('nope').join('\n'), 'x'));
    expect(error.issues).toHaveLength(25);
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('... and 5 more bad lines');
    expect(error.name).toBe('JsonlError');
  });
});

describe('readJsonlFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 't2-tasks-'));

  it('reads a file', async () => {
    const path = join(dir, 'good.jsonl');
    writeFileSync(path, '{"prompt":"1+1=","answer":"2"}\n');
    expect(await readJsonlFile(path)).toEqual([{ prompt: '1+1=', answer: '2' }]);
  });

  it('reports bad lines with the file path', async () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, '{"prompt":"1+1=","answer":"2"}\n{oops}\n');
    await expect(readJsonlFile(path)).rejects.toThrow(`${path}:2: invalid JSON`);
  });

  it('fails on a missing file', async () => {
    await expect(readJsonlFile(join(dir, 'missing.jsonl'))).rejects.toThrow(/ENOENT/);
  });
});
