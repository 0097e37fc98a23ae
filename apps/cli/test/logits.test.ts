import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/main';

const shared =
  process.env.T2_SHARED ?? fileURLToPath(new URL('../../../../shared/', import.meta.url));
const fixture = join(shared, 'fixtures/stories260K');
const ref = JSON.parse(readFileSync(join(fixture, 'reference.json'), 'utf8')) as {
  greedy_from_bos: number[];
  logits_pos0: number[];
  logits_pos5: number[];
};

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

describe('t2 logits', () => {
  it.each([
    ['llama2.c .bin', join(fixture, 'stories260K.bin')],
    ['Hugging Face folder', join(fixture, 'hf')],
  ])('--json reproduces llama2.c logits at positions 0 and 5 (%s)', async (_name, model) => {
    const tokens = ref.greedy_from_bos.slice(0, 6).join(',');
    const out = await run(['logits', '--model', model, '--tokens', tokens, '--json']);
    expect(out.code).toBe(0);
    const parsed = JSON.parse(out.stdout) as { logits: number[][] };
    expect(Object.keys(parsed)).toEqual(['logits']);
    expect(parsed.logits).toHaveLength(6);
    expect(maxAbsDiff(parsed.logits[0]!, ref.logits_pos0)).toBeLessThan(1e-4);
    expect(maxAbsDiff(parsed.logits[5]!, ref.logits_pos5)).toBeLessThan(1e-4);
  });

  it('prints the top logits per position without --json', async () => {
    const out = await run([
      'logits',
      '--model',
      join(fixture, 'stories260K.bin'),
      '--tokens',
      '1, 461',
    ]);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    // The greedy continuation of BOS is 461, so it leads the first row.
    expect(lines[1]).toMatch(/^\[0\] 1 → 461: /);
  });

  it('reports usage errors and bad paths with exit code 2 (bad input, apps/cli/README.md)', async () => {
    const bin = join(fixture, 'stories260K.bin');
    expect((await run(['logits', '--tokens', '1'])).stderr).toMatch(/--model PATH is required/);
    const outside = await run(['logits', '--model', bin, '--tokens', '1,512']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/token id 512 is outside the vocabulary \[0, 512\)/);
    expect((await run(['logits', '--model', bin, '--tokens', '1,x'])).stderr).toMatch(
      /'x' is not a token id/,
    );
    expect((await run(['logits', '--model', bin, '--tokens', '1', '--bogus'])).code).toBe(2);
    expect((await run(['logits', '--model', bin, '--prompt', 'hi'])).stderr).toMatch(
      /no tokenizer\.json; pass --tokens/,
    );
    const missing = await run(['logits', '--model', '/nonexistent/x.bin', '--tokens', '1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/x\.bin: not found/);
  });
});
