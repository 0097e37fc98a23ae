import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTokenizerFolder, tokenizerCoverageProblem } from '../src/index';

const bundled = fileURLToPath(new URL('../../../models/t2-tiny', import.meta.url));

describe('tokenizerCoverageProblem', () => {
  it('is null when every prompt and answer round-trips, and names the missing characters', async () => {
    const tokenizer = (await loadTokenizerFolder(bundled))!;
    expect(tokenizerCoverageProblem(tokenizer, [{ prompt: '12+35=', answer: '47' }])).toBeNull();
    expect(tokenizerCoverageProblem(tokenizer, [{ prompt: 'rev ñé=', answer: 'éñ' }])).toMatch(
      /2 characters the samples use: "ñ" "é" \(e\.g\. in "rev ñé=éñ"\)/,
    );
  });
});
