import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import { encodeExample, readSftJsonl, SftDataError } from '@t2/sft';
import { Rng, type Tensor } from '@t2/tensor-core';
import { UsageError } from './command';
import { saveCompleteFolder } from './hf-out';
import { peftMethod, peftMethodNames } from './methods';

// What `t2 train` sets up before its loop, kept apart from the command so that tests and
// other tools can install a method or read data the way the command does.

/** Every `--method` name: the registered methods with PEFT folders (and variants), then `full`. */
export function trainMethodNames(): string[] {
  return [...peftMethodNames(), 'full'];
}

/** The `--method` names when the CLI loaded (the built-in methods; plugins add to `trainMethodNames()`). */
export const METHODS: readonly string[] = trainMethodNames();
export type Method = string;

/** A method's trainable parameters on a model, and how to write the result. */
export interface Trainable {
  params: [string, Tensor][];
  save(dir: string): Promise<void>;
}

/** `--method` help: each registered method with its variants ('bone (Bone; also bat)'). */
export function methodList(): string {
  return peftMethodNames().join(', ');
}

/** Installs `method` on the model (adapters) or unfreezes it (full fine-tuning). */
export function prepareMethod(
  model: LlamaForCausalLM,
  method: Method,
  opts: {
    r: number;
    alpha?: number;
    targets: string | string[];
    seed: number;
    baseModel: string;
    /** The command line, for the README of a full fine-tune's folder. */
    command?: string;
  },
): Trainable {
  const targetModules = opts.targets === 'all-linear' ? 'all-linear' : opts.targets;
  if (method === 'full') {
    model.requiresGrad(true);
    return {
      params: model.namedParameters(),
      save: (dir) =>
        saveCompleteFolder(model, dir, {
          source: opts.baseModel,
          madeBy: `${opts.baseModel} fine-tuned (all weights) by \`t2 train --method full\`.`,
          command: opts.command ?? 't2 train --method full',
        }),
    };
  }
  const found = peftMethod(method);
  if (!found) throw new UsageError(unknownMethod(method));
  const config = found.config({
    variant: method,
    r: opts.r,
    alpha: opts.alpha,
    targetModules,
    baseModelNameOrPath: opts.baseModel,
  });
  // The seed fixes random starts (LoRA's Kaiming-uniform A), so runs are reproducible.
  const h = found.inject(model, config, { rng: new Rng(opts.seed) });
  if (h instanceof Promise)
    throw new Error(`${found.label}: inject must not be async for t2 train`);
  return { params: h.namedAdapterParameters(), save: (dir) => h.save(dir) };
}

export function unknownMethod(method: string | undefined): string {
  return `--method must be one of ${trainMethodNames().join(', ')}${method === undefined ? '' : ` (unknown method '${method}')`}`;
}

/** Tokenized training data from a JSONL file; bad lines are reported as file:line: why. */
export async function loadSftData(
  path: string,
  tokenizer: TextTokenizer,
  maxLength: number,
  flag = '--data',
) {
  let encoded: ReturnType<typeof encodeExample>[];
  try {
    const examples = await readSftJsonl(path);
    encoded = examples.map((e) => encodeExample(e, tokenizer, { maxLength }));
  } catch (err) {
    if (err instanceof SftDataError) throw new UsageError(err.message);
    throw err;
  }
  // A run whose every target token is cut away would train nothing and "succeed".
  if (encoded.length > 0 && !encoded.some((e) => e.labels.slice(1).some((l) => l !== -100))) {
    const longestPrompt = Math.max(
      ...encoded.map((e) => e.labels.filter((l) => l === -100).length),
    );
    throw new UsageError(
      `${flag} ${path}: no example keeps a completion token within --max-length ${maxLength} (prompts are up to ${longestPrompt} tokens); raise --max-length`,
    );
  }
  return encoded;
}
