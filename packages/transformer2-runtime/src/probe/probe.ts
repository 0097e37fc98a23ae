import * as svf from '@t2/adapters-svf';
import {
  completionLogits,
  generateBatch,
  type LlamaForCausalLM,
  type ScoreItem,
  type TextTokenizer,
  tokenizerCoverageProblem,
} from '@t2/llama';
import { Adam, crossEntropy, Rng, tidy } from '@t2/tensor-core';

/** A prompt and its correct answer (the model's continuation of the prompt, before '\n'). */
export interface ProbeSample {
  prompt: string;
  answer: string;
}

/**
 * Scores the model's continuation `output` of `prompt`; positive means correct. The sample
 * itself comes last, for rewards that depend on more than the answer (a task mixture).
 */
export type ProbeReward<S extends ProbeSample = ProbeSample> = (
  prompt: string,
  output: string,
  answer: string,
  sample: S,
) => number;

/** The SVF layers the probe's supervised fit adapts when none are named: SVF's and `t2 rl`'s. */
export const PROBE_TARGETS: readonly string[] = svf.MLP_TARGETS;

export const PROBE_DEFAULTS = {
  k: 8,
  temperature: 1,
  maxNewTokens: 16,
  batchSize: 64,
  fitSteps: 100,
  fitBatch: 32,
  fitLr: 1e-2,
  minGain: 0.02,
  minProblems: 3,
  minFound: 0.1,
  seed: 0,
} as const;

export interface ProbeOptions<S extends ProbeSample = ProbeSample> {
  model: LlamaForCausalLM;
  /** Encodes prompts (with BOS, as the tokenizer adds it) and answers, decodes outputs. */
  tokenizer: TextTokenizer;
  /** The problems every accuracy is measured on (a test split). */
  evalSamples: readonly S[];
  /** The problems the supervised SVF fit learns from (a train split, disjoint from `evalSamples`). */
  trainSamples: readonly ProbeSample[];
  reward: ProbeReward<S>;
  /** Samples per prompt for pass@k (default 8). */
  k?: number;
  /** Temperature of the pass@k samples (default 1). */
  temperature?: number;
  /** Answer length cap in tokens (default 16). */
  maxNewTokens?: number;
  /** Prompts decoded at once (default 64). */
  batchSize?: number;
  /** Supervised SVF fit: Adam steps (default 100; 0 skips the fit), batch (32), learning rate (1e-2). */
  fitSteps?: number;
  fitBatch?: number;
  fitLr?: number;
  /** Adapted layers (default gate_proj, up_proj, down_proj). */
  targets?: readonly string[];
  /** SVD factor cache (none by default). */
  cacheDir?: string;
  baseModelName?: string;
  /** Seeds the pass@k sampler, the z init and the fit's batch order (default 0). */
  seed?: number;
  /** A gain counts when it is at least this share (default 0.02: 2 points)… */
  minGain?: number;
  /** …and at least this many problems of `evalSamples` (default 3). */
  minProblems?: number;
  /**
   * Sampling counts only when pass@k finds the answer of at least this share of the problems
   * greedy gets wrong (default 0.1): a few lucky guesses (a one-digit count) are no skill.
   */
  minFound?: number;
  onProgress?: (event: ProbeProgress) => void;
}

export type ProbeStage = 'greedy' | 'sample' | 'fit' | 'ceiling';

export interface ProbeProgress {
  stage: ProbeStage;
  done: number;
  total: number;
  /** fit: the cross-entropy of the last step (nats per answer token). */
  loss?: number;
}

/** An accuracy with its Wilson 95% interval. */
export interface ProbeAccuracy {
  correct: number;
  total: number;
  accuracy: number;
  low: number;
  high: number;
}

export type ProbeVerdictKind = 'gain' | 'no-headroom' | 'unclear';

export interface ProbeVerdict {
  kind: ProbeVerdictKind;
  /** Predicted gain in accuracy points: supervised SVF − greedy (rounded), 0 unless `gain`. */
  points: number;
  /** The one-line verdict. */
  line: string;
}

export interface ProbeResult {
  n: number;
  k: number;
  temperature: number;
  /** Greedy accuracy of the base model. */
  greedy: ProbeAccuracy;
  /** Share of problems with at least one correct answer among k samples at `temperature`. */
  passAtK: ProbeAccuracy;
  /** Share of all n·k samples that are correct (pass@1 at `temperature`). */
  sampled: ProbeAccuracy;
  /** Greedy accuracy after the supervised SVF fit; null when `fitSteps` is 0. */
  ceiling: ProbeAccuracy | null;
  fit: {
    steps: number;
    batch: number;
    lr: number;
    targets: string[];
    trainableValues: number;
    firstLoss: number | null;
    lastLoss: number | null;
  };
  /** pass@k − greedy and ceiling − greedy (shares, not points). */
  samplingGain: number;
  ceilingGain: number;
  /** The smallest gain (share) the verdict counts: max(minGain, minProblems / n). */
  threshold: number;
  /** pass@k − greedy must also reach this share of the problems greedy gets wrong. */
  minFound: number;
  verdict: ProbeVerdict;
  timings: {
    greedyMs: number;
    sampleMs: number;
    fitMs: number;
    ceilingMs: number;
    totalMs: number;
  };
}

/** Wilson score interval (95%) of `correct` out of `total`. */
export function wilsonInterval(
  correct: number,
  total: number,
  z = 1.959963984540054,
): { low: number; high: number } {
  if (total === 0) return { low: 0, high: 1 };
  const p = correct / total;
  const z2 = z * z;
  const denom = 1 + z2 / total;
  const center = (p + z2 / (2 * total)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / denom;
  return {
    low: correct === 0 ? 0 : Math.max(0, center - half),
    high: correct === total ? 1 : Math.min(1, center + half),
  };
}

function accuracyOf(correct: number, total: number): ProbeAccuracy {
  return {
    correct,
    total,
    accuracy: total ? correct / total : 0,
    ...wilsonInterval(correct, total),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * The verdict from the three accuracies. REINFORCE can only reinforce answers the model
 * samples, and the supervised fit says how far SVF's few values can move the answers; so
 * a gain is predicted when both pass@k and the supervised SVF accuracy beat greedy by at
 * least `threshold` — pass@k also by `minFound` (default 0.1) of the problems greedy gets
 * wrong — and there is no headroom when neither does, or when only the fit does (it learnt
 * answers sampling never finds: REINFORCE would get no signal).
 */
export function probeVerdict(r: {
  greedy: number;
  passAtK: number;
  ceiling: number | null;
  k: number;
  threshold: number;
  minFound?: number;
}): ProbeVerdict {
  const samplingGain = r.passAtK - r.greedy;
  const ceilingGain = r.ceiling === null ? null : r.ceiling - r.greedy;
  const numbers = `(greedy ${pct(r.greedy)}, pass@${r.k} ${pct(r.passAtK)}, supervised SVF ${r.ceiling === null ? '—' : pct(r.ceiling)})`;
  const minFound = r.minFound ?? PROBE_DEFAULTS.minFound;
  const sampled = samplingGain >= r.threshold && samplingGain >= minFound * (1 - r.greedy) - 1e-12;
  if (ceilingGain === null) {
    return sampled
      ? {
          kind: 'unclear',
          points: 0,
          line: `unclear: sampling finds ${pts(samplingGain)} points greedy misses, but no supervised fit was run ${numbers}`,
        }
      : {
          kind: 'no-headroom',
          points: 0,
          line: `no headroom: sampling finds nothing greedy misses ${numbers}`,
        };
  }
  const fitted = ceilingGain >= r.threshold;
  if (sampled && fitted) {
    const points = Math.round(100 * ceilingGain);
    return {
      kind: 'gain',
      points,
      line: `SVF can plausibly gain ~${points} points here ${numbers}`,
    };
  }
  if (!sampled && !fitted) {
    return {
      kind: 'no-headroom',
      points: 0,
      line:
        r.passAtK < 0.5
          ? `no headroom: the skill is missing ${numbers}`
          : `no headroom: the base model is at its ceiling ${numbers}`,
    };
  }
  if (!sampled) {
    return {
      kind: 'no-headroom',
      points: 0,
      line: `no headroom: the skill is missing ${numbers}; the supervised fit learns answers that sampling (almost) never finds, so REINFORCE would get (almost) no reward to learn from`,
    };
  }
  return {
    kind: 'unclear',
    points: 0,
    line: `unclear: sampling finds ${pts(samplingGain)} points greedy misses, but the short supervised SVF fit gained ${pts(ceilingGain)} (try more fit steps) ${numbers}`,
  };
}

function pts(share: number): string {
  return `${share >= 0 ? '+' : ''}${Math.round(100 * share)}`;
}

/** Prompts that are both in the fit's train samples and among the evaluated ones, as a reason. */
export function overlapProblem(
  trainSamples: readonly ProbeSample[],
  evalSamples: readonly ProbeSample[],
): string | null {
  const train = new Set(trainSamples.map((s) => s.prompt));
  const shared = evalSamples.filter((s) => train.has(s.prompt));
  if (shared.length === 0) return null;
  return `the fit's train samples overlap the evaluated ones: ${shared.length} prompt${shared.length === 1 ? '' : 's'} in both (e.g. ${JSON.stringify(shared[0]!.prompt)})`;
}

/** The tokens that end an answer: EOS, plus the newline token when '\n' is a single one. */
function stopIds(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
): { stops: number[]; newline: boolean } {
  const stops = [...model.config.eosTokenIds];
  const nl = tokenizer.encode('\n', { addSpecialTokens: false });
  const newline = nl.length === 1 && tokenizer.decode(nl) === '\n';
  if (newline && !stops.includes(nl[0]!)) stops.push(nl[0]!);
  return { stops, newline };
}

/**
 * How much an SVF expert could gain on a task, measured before training one:
 * (1) greedy accuracy on `evalSamples`; (2) pass@k at temperature 1 — k answers per
 * problem, a problem counts when any is correct (with exactly k samples this is also the
 * unbiased pass@k estimator); (3) the accuracy after a short supervised fit of the SVF
 * vectors z (Adam on the cross-entropy of `answer + '\n'` after each train prompt,
 * answer tokens only) — what REINFORCE with SVF could reach at best; and a verdict
 * (`probeVerdict`). The model is left with its plain layers (base weights) afterwards.
 * Throws (one line) on no samples, characters the tokenizer lacks, or train/eval overlap.
 */
export async function probeHeadroom<S extends ProbeSample>(
  opts: ProbeOptions<S>,
): Promise<ProbeResult> {
  const { model, tokenizer, evalSamples, trainSamples, reward } = opts;
  const k = opts.k ?? PROBE_DEFAULTS.k;
  const temperature = opts.temperature ?? PROBE_DEFAULTS.temperature;
  const maxNewTokens = opts.maxNewTokens ?? PROBE_DEFAULTS.maxNewTokens;
  const batchSize = opts.batchSize ?? PROBE_DEFAULTS.batchSize;
  const fitSteps = opts.fitSteps ?? PROBE_DEFAULTS.fitSteps;
  const fitBatch = opts.fitBatch ?? PROBE_DEFAULTS.fitBatch;
  const fitLr = opts.fitLr ?? PROBE_DEFAULTS.fitLr;
  const seed = opts.seed ?? PROBE_DEFAULTS.seed;
  const targets = [...(opts.targets ?? PROBE_TARGETS)];
  const minGain = opts.minGain ?? PROBE_DEFAULTS.minGain;
  const minProblems = opts.minProblems ?? PROBE_DEFAULTS.minProblems;
  const minFound = opts.minFound ?? PROBE_DEFAULTS.minFound;
  const progress = opts.onProgress ?? (() => {});
  const positive = (name: string, v: number, integer: boolean) => {
    if (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
      throw new Error(
        `probeHeadroom: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`,
      );
  };
  positive('k', k, true);
  positive('temperature', temperature, false);
  positive('maxNewTokens', maxNewTokens, true);
  positive('batchSize', batchSize, true);
  positive('fitBatch', fitBatch, true);
  positive('fitLr', fitLr, false);
  if (!Number.isInteger(fitSteps) || fitSteps < 0)
    throw new Error(`probeHeadroom: fitSteps must be an integer ≥ 0, got ${fitSteps}`);

  if (evalSamples.length === 0) throw new Error('probeHeadroom: no samples to evaluate');
  if (fitSteps > 0 && trainSamples.length === 0)
    throw new Error('probeHeadroom: no train samples for the supervised fit');
  const coverage = tokenizerCoverageProblem(tokenizer, [...evalSamples, ...trainSamples]);
  if (coverage) throw new Error(`probeHeadroom: ${coverage}`);
  const overlap = overlapProblem(trainSamples, evalSamples);
  if (overlap) throw new Error(`probeHeadroom: ${overlap}`);

  const t0 = performance.now();
  const { stops, newline } = stopIds(model, tokenizer);
  const padTokenId = model.config.padTokenId ?? 0;
  const encoded = evalSamples.map((s) => tokenizer.encode(s.prompt));
  const decode = (tokens: readonly number[]) => {
    const last = tokens[tokens.length - 1];
    const body = last !== undefined && stops.includes(last) ? tokens.slice(0, -1) : tokens;
    return tokenizer.decode(body, { skipSpecialTokens: true });
  };
  const isCorrect = (i: number, tokens: readonly number[]) => {
    const s = evalSamples[i]!;
    const r = reward(s.prompt, decode(tokens), s.answer, s);
    if (typeof r !== 'number' || !Number.isFinite(r))
      throw new Error(
        `probeHeadroom: the reward of ${JSON.stringify(s.prompt)} is ${r}, not a finite number`,
      );
    return r > 0;
  };
  /** Correct greedy answers, batched; reports progress under `stage`. */
  const greedyCorrect = (stage: ProbeStage): number => {
    let correct = 0;
    for (let start = 0; start < encoded.length; start += batchSize) {
      const chunk = encoded.slice(start, start + batchSize);
      const out = generateBatch(model, chunk, {
        maxNewTokens,
        temperature: 0,
        eosTokenIds: stops,
        padTokenId,
      });
      out.forEach((o, j) => {
        if (isCorrect(start + j, o.tokens)) correct++;
      });
      progress({ stage, done: Math.min(start + batchSize, encoded.length), total: encoded.length });
    }
    return correct;
  };

  // (1) Greedy.
  const n = evalSamples.length;
  const greedy = accuracyOf(greedyCorrect('greedy'), n);
  const t1 = performance.now();

  // (2) pass@k: each prompt k times in the batches, one shared seeded sampler.
  const rng = new Rng(seed);
  const hits = new Int32Array(n);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) rows.push(i);
  for (let start = 0; start < rows.length; start += batchSize) {
    const chunk = rows.slice(start, start + batchSize);
    const out = generateBatch(
      model,
      chunk.map((i) => encoded[i]!),
      { maxNewTokens, temperature, rng, eosTokenIds: stops, padTokenId },
    );
    out.forEach((o, j) => {
      if (isCorrect(chunk[j]!, o.tokens)) hits[chunk[j]!]!++;
    });
    progress({
      stage: 'sample',
      done: Math.min(start + batchSize, rows.length),
      total: rows.length,
    });
  }
  const passAtK = accuracyOf(
    hits.reduce((a, h) => a + (h > 0 ? 1 : 0), 0),
    n,
  );
  const sampled = accuracyOf(
    hits.reduce((a, h) => a + h, 0),
    n * k,
  );
  const t2 = performance.now();

  // (3) Supervised SVF fit on the correct answers, then greedy again.
  let ceiling: ProbeAccuracy | null = null;
  let firstLoss: number | null = null;
  let lastLoss: number | null = null;
  let trainableValues = 0;
  let t3 = t2;
  if (fitSteps > 0) {
    const h = await svf.inject(model, {
      targetModules: targets,
      seed,
      cacheDir: opts.cacheDir,
      baseModelName: opts.baseModelName,
    });
    try {
      const params = h.trainableParameters();
      trainableValues = params.reduce((a, p) => a + p.size, 0);
      const optimizer = new Adam(params, { lr: fitLr });
      const items: ScoreItem[] = trainSamples.map((s) => ({
        prompt: tokenizer.encode(s.prompt),
        completion: newline
          ? tokenizer.encode(`${s.answer}\n`, { addSpecialTokens: false })
          : [...tokenizer.encode(s.answer, { addSpecialTokens: false }), ...stops.slice(0, 1)],
      }));
      const order = new Rng(seed + 1);
      let perm: number[] = [];
      let pos = 0;
      const nextBatch = (): ScoreItem[] => {
        const batch: ScoreItem[] = [];
        while (batch.length < Math.min(fitBatch, items.length)) {
          if (pos >= perm.length) {
            perm = items.map((_, i) => i);
            for (let i = perm.length - 1; i > 0; i--) {
              const j = Math.floor(order.uniform() * (i + 1));
              [perm[i], perm[j]] = [perm[j]!, perm[i]!];
            }
            pos = 0;
          }
          batch.push(items[perm[pos++]!]!);
        }
        return batch;
      };
      for (let step = 0; step < fitSteps; step++) {
        const batch = nextBatch().filter((it) => it.completion.length > 0);
        if (batch.length === 0) continue;
        const loss = tidy(() => {
          const { logits, targets: tgt } = completionLogits(model, batch);
          const l = crossEntropy(logits, tgt);
          l.backward();
          return l.item();
        });
        optimizer.step();
        optimizer.zeroGrad();
        firstLoss ??= loss;
        lastLoss = loss;
        progress({ stage: 'fit', done: step + 1, total: fitSteps, loss });
        // Lets timers and signals run between the synchronous steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      t3 = performance.now();
      ceiling = accuracyOf(greedyCorrect('ceiling'), n);
    } finally {
      h.unload();
    }
  }
  const t4 = performance.now();

  const threshold = Math.max(minGain, minProblems / n);
  const verdict = probeVerdict({
    greedy: greedy.accuracy,
    passAtK: passAtK.accuracy,
    ceiling: ceiling?.accuracy ?? null,
    k,
    threshold,
    minFound,
  });
  return {
    n,
    k,
    temperature,
    greedy,
    passAtK,
    sampled,
    ceiling,
    fit: {
      steps: fitSteps,
      batch: fitBatch,
      lr: fitLr,
      targets,
      trainableValues,
      firstLoss,
      lastLoss,
    },
    samplingGain: passAtK.accuracy - greedy.accuracy,
    ceilingGain: ceiling ? ceiling.accuracy - greedy.accuracy : 0,
    threshold,
    minFound,
    verdict,
    timings: {
      greedyMs: t1 - t0,
      sampleMs: t2 - t1,
      fitMs: t3 - t2,
      ceilingMs: t4 - t3,
      totalMs: t4 - t0,
    },
  };
}
