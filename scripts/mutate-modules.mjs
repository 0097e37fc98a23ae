// The modules `npm run mutate` mutation-tests (issue #19): where a wrong sign is a wrong paper.
// `mutate` entries are Stryker globs relative to the repository root (`file:from-to` limits a
// file to a line range); `tests` are the vitest files run against that module's mutants.
// Each module stays inside one package.
//
// `equivalent` lists the surviving mutants that no test can kill because they do not change
// what the code computes, each with its reason. A mutant matches an entry by file, the code it
// replaces (`original`), its `replacement`, and a piece of its line (`line`), so the list
// survives edits that move lines (`next`, if given, is a piece of the three lines after it). They are counted apart from the score; everything else that survives
// is a missing test. (Kept here rather than as `// Stryker disable` comments so that source
// files other people are editing stay untouched, and so that one equivalent mutant on a line
// does not hide its killable neighbours of the same mutator.)

/**
 * @typedef {{ file: string, line: string, next?: string, original: string, replacement: string, reason: string }} Equivalent
 * @typedef {{ name: string, pkg: string, mutate: string[], tests: string[], equivalent?: Equivalent[] }} MutationModule
 */

// An extra iteration past the end of a typed array: reads give undefined (NaN), writes are dropped.
const pastTheEnd =
  'one more iteration past the end of a typed array: the read is NaN, the write is dropped';

/** @type {MutationModule[]} */
export const modules = [
  {
    name: 'optim',
    pkg: 'packages/tensor-core',
    mutate: ['src/optim/optimizer.ts', 'src/optim/schedule.ts'],
    tests: ['test/optim.test.ts'],
    equivalent: [
      {
        file: 'src/optim/optimizer.ts',
        line: 'for (let j = 0; j < w.length; j++) {',
        original: 'j < w.length',
        replacement: 'j <= w.length',
        reason: pastTheEnd,
      },
      {
        file: 'src/optim/optimizer.ts',
        line: 'for (let j = 0; j < g.length; j++) g[j]! *= scale;',
        original: 'j < g.length',
        replacement: 'j <= g.length',
        reason: pastTheEnd,
      },
      {
        file: 'src/optim/optimizer.ts',
        line: 'buf[j] = this.stepCount === 1 ? d : momentum * buf[j]! + d;',
        original: 'this.stepCount === 1',
        replacement: 'false',
        reason: 'the momentum buffer starts at zero, so momentum·0 + d is d on the first step too',
      },
      {
        file: 'src/optim/optimizer.ts',
        line: 'else if (weightDecay) gj += weightDecay * w[j]!;',
        original: 'weightDecay',
        replacement: 'true',
        reason: 'with no decay the branch adds 0·w = 0',
      },
      {
        file: 'src/optim/optimizer.ts',
        line: 'if (norm > maxNorm && norm > 0) {',
        original: 'norm > 0',
        replacement: 'true',
        reason: 'norm > maxNorm ≥ 0 already implies norm > 0',
      },
      {
        file: 'src/optim/optimizer.ts',
        line: 'if (norm > maxNorm && norm > 0) {',
        original: 'norm > 0',
        replacement: 'norm >= 0',
        reason: 'norm > maxNorm ≥ 0 already implies norm > 0',
      },
      {
        file: 'src/optim/schedule.ts',
        line: 'warmupSteps > 0 && step < warmupSteps',
        original: 'warmupSteps > 0',
        replacement: 'true',
        reason: 'with warmupSteps ≤ 0, step < warmupSteps is false for every step ≥ 0 anyway',
      },
      {
        file: 'src/optim/schedule.ts',
        line: 'warmupSteps > 0 && step < warmupSteps',
        original: 'warmupSteps > 0',
        replacement: 'warmupSteps >= 0',
        reason: 'with warmupSteps ≤ 0, step < warmupSteps is false for every step ≥ 0 anyway',
      },
    ],
  },
  {
    name: 'safetensors',
    pkg: 'packages/tensor-core',
    // the reading side: header length, header parse and layout checks, decoding
    mutate: ['src/io/header.ts:20-221', 'src/io/safetensors.ts:40-85'],
    tests: ['test/io-*.test.ts', 'test/safetensors-rules.test.ts'],
    equivalent: [
      {
        file: 'src/io/header.ts',
        line: 'if (hi !== 0 || n > MAX_HEADER_BYTES) {',
        original: 'hi !== 0',
        replacement: 'false',
        reason: 'hi ≠ 0 means n ≥ 2^32, which n > MAX_HEADER_BYTES (10^8) refuses as well',
      },
      {
        file: 'src/io/header.ts',
        line: 'while (i < n) {',
        original: 'i < n',
        replacement: 'i <= n',
        reason: 'one more step at i = n reads charCodeAt(n), NaN, which matches no character',
      },
      ...['true', 'j <= n'].map((replacement) => ({
        file: 'src/io/header.ts',
        line: 'while (j < n && text.charCodeAt(j) !== 0x22)',
        original: 'j < n',
        replacement,
        reason:
          'the text is valid JSON (JSON.parse ran first), so every string closes before its end',
      })),
      ...['true', 'k <= n'].map((replacement) => ({
        file: 'src/io/header.ts',
        line: 'while (k < n && /\\s/.test(text[k]!)) k++;',
        original: 'k < n',
        replacement,
        reason:
          'past the end text[k] is undefined, which /\\s/ does not match, so the loop stops there anyway',
      })),
    ],
  },
  {
    name: 'rope',
    pkg: 'packages/tensor-core',
    mutate: ['src/kernels/js/rope.ts', 'src/ops/rope.ts'],
    tests: ['test/ops.test.ts', 'test/gradients.test.ts', 'test/layer-ops.test.ts'],
    equivalent: [
      ...[
        ['for (let t = 0; t < seq; t++) {', 't < seq', 't <= seq'],
        ['for (let i = 0; i < half; i++) {', 'i < half', 'i <= half'],
        ['for (let r = 0; r < rows; r++) {', 'r < rows', 'r <= rows'],
      ].map(([line, original, replacement]) => ({
        file: 'src/kernels/js/rope.ts',
        line,
        original,
        replacement,
        reason:
          'the extra step writes the first entry of the next position, row or table slot, which that one overwrites next, or past the end (dropped)',
      })),
      ...[
        ['i < dim / 2', 'i <= dim / 2'],
        ['dim / 2', 'dim * 2'],
      ].map(([original, replacement]) => ({
        file: 'src/ops/rope.ts',
        line: 'for (let i = 0; i < dim / 2; i++) out[i] = 1 / theta ** ((2 * i) / dim);',
        original,
        replacement,
        reason: 'the extra steps write past the end of the dim/2 frequencies (dropped)',
      })),
      ...[
        ['seq * dim', 'seq / dim'],
        ['x.size / (seq * dim)', 'x.size * (seq * dim)'],
      ].map(([original, replacement]) => ({
        file: 'src/ops/rope.ts',
        line: 'rows: x.size / (seq * dim),',
        original,
        replacement,
        reason:
          'more rows than x has: the js kernel writes the extra ones past the end of its output (dropped); only slower',
      })),
    ],
  },
  {
    name: 'attention',
    pkg: 'packages/tensor-core',
    mutate: ['src/kernels/js/attention.ts', 'src/ops/attention.ts'],
    tests: [
      'test/ops.test.ts',
      'test/gradients.test.ts',
      'test/layer-ops.test.ts',
      'test/nan-propagation.test.ts',
    ],
    equivalent: [
      {
        file: 'src/kernels/js/attention.ts',
        line: 'for (let b = 0; b < batch; b++) {',
        original: 'b < batch',
        replacement: 'b <= batch',
        reason: pastTheEnd,
      },
      {
        file: 'src/kernels/js/attention.ts',
        line: 'if (s > max || Number.isNaN(s)) max = s;',
        original: 's > max',
        replacement: 's >= max',
        reason: 'replacing the maximum by an equal score leaves it the same',
      },
    ],
  },
  {
    name: 'cross-entropy',
    pkg: 'packages/tensor-core',
    mutate: ['src/kernels/js/loss.ts', 'src/ops/cross-entropy.ts'],
    tests: ['test/ops.test.ts', 'test/gradients.test.ts', 'test/layer-ops.test.ts'],
    equivalent: [
      {
        file: 'src/kernels/js/loss.ts',
        line: 'for (let r = 0; r < rows; r++) {',
        original: 'r < rows',
        replacement: 'r <= rows',
        reason: pastTheEnd,
      },
      {
        file: 'src/kernels/js/loss.ts',
        line: 'for (let c = 0; c < cols; c++) if (logits[base + c]! > max) max = logits[base + c]!;',
        original: 'logits[base + c]! > max',
        replacement: 'logits[base + c]! >= max',
        reason: 'replacing the maximum by an equal logit leaves it the same',
      },
      {
        file: 'src/kernels/js/loss.ts',
        line: 'if (t === ignoreIndex || g === 0) {',
        original: 'g === 0',
        replacement: 'false',
        reason:
          'with no upstream gradient the full path computes softmax · 0 = 0 for finite logits: the early exit only saves the work',
      },
      {
        file: 'src/kernels/js/loss.ts',
        line: 'for (let c = 0; c < cols; c++) out[base + c]! *= inv;',
        original: 'c < cols',
        replacement: 'c <= cols',
        reason:
          "the extra step scales the next row's first entry, which that row then writes afresh, or a slot past the end (dropped)",
      },
      ...[
        ["reduction === 'none'", 'false'],
        ['[1]', '[]'],
        ['[rows]', '[]'],
      ].map(([original, replacement]) => ({
        file: 'src/ops/cross-entropy.ts',
        line: original === "reduction === 'none'" ? "reduction === 'none'" : ': gb.binary(',
        original,
        replacement,
        reason:
          "g · scale per row: the js backend multiplies element-wise when both operands have the output's length, whatever shapes are declared, and with 'none' the scale is 1",
      })),
      {
        file: 'src/ops/cross-entropy.ts',
        line: "if (reduction !== 'none') releaseKernelData(rowGrad);",
        original: "reduction !== 'none'",
        replacement: 'false',
        reason:
          'the scaled row gradient is then left to the garbage collector instead of the pool: same results',
      },
    ],
  },
  {
    name: 'svd-reconstruct',
    pkg: 'packages/svd',
    mutate: ['src/factors.ts'],
    tests: ['test/factors.test.ts', 'test/factors-rules.test.ts'],
    equivalent: [
      {
        file: 'src/factors.ts',
        line: 'for (let i = 0; i < m; i++) {',
        original: 'i < m',
        replacement: 'i <= m',
        reason: pastTheEnd,
      },
      {
        file: 'src/factors.ts',
        line: 'for (let c = 0; c < rank; c++) us[i * rank + c] = U[i * k + c]! * S[c]!;',
        original: 'c < rank',
        replacement: 'c <= rank',
        reason:
          'the extra write lands on the next row’s first entry, which the next pass writes again (or past the end)',
      },
      {
        file: 'src/factors.ts',
        line: 'for (let i = 0; i < rows; i++) out.set(a.subarray(i * k + c0, i * k + c1), i * w);',
        original: 'i < rows',
        replacement: 'i <= rows',
        reason:
          'the extra row is an empty subarray set at the end of the output: nothing is written',
      },
    ],
  },
  {
    name: 'bone',
    pkg: 'packages/adapters-bone',
    mutate: ['src/bone/block-math.ts', 'src/bone/layer.ts'],
    tests: [
      'test/gradients.test.ts',
      'test/golden.test.ts',
      'test/inject.test.ts',
      'test/block-math.test.ts',
      'test/bone-layer.test.ts',
    ],
    equivalent: [
      ...[
        ['for (let i = 0; i < r; i++) {', 'i < r', 'i <= r', 'let s = weight[rowOf(i) + j]!'],
        [
          'for (let i = 0; i < r * r; i++)',
          'i < r * r',
          'i <= r * r',
          'for (let i = 0; i < r; i++)',
        ],
        ['for (let i = 0; i < r; i++) m[i * r + i]! += 1;', 'i < r', 'i <= r', 'inverses.push'],
        ['for (let i = 0; i < r; i++)', 'i < r', 'i <= r', 'for (let k = 0; k < r; k++) diff'],
        ['for (let k = 0; k < r; k++) diff', 'k < r', 'k <= r', 'for (let i = 0; i < r; i++) {'],
        ['for (let i = 0; i < n; i++) inv[i * n + i] = 1;', 'i < n', 'i <= n', 'let scale = 0;'],
        ['for (let i = 0; i < n; i++) {', 'i < n', 'i <= n', 'if (i === col) continue;'],
      ].map(([line, original, replacement, next]) => ({
        file: 'src/bone/block-math.ts',
        line,
        next,
        original,
        replacement,
        reason:
          'an extra pass past the end: its writes fall outside the typed array (dropped), or onto an entry the next pass writes again',
      })),
      {
        file: 'src/bone/block-math.ts',
        line: 'for (let a = 0; a < out / r; a++) {',
        next: 'const m = new Float64Array(r * r);',
        original: 'a < out / r',
        replacement: 'a <= out / r',
        reason: 'the extra inverse is of undefined entries (NaN, never singular) and is never used',
      },
      {
        file: 'src/bone/block-math.ts',
        line: 'for (let a = 0; a < out / r; a++) {',
        next: 'const m = new Float64Array(r * r);',
        original: 'out / r',
        replacement: 'out * r',
        reason:
          'the extra inverses are of undefined entries (NaN, never singular) and are never used',
      },
      {
        file: 'src/bone/block-math.ts',
        line: 'extra === 0 ? x : pad(x,',
        original: 'extra === 0',
        replacement: 'false',
        reason: 'padding by zero columns returns the same values',
      },
      {
        file: 'src/bone/block-math.ts',
        line: 'if (out % r !== 0 || inFeatures % r !== 0 || block.shape[0] !== out / r',
        original: 'out % r !== 0',
        replacement: 'false',
        reason:
          'when out % r ≠ 0, out / r is not an integer, so block.shape[0] !== out / r refuses it anyway',
      },
      {
        file: 'src/bone/block-math.ts',
        line: 'if (Math.abs(a[i * n + col]!) > Math.abs(a[p * n + col]!)) p = i;',
        original: 'Math.abs(a[i * n + col]!) > Math.abs(a[p * n + col]!)',
        replacement: 'Math.abs(a[i * n + col]!) >= Math.abs(a[p * n + col]!)',
        reason: 'on equal magnitudes either row is as good a pivot',
      },
      {
        file: 'src/bone/block-math.ts',
        line: 'if (p !== col) {',
        original: 'p !== col',
        replacement: 'true',
        reason: 'swapping a row with itself changes nothing',
      },
      {
        file: 'src/bone/block-math.ts',
        line: 'if (f === 0) continue;',
        original: 'f === 0',
        replacement: 'false',
        reason: 'subtracting 0 times the pivot row changes nothing',
      },
    ],
  },
  {
    name: 'lora',
    pkg: 'packages/adapters-lora',
    mutate: ['src/lora/layer.ts'],
    tests: ['test/layer.test.ts', 'test/pissa.test.ts', 'test/lora-rules.test.ts'],
    equivalent: [
      {
        file: 'src/lora/layer.ts',
        line: 'if (opts.dropout > 0) this.dropouts.set(name, new Dropout(opts.dropout, rng));',
        original: 'opts.dropout > 0',
        replacement: 'true',
        reason: 'a Dropout(0) is the identity and never makes the update random',
      },
      {
        file: 'src/lora/layer.ts',
        line: 'if (opts.dropout > 0) this.dropouts.set(name, new Dropout(opts.dropout, rng));',
        original: 'opts.dropout > 0',
        replacement: 'opts.dropout >= 0',
        reason: 'a Dropout(0) is the identity and never makes the update random',
      },
      {
        file: 'src/lora/layer.ts',
        line: 'for (let c = 0; c < inF; c++) aw.data[i * inF + c] = root * V[c * k + i]!;',
        original: 'c < inF',
        replacement: 'c <= inF',
        reason:
          'the extra write lands on the next row’s first entry, which the next pass writes again (or past the end)',
      },
      {
        file: 'src/lora/layer.ts',
        line: 'for (let o = 0; o < out; o++) bw.data[o * r + i] = U[o * k + i]! * root;',
        original: 'o < out',
        replacement: 'o <= out',
        reason: pastTheEnd,
      },
      {
        file: 'src/lora/layer.ts',
        line: 'return add(y, scaling === 1 ? update : mul(update, scaling));',
        original: 'scaling === 1',
        replacement: 'false',
        reason: 'multiplying by 1 is exact; the branch only saves an op',
      },
      {
        file: 'src/lora/layer.ts',
        line: 'for (let o = 0; o < out; o++) {',
        next: 'row.fill(0);',
        original: 'o < out',
        replacement: 'o <= out',
        reason: `addProduct: ${pastTheEnd}`,
      },
      {
        file: 'src/lora/layer.ts',
        line: 'if (bo === 0) continue;',
        original: 'bo === 0',
        replacement: 'false',
        reason: 'adding 0 times a row of A changes nothing',
      },
      {
        file: 'src/lora/layer.ts',
        line: 'for (let c = 0; c < inF; c++) row[c]! += bo * a[i * inF + c]!;',
        original: 'c < inF',
        replacement: 'c <= inF',
        reason: pastTheEnd,
      },
    ],
  },
  {
    name: 'svf',
    pkg: 'packages/adapters-svf',
    mutate: ['src/compose.ts'],
    tests: ['test/layer.test.ts', 'test/golden.test.ts', 'test/compose.test.ts'],
    equivalent: [
      {
        file: 'src/compose.ts',
        line: 'return maxMult === 1 ? m : mul(m, maxMult);',
        original: 'maxMult === 1',
        replacement: 'false',
        reason: 'multiplying by maxMult = 1 is exact; the branch only saves an op',
      },
      {
        file: 'src/compose.ts',
        line: 'for (let i = 0; i < z.length; i++)',
        original: 'i < z.length',
        replacement: 'i <= z.length',
        reason: pastTheEnd,
      },
    ],
  },
  {
    name: 'cem',
    pkg: 'packages/transformer2-runtime',
    mutate: ['src/cem/cem.ts'],
    tests: ['test/cem.test.ts', 'test/cem-rules.test.ts'],
    equivalent: [
      {
        file: 'src/cem/cem.ts',
        line: 'if (a.accuracy !== b.accuracy) return a.accuracy > b.accuracy ? 1 : -1;',
        original: 'a.accuracy > b.accuracy',
        replacement: 'a.accuracy >= b.accuracy',
        reason: 'only reached when the accuracies differ',
      },
      {
        file: 'src/cem/cem.ts',
        line: 'if (!best || compareScores(ranked[0]!.score, best.score) > 0)',
        original: '!best || compareScores(ranked[0]!.score, best.score) > 0',
        replacement: 'true',
        reason:
          'the incumbent is member 0 and wins ties, so ranked[0] is either strictly better or the incumbent itself',
      },
      {
        file: 'src/cem/cem.ts',
        line: 'if (!best || compareScores(ranked[0]!.score, best.score) > 0)',
        original: 'compareScores(ranked[0]!.score, best.score) > 0',
        replacement: 'compareScores(ranked[0]!.score, best.score) >= 0',
        reason:
          'on a tie ranked[0] is the incumbent itself (member 0 wins ties), so nothing changes',
      },
      {
        file: 'src/cem/cem.ts',
        line: 'for (let i = 0; i < cfg.dim; i++) {',
        original: 'i < cfg.dim',
        replacement: 'i <= cfg.dim',
        next: 'let m = 0;',
        reason: `refit loop: ${pastTheEnd}`,
      },
      {
        file: 'src/cem/cem.ts',
        line: '.sort((a, b) => compareScores(b.score, a.score) || a.index - b.index);',
        original: 'a.index - b.index',
        replacement: 'a.index + b.index',
        reason:
          'Array.prototype.sort is stable (ES2019) and the members arrive in index order, so the index never decides; V8 only compares (later, earlier) pairs, where both give > 0',
      },
      {
        file: 'src/cem/cem.ts',
        line: 'return { alpha: best!.alpha.slice(), score: best!.score, history, evaluations };',
        original: 'best!.alpha.slice()',
        replacement: 'best!.alpha',
        reason: 'best.alpha is not used after the return, and the history holds copies of it',
      },
    ],
  },
  {
    name: 'reinforce-loss',
    pkg: 'packages/rl-reinforce',
    mutate: ['src/loss.ts'],
    tests: ['test/unit.test.ts', 'test/loss-rules.test.ts'],
    equivalent: [
      {
        file: 'src/loss.ts',
        line: 'const tokenKl = sum(mul(exp(baseLogp), sub(baseLogp, logp)), -1);',
        original: '-1',
        replacement: '+1',
        reason: 'the answer logits are [tokens, vocab], so axis 1 is the last axis',
      },
    ],
  },
];

export function moduleNamed(name) {
  const m = modules.find((x) => x.name === name);
  if (!m) {
    throw new Error(`mutate: no module '${name}' (have ${modules.map((x) => x.name).join(', ')})`);
  }
  return m;
}
