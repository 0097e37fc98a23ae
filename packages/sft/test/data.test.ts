import { describe, expect, it } from 'vitest';
import { collate, encodeExample, parseSftJsonl, SftDataError } from '../src/index';
import { charTokenizer } from './helpers';

describe('JSONL data', () => {
  it('reads {"prompt", "answer"} (the schema of every t2 command) like its alias "completion"', () => {
    const text = [
      '{"prompt": "1+1=", "answer": "2"}',
      '{"prompt": "1+1=", "completion": "2"}',
      '{"prompt": "2+2=", "answer": 4}',
    ].join('\n');
    expect(parseSftJsonl(text, 'train.jsonl')).toEqual([
      { kind: 'completion', prompt: '1+1=', completion: '2' },
      { kind: 'completion', prompt: '1+1=', completion: '2' },
      { kind: 'completion', prompt: '2+2=', completion: '4' },
    ]);
    expect(() => parseSftJsonl('{"prompt": "a", "answer": "b", "completion": "c"}')).toThrow(
      /<input>:1: give one of "answer" and "completion"/,
    );
    expect(() => parseSftJsonl('{"prompt": "a"}')).toThrow(/missing "answer"/);
  });

  it('reads completion, chat and text lines', () => {
    const text = [
      '{"prompt": "1+1=", "completion": "2"}',
      '',
      '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}',
      '{"text": "abc"}',
    ].join('\n');
    const ex = parseSftJsonl(text, 'train.jsonl');
    expect(ex.map((e) => e.kind)).toEqual(['completion', 'chat', 'text']);
  });

  it('reports every bad line as file:line: why and keeps the good ones', () => {
    const text = [
      '{"prompt": "a", "completion": "b"}',
      '{"prompt": "a"',
      '[1, 2]',
      '{"prompt": 3, "completion": "x"}',
      '{"messages": [{"role": "user", "content": "hi"}]}',
      '{"other": 1}',
    ].join('\n');
    try {
      parseSftJsonl(text, 'data/train.jsonl');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SftDataError);
      const e = err as SftDataError;
      expect(e.problems.map((p) => p.split(': ')[0])).toEqual([
        'data/train.jsonl:2',
        'data/train.jsonl:3',
        'data/train.jsonl:4',
        'data/train.jsonl:5',
        'data/train.jsonl:6',
      ]);
      expect(e.problems[0]).toMatch(/invalid JSON/);
      expect(e.problems[3]).toMatch(/last message must be from the assistant/);
      expect(e.examples).toHaveLength(1);
      expect(e.message).toMatch(/^5 bad lines/);
    }
  });
});

describe('encoding and batching', () => {
  const tok = charTokenizer('abc123+=:;ua');

  it('puts loss on the completion and EOS only', () => {
    const e = encodeExample({ kind: 'completion', prompt: '1+1=', completion: '2' }, tok);
    expect(e.inputIds).toEqual([
      1,
      ...tok.encode('1+1=', { addSpecialTokens: false }),
      ...tok.encode('2', { addSpecialTokens: false }),
      2,
    ]);
    expect(e.labels.filter((l) => l !== -100)).toEqual([
      ...tok.encode('2', { addSpecialTokens: false }),
      2,
    ]);
    expect(e.labels.slice(0, 5)).toEqual([-100, -100, -100, -100, -100]);
  });

  it('splits a chat at the last assistant turn with the template', () => {
    const e = encodeExample(
      {
        kind: 'chat',
        messages: [
          { role: 'user', content: 'ab' },
          { role: 'assistant', content: 'c' },
        ],
      },
      tok,
    );
    const trained = e.inputIds.filter((_, i) => e.labels[i] !== -100);
    expect(tok.decode(trained)).toBe('c;');
    expect(tok.decode(e.inputIds)).toBe('u:ab;a:c;');
  });

  it('text examples train on every token; long ones are truncated', () => {
    const e = encodeExample({ kind: 'text', text: 'abcabc' }, tok, { maxLength: 4 });
    expect(e.inputIds).toHaveLength(4);
    expect(e.labels).toEqual(e.inputIds);
  });

  it('collate shifts targets and pads without loss', () => {
    const b = collate([
      { inputIds: [5, 6, 7], labels: [-100, 6, 7] },
      { inputIds: [5, 8], labels: [-100, 8] },
    ]);
    expect(b.inputIds).toEqual([
      [5, 6, 7],
      [5, 8, 0],
    ]);
    expect(b.attentionMask).toEqual([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    expect(b.targets).toEqual([
      [6, 7, -100],
      [8, -100, -100],
    ]);
    expect(b.numTargets).toBe(3);
  });
});
