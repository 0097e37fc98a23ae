import { InputError, SafetensorsError, WasmMemoryError } from '@t2/tensor-core';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/lib/command';
import { describeError } from '../src/lib/errors';

// apps/cli/README.md: bad input or usage exits 2 with one line; a failure inside t2 exits 1.
describe('exit codes and messages of errors', () => {
  it('input errors of every package exit 2 with their message as is', () => {
    for (const err of [
      new UsageError('--steps: expected an integer ≥ 1'),
      new InputError('a.json: invalid JSON'),
      new SafetensorsError('hole', { file: 'm.safetensors', tensor: 'w' }),
      Object.assign(new Error('config.json: bad'), { name: 'ConfigError' }),
      // A model too big for the wasm memory: a limit, said plainly, not "a bug in t2".
      new WasmMemoryError('wasm backend: 2,058 MiB of memory needed'),
    ]) {
      const d = describeError(err);
      expect(d.code).toBe(2);
      expect(d.message).toBe(err.message);
    }
  });

  it('file-system errors name the path and say what the code means', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x/y.json'"), {
      code: 'ENOENT',
      path: 'x/y.json',
    });
    expect(describeError(enoent)).toMatchObject({
      code: 2,
      message: 'x/y.json: no such file or folder',
    });
    const eisdir = Object.assign(new Error('EISDIR: illegal operation on a directory, read'), {
      code: 'EISDIR',
    });
    expect(describeError(eisdir)).toMatchObject({
      code: 2,
      message: 'is a folder, expected a file',
    });
    const wrapped = Object.assign(
      new Error("cannot write out/a.bin: EACCES: permission denied, open 'out/.a.bin.1.x.tmp'"),
      { code: 'EACCES' },
    );
    expect(describeError(wrapped)).toMatchObject({
      code: 2,
      message: 'cannot write out/a.bin: permission denied',
    });
  });

  it('anything else is an internal error: exit 1, said so, no raw class names', () => {
    const d = describeError(new TypeError('targets.some is not a function'));
    expect(d.code).toBe(1);
    expect(d.message).toMatch(/^internal error: targets\.some is not a function \(a bug in t2/);
    expect(describeError('thrown string').code).toBe(1);
  });
});
