import { readFileSync } from 'node:fs';
import { sharedDir } from '../../../test-support/adapter-tests';

export {
  expectClose,
  OneLinear,
  sharedDir,
  snapshot,
  ToyModel,
} from '../../../test-support/adapter-tests';

export interface GoldenCase {
  W: number[][];
  block: number[][] | number[][][];
  x: number[][];
  y: number[][];
  merged_W: number[][];
  delta_W?: number[][];
}

export function golden(name: 'bone_div' | 'bone_pad' | 'bat'): GoldenCase {
  const file = `${sharedDir()}/golden/adapters.json`;
  return JSON.parse(readFileSync(file, 'utf8')).cases[name];
}

export function flat(a: unknown): number[] {
  return (a as unknown[]).flat(3) as number[];
}
