// A newcomer's first hour (issue #17): the command line, adapters and generate.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adapterNameFor } from '../src/lib/adapters';
import { newcomerFixture, t2, train as trainWith } from './newcomer-harness';

const cliDir = fileURLToPath(new URL('..', import.meta.url));
const repo = join(cliDir, '../..');
const bundled = join(repo, 'models/t2-tiny');

const fx = newcomerFixture();
const train = (method: string, out: string, extra: string[] = []) =>
  trainWith(fx, method, out, extra);

describe('the t2 bin (item 1)', () => {
  it('is a committed launcher, so npm links it at install time, before prepare builds dist/', () => {
    const pkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
    expect(pkg.bin.t2).toBe('./bin/t2.js');
    expect(pkg.files).toContain('bin');
    const tracked = spawnSync('git', ['ls-files', '--error-unmatch', 'bin/t2.js'], { cwd: cliDir });
    expect(tracked.status).toBe(0);
    const r = spawnSync(process.execPath, [join(cliDir, 'bin/t2.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(r.stdout).toBe(`t2 ${pkg.version}\n`);
  });
});

describe('the command line itself (item 15)', () => {
  it('t2 --version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const r = await t2([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`t2 ${pkg.version}\n`);
    }
  });

  it('a mistyped command gets "did you mean", not the whole help', async () => {
    const r = await t2(['trian']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'trian' — did you mean 'train'\?/);
    expect(r.stderr).not.toMatch(/Commands:/);
    expect((await t2(['xyzzy'])).stderr).toMatch(/commands: quickstart, logits/);
    const flag = await t2(['train', '--stpes', '3']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe("t2 train: unknown option '--stpes' — did you mean '--steps'?\n");
    expect((await t2(['train', '--xyzzy'])).stderr).toBe(
      "t2 train: unknown option '--xyzzy' (--help lists the options)\n",
    );
  });

  it('a negative number is checked by the flag, not reported by the argument parser', async () => {
    const r = await t2([
      'train',
      '--model',
      fx.modelDir,
      '--method',
      'bone',
      '--data',
      fx.data,
      '--steps',
      '-3',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("t2 train: --steps: expected an integer ≥ 1, got '-3'\n");
    const g = await t2([
      'generate',
      '--model',
      fx.modelDir,
      '--tokens',
      '1',
      '--temperature',
      '-1',
    ]);
    expect(g.stderr).toMatch(/--temperature: expected a number ≥ 0, got '-1'/);
  });
});

describe('adapters (items 2, 11)', () => {
  it('loads an adapter from a folder whose name has dots', async () => {
    const out = join(fx.dir, 'bone-v1.2');
    await train('bone', out);
    const r = await t2([
      'logits',
      '--model',
      fx.modelDir,
      '--adapter',
      out,
      '--tokens',
      '1,5',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).logits).toHaveLength(2);
    expect(adapterNameFor('out/bone-v1.2')).toBe('bone-v1_2');
    expect(adapterNameFor('my.adapter/')).toBe('my_adapter');
    expect(adapterNameFor('.')).toBe(basename(process.cwd()).replace(/[^A-Za-z0-9_-]/g, '_'));
    expect(adapterNameFor('a/x', ['x', 'x_2'])).toBe('x_3');
  });

  it('refuses LoRA and Bone on one module before reading the model', async () => {
    const l = join(fx.dir, 'stack-lora');
    const b = join(fx.dir, 'stack-bone');
    await train('lora', l, ['--target', 'q_proj,v_proj']);
    await train('bone', b, ['--target', 'v_proj']);
    const r = await t2([
      'logits',
      '--model',
      join(fx.dir, 'no-such-model'),
      '--adapter',
      l,
      '--adapter',
      b,
      '--tokens',
      '1',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--adapter .*stack-bone \(Bone\) and --adapter .*stack-lora \(LoRA\) both adapt v_proj: adapters of different kinds cannot be stacked on one module/,
    );
  });
});

describe('generate (items 10, 16)', () => {
  it('a one-line task prompt stops at the end of its answer line; --multiline goes on', async () => {
    const answer = await t2(['generate', '--model', bundled, '--prompt', '12+35=', '--json']);
    expect(answer.code, answer.stderr).toBe(0);
    const a = JSON.parse(answer.stdout);
    expect(a.finishReason).toBe('stop');
    expect(a.text).not.toContain('\n');
    expect(a.text.length).toBeGreaterThan(0);
    const on = JSON.parse(
      (
        await t2([
          'generate',
          '--model',
          bundled,
          '--prompt',
          '12+35=',
          '--multiline',
          '--max-new-tokens',
          '24',
          '--json',
        ])
      ).stdout,
    );
    expect(on.tokens.length).toBeGreaterThan(a.tokens.length);
    expect(on.text).toContain('\n');
  });

  it('piped into a reader that stops early (head), the built t2 exits quietly: no EPIPE trace', () => {
    const bin = join(cliDir, 'bin/t2.js');
    // `true` closes the pipe at once, as `head -1` does after its line: every write then fails.
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${bin}" generate --model "${fx.modelDir}" --tokens 1 --max-new-tokens 50 | true; echo "exit \${PIPESTATUS[0]}" >&2`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(r.stderr).toMatch(/exit 0/);
  });
});
