import {
  type AdaptableModel,
  type AlphaTable,
  ExpertRegistry,
  type GenerateOptions,
  type Mixing,
  type ScoreRequest,
} from '../src/index';

export interface StubExpert {
  name: string;
}

/** What `compose` built: the experts and their (normalised) coefficients. */
export interface StubWeights {
  id: number;
  experts: string[];
  alpha: AlphaTable;
  /** How compose was asked to mix (undefined: the runtime did not say). */
  mixing?: Mixing;
}

export const CLASSIFY = 'CLASSIFY';

/** Pass 1's prompt in the tests: the categories and the user prompt. */
export function classificationPrompt(prompt: string, categories: readonly string[]): string {
  return `${CLASSIFY}[${categories.join(',')}]: ${prompt}`;
}

/** Pass 1's parser in the tests: the first word, or `other`. */
export function parseCategory(output: string, categories: readonly string[]): string {
  const word = output.trim().split(/\s+/)[0] ?? '';
  return categories.includes(word) ? word : 'other';
}

/** Coefficient of `name` in weights (mean over adapted weights for a per-layer table). */
export function coefficient(w: StubWeights, name: string): number {
  const k = w.experts.indexOf(name);
  if (k < 0) return 0;
  const row = w.alpha[k]!;
  return typeof row === 'number' ? row : row.reduce((s, a) => s + a, 0) / row.length;
}

export function describeWeights(w: StubWeights | null): string {
  if (!w) return 'base';
  return w.experts.map((n) => `${n}=${coefficient(w, n).toFixed(2)}`).join(',');
}

/**
 * A model without a network: the base model classifies prompts by keyword, the
 * classification expert also knows the synonyms, and answers say which weights made them.
 * It counts compositions, switches and releases, and advances a fake clock.
 */
export class StubModel implements AdaptableModel<StubExpert, StubWeights> {
  composeCalls = 0;
  useCalls = 0;
  released: StubWeights[] = [];
  current: StubWeights | null = null;
  /** Every generated prompt with the weights it ran on. */
  log: { prompt: string; weights: string; options?: GenerateOptions }[] = [];
  clock = 0;
  /** Async delay per generate call (ms), to interleave concurrent callers. */
  delay = 0;
  /** Few-shot behaviour: the output of an answer prompt and the log-likelihood of a completion. */
  answer: (w: StubWeights | null, prompt: string) => string = (w, prompt) =>
    `${describeWeights(w)} :: ${prompt}`;
  logLik: (w: StubWeights | null, req: ScoreRequest) => number = () => 0;

  constructor(readonly numTargets = 2) {}

  compose(experts: readonly StubExpert[], alpha: AlphaTable, mixing?: Mixing): StubWeights {
    this.composeCalls++;
    this.clock += 3;
    return { id: this.composeCalls, experts: experts.map((e) => e.name), alpha, mixing };
  }

  use(weights: StubWeights | null): void {
    this.useCalls++;
    this.current = weights;
  }

  release(weights: StubWeights): void {
    this.released.push(weights);
  }

  async generate(prompts: readonly string[], options?: GenerateOptions): Promise<string[]> {
    const w = this.current;
    if (this.delay) await new Promise((r) => setTimeout(r, Math.random() * this.delay));
    // Whatever ran meanwhile must not have switched the weights under this call.
    if (this.current !== w) throw new Error('weights switched during generate');
    return prompts.map((prompt) => {
      this.log.push({ prompt, weights: describeWeights(w), options });
      if (prompt.startsWith(CLASSIFY)) {
        this.clock += 100;
        return this.classifyAs(w, prompt);
      }
      this.clock += 7;
      return this.answer(w, prompt);
    });
  }

  async score(requests: readonly ScoreRequest[]): Promise<number[]> {
    return requests.map((r) => this.logLik(this.current, r));
  }

  private classifyAs(w: StubWeights | null, prompt: string): string {
    const user = prompt.slice(prompt.indexOf(']: ') + 3);
    const isClassifier = w !== null && w.experts.length === 1 && w.experts[0] === 'classifier';
    const words: [RegExp, string][] = [
      [/\bplus\b/, 'math'],
      [/\breverse\b/, 'string'],
      [/\btrue or false\b/, 'logic'],
    ];
    // The classification expert has learned what the base model misses.
    if (isClassifier) words.push([/\bsum\b/, 'math'], [/\bbackwards\b/, 'string']);
    for (const [re, label] of words) if (re.test(user)) return `${label}\nmore text`;
    return 'no idea';
  }
}

export function stubRegistry(withClassifier = true): ExpertRegistry<StubExpert> {
  const registry = new ExpertRegistry<StubExpert>();
  for (const label of ['math', 'string', 'logic'])
    registry.add({ name: label, label, role: 'task', expert: { name: label } });
  if (withClassifier) {
    registry.add({
      name: 'classifier',
      label: 'classifier',
      role: 'classifier',
      expert: { name: 'classifier' },
    });
  }
  return registry;
}
