import { generate } from './generate';
import { logits } from './logits';
import { merge } from './merge';
import { quickstart } from './quickstart';
import { train } from './train';
import type { Command } from './types';

// Each command lives in its own file and is listed here, one line each.
export const commands: Command[] = [quickstart, logits, generate, train, merge];
