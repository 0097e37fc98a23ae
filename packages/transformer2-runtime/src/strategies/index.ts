import { classifierStrategy } from './classifier';
import { fewShotStrategy } from './few-shot';
import { noneStrategy } from './none';
import { oracleStrategy } from './oracle';
import { promptStrategy } from './prompt';
import type { Strategy, StrategyName } from './types';

export const strategies: Readonly<Record<StrategyName, Strategy>> = Object.freeze({
  none: noneStrategy,
  prompt: promptStrategy,
  classifier: classifierStrategy,
  'few-shot': fewShotStrategy,
  oracle: oracleStrategy,
});
