import { type LlamaForCausalLM, loadModel, type TextTokenizer } from '@t2/llama';
import { checkAdapterStack } from './adapters';
import { keepStoredWeights } from './backend';
import { UsageError } from './command';

/** What a command gets from `--model PATH`. */
export interface CliModel {
  model: LlamaForCausalLM;
  /** Absent for llama2.c checkpoints and folders without tokenizer.json. */
  tokenizer?: TextTokenizer;
  source: string;
}

/** Installs one adapter folder on a loaded model (supplied by the adapter packages). */
export type AdapterInstaller = (model: LlamaForCausalLM, dir: string) => Promise<void>;

export interface LoadModelForCliOptions {
  /** Adapter folders, applied in order (`--adapter`, repeatable). */
  adapters?: readonly string[];
  installAdapter?: AdapterInstaller;
}

/**
 * Loads `--model PATH`: a Hugging Face folder or a llama2.c `.bin`, then any adapters.
 * The model is in eval mode.
 */
export async function loadModelForCli(
  path: string | undefined,
  opts: LoadModelForCliOptions = {},
): Promise<CliModel> {
  if (!path)
    throw new UsageError('--model PATH is required (a Hugging Face folder or a llama2.c .bin)');
  // Adapters that cannot be stacked are refused before the model is read.
  if ((opts.adapters?.length ?? 0) > 1) await checkAdapterStack(opts.adapters!);
  const { model, tokenizer, source } = await loadModel(path, { keepBf16: keepStoredWeights() });
  model.eval();
  const adapters = opts.adapters ?? [];
  if (adapters.length) {
    if (!opts.installAdapter) throw new UsageError('this command cannot apply --adapter');
    for (const dir of adapters) await opts.installAdapter(model, dir);
  }
  return { model, tokenizer, source };
}
