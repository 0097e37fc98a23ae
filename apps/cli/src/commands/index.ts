import { quickstart } from './quickstart';
import type { Command } from './types';

// Each command lives in its own file and is listed here, one line each.
export const commands: Command[] = [quickstart];
