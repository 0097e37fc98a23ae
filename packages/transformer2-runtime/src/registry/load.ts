import { loadExpert, type SvfExpert, type SvfModel } from '@t2/adapters-svf';
import { InputError, type Module } from '@t2/tensor-core';
import { ExpertRegistry } from './registry';

export interface LoadExpertsOptions {
  /** Name (file stem) or task label of the classification expert. Default `classifier`. */
  classifier?: string;
}

/** The `*.safetensors` files directly inside `dir`, sorted by name (the order of α). */
export async function expertFilesIn(dir: string): Promise<string[]> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOTDIR'
        ? `${dir}: is a file, expected a folder of experts (*.safetensors)`
        : code === 'ENOENT'
          ? `${dir}: no such experts folder`
          : `${dir}: cannot list the experts folder (${code ?? (err as Error).message})`,
    );
  }
  const files = names.filter((n) => n.endsWith('.safetensors')).sort();
  if (files.length === 0)
    throw new InputError(`${dir}: no expert files (*.safetensors) in this folder`);
  return files.map((n) => path.join(dir, n));
}

/**
 * Loads expert files into a registry: each file is checked against `base` (an injected
 * SVF model, or the plain model before injection) by `loadExpert`, which refuses experts
 * made for another base model. An expert is named after its file stem and labelled with
 * the task in its metadata (the stem when there is none). All experts must adapt the same
 * weights, since answers mix them.
 */
export async function loadExpertRegistry(
  files: readonly string[],
  base: SvfModel | Module,
  options: LoadExpertsOptions = {},
): Promise<ExpertRegistry<SvfExpert>> {
  const path = await import('node:path');
  const classifier = options.classifier ?? 'classifier';
  const registry = new ExpertRegistry<SvfExpert>();
  let first: { file: string; targets: string[] } | undefined;
  for (const file of files) {
    const expert = await loadExpert(file, base);
    const targets = [...expert.z.keys()].sort();
    if (!first) first = { file, targets };
    else if (targets.join('\n') !== first.targets.join('\n')) {
      const missing = first.targets.filter((t) => !expert.z.has(t));
      const extra = targets.filter((t) => !first!.targets.includes(t));
      throw new InputError(
        `${file}: adapts other weights than ${first.file} (${[
          missing.length ? `missing ${missing.slice(0, 3).join(', ')}` : '',
          extra.length ? `extra ${extra.slice(0, 3).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')}); experts that are mixed must adapt the same weights`,
      );
    }
    const name = path.basename(file).replace(/\.safetensors$/, '');
    const label = expert.meta.task ?? name;
    const role = name === classifier || label === classifier ? 'classifier' : 'task';
    registry.add({ name, label, role, expert, source: file });
  }
  return registry;
}
