import type { Command } from '../lib/command';
import { evalCommand } from './eval';
import { generate } from './generate';
import { logits } from './logits';
import { merge } from './merge';
import { pretrain } from './pretrain';
import { probe } from './probe';
import { quickstart } from './quickstart';
import { rl } from './rl';
import { run } from './run';
import { train } from './train';

// Each command lives in its own file and is listed here, one line each.
export const commands: Command[] = [
  quickstart,
  logits,
  generate,
  train,
  merge,
  pretrain,
  rl,
  run,
  evalCommand,
  probe,
];
