import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import type { LlamaForCausalLM } from '@t2/llama';
import { UsageError } from './types';

/** The PEFT type recorded in an adapter folder's adapter_config.json. */
export async function peftTypeOf(dir: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(`${dir}/adapter_config.json`, 'utf8');
  } catch {
    throw new UsageError(
      `--adapter ${dir}: no adapter_config.json (expected a PEFT adapter folder)`,
    );
  }
  const type = (JSON.parse(text) as { peft_type?: unknown }).peft_type;
  if (typeof type !== 'string')
    throw new UsageError(`--adapter ${dir}: adapter_config.json has no peft_type`);
  return type.toUpperCase();
}

/**
 * Installs a PEFT adapter folder on a model, whatever its method: Bone/BAT (`BONE`,
 * `MISS`) or LoRA/PiSSA (`LORA`). Several adapters may be stacked, each under its folder's name.
 */
export async function installAdapter(model: LlamaForCausalLM, dir: string): Promise<void> {
  const type = await peftTypeOf(dir);
  const adapterName =
    dir
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() || 'default';
  if (type === 'BONE' || type === 'MISS') await bone.load(dir, model, { adapterName });
  else if (type === 'LORA') await lora.load(dir, model, { adapterName });
  else
    throw new UsageError(
      `--adapter ${dir}: peft_type '${type}' is not supported (BONE, MISS, LORA)`,
    );
}
