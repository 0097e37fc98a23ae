import { basename, resolve } from 'node:path';
import type { LlamaForCausalLM } from '@t2/llama';
import { readTextFileChecked } from '@t2/tensor-core';
import { AdapterModel, adapterMethodForPeftType, adapterMethods, loadAdapter } from '@t2/tuners';
import { UsageError } from './command';
import { labelOfPeftType } from './methods';

/** What the CLI reads of an adapter folder's adapter_config.json before loading it. */
export interface AdapterHeader {
  /** The PEFT type, upper case (`BONE`, `MISS`, `LORA`, or a registered method's). */
  type: string;
  /** PEFT's `target_modules`: module names, or a regular expression. */
  targets: string[] | string | null;
}

/** The PEFT type recorded in an adapter folder's adapter_config.json. */
export async function peftTypeOf(dir: string): Promise<string> {
  return (await readAdapterHeader(dir)).type;
}

/** peft_type and target_modules of an adapter folder, checked. */
export async function readAdapterHeader(dir: string): Promise<AdapterHeader> {
  // A regular file of sane size only: a symlink to /dev/zero would hang readFile.
  const { stat } = await import('node:fs/promises');
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat) throw new UsageError(`--adapter ${dir}: no such folder`);
  if (!dirStat.isDirectory())
    throw new UsageError(
      `--adapter ${dir}: is a file, expected a PEFT adapter folder (adapter_config.json, adapter_model.safetensors)`,
    );
  const read = await readTextFileChecked(`${dir}/adapter_config.json`, { optional: true });
  if (read === null)
    throw new UsageError(
      `--adapter ${dir}: no adapter_config.json (expected a PEFT adapter folder)`,
    );
  const text = read;
  let json: { peft_type?: unknown; target_modules?: unknown };
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `--adapter ${dir}: adapter_config.json is not valid JSON (${(err as Error).message})`,
    );
  }
  const type = json.peft_type;
  if (typeof type !== 'string')
    throw new UsageError(`--adapter ${dir}: adapter_config.json has no peft_type`);
  const t = json.target_modules;
  const targets =
    typeof t === 'string' || (Array.isArray(t) && t.every((x) => typeof x === 'string'))
      ? (t as string[] | string)
      : null;
  return { type: type.toUpperCase(), targets };
}

/**
 * Refuses, before any weight is read, adapters of different kinds (LoRA and Bone) on one
 * module: each kind wraps the layer in its own way and one wrapper cannot hold the other's
 * update. Adapters of one kind stack; different kinds may share a model on different modules.
 */
export async function checkAdapterStack(dirs: readonly string[]): Promise<void> {
  const headers = await Promise.all(
    dirs.map(async (dir) => ({ dir, ...(await readAdapterHeader(dir)) })),
  );
  for (let i = 0; i < headers.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = headers[j]!;
      const b = headers[i]!;
      const kindA = adapterMethodForPeftType(a.type);
      const kindB = adapterMethodForPeftType(b.type);
      if (!kindA || !kindB || kindA === kindB) continue;
      // Regular expressions are only resolved on the model: installAdapter reports those.
      if (!Array.isArray(a.targets) || !Array.isArray(b.targets)) continue;
      // PEFT lists names or dotted paths: `v_proj` and `model.layers.0.self_attn.v_proj` overlap.
      const overlap = (t: string, u: string) =>
        t === u || t.endsWith(`.${u}`) || u.endsWith(`.${t}`);
      const shared = a.targets.filter((t) => (b.targets as string[]).some((u) => overlap(t, u)));
      if (shared.length) throw new UsageError(stackMessage(a, b, shared.join(', ')));
    }
  }
}

function stackMessage(
  a: { dir: string; type: string },
  b: { dir: string; type: string },
  modules: string,
): string {
  return `--adapter ${b.dir} (${labelOfPeftType(b.type)}) and --adapter ${a.dir} (${labelOfPeftType(a.type)}) both adapt ${modules}: adapters of different kinds cannot be stacked on one module. Merge one into the base first (t2 merge --model M --adapter ${a.dir} --out merged) and apply the other to --model merged`;
}

/**
 * The name an adapter folder is installed under: its folder name made safe for module paths
 * (PEFT's names hold no '.', so `out/bone-v1.2` → `bone-v1_2`, `.` → the current folder's name),
 * with a number added when a stacked adapter already has it.
 */
export function adapterNameFor(dir: string, taken: readonly string[] = []): string {
  const base =
    basename(resolve(dir))
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .replace(/^_+$/, '') || 'default';
  let name = base;
  for (let k = 2; taken.includes(name); k++) name = `${base}_${k}`;
  return name;
}

/**
 * Installs a PEFT adapter folder on a model with the method registered for its peft_type
 * (Bone/BAT: `BONE`, `MISS`; LoRA/PiSSA: `LORA`; or a plugin's). Several adapters may be
 * stacked, each under a name made from its folder's name (`adapterNameFor`).
 */
export async function installAdapter(model: LlamaForCausalLM, dir: string): Promise<void> {
  const { type } = await readAdapterHeader(dir);
  const method = adapterMethodForPeftType(type);
  if (!method?.files) {
    const known = adapterMethods().flatMap((m) => (m.files ? m.peftTypes : []));
    throw new UsageError(
      `--adapter ${dir}: peft_type '${type}' is not supported (${known.join(', ')})`,
    );
  }
  const taken = adapterMethods().flatMap((m) => {
    const h = m.handleOf(model);
    return h instanceof AdapterModel ? h.adapterNames : [];
  });
  const adapterName = adapterNameFor(dir, taken);
  try {
    await loadAdapter(dir, model, { adapterName, method });
  } catch (err) {
    const m = /'([^']+)' is already wrapped by another kind of adapter/.exec(
      (err as Error).message,
    );
    if (!m) throw err;
    throw new UsageError(
      `--adapter ${dir} (${method.label}) adapts ${m[1]}, which an adapter of another kind already adapts: adapters of different kinds cannot be stacked on one module. Merge the first into the base (t2 merge) and apply this one to the merged folder`,
    );
  }
}
