// The adapter methods the CLI knows: the built-in packages register themselves on import,
// and `--plugin MODULE` / `T2_PLUGINS` import modules that register more. Commands look
// methods up in the @t2/tuners registry, so a new method needs no edit here.
import '@t2/adapters-bone';
import '@t2/adapters-lora';
import '@t2/adapters-svf';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AdapterMethod, adapterMethods } from '@t2/tuners';
import { UsageError } from './command';

export const PLUGIN_USAGE =
  '  --plugin MODULE        import MODULE (a file or package) first, so the adapter methods it\n' +
  '                         registers with @t2/tuners are known; repeatable; also T2_PLUGINS=a,b\n';

const loaded = new Set<string>();

/**
 * Takes `--plugin MODULE` (and `--plugin=MODULE`) out of `args` and imports those modules
 * and the comma-separated ones of $T2_PLUGINS, once each. A path (starting with `.` or `/`,
 * or naming an existing file) is resolved against the working folder.
 */
export async function loadPlugins(args: string[]): Promise<string[]> {
  const rest: string[] = [];
  const specs = (process.env.T2_PLUGINS ?? '').split(',').filter((s) => s.trim() !== '');
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--plugin') {
      const spec = args[++i];
      if (spec === undefined) throw new UsageError('--plugin needs a module (file or package)');
      specs.push(spec);
    } else if (a.startsWith('--plugin=')) specs.push(a.slice('--plugin='.length));
    else rest.push(a);
  }
  for (const spec of specs.map((s) => s.trim())) {
    if (loaded.has(spec)) continue;
    const isPath = /^(\.|\/|[A-Za-z]:[\\/])/.test(spec) || /\.[cm]?[jt]s$/.test(spec);
    const target = isPath ? pathToFileURL(resolve(spec)).href : spec;
    try {
      await import(target);
    } catch (err) {
      throw new UsageError(`--plugin ${spec}: cannot import it (${(err as Error).message})`);
    }
    loaded.add(spec);
  }
  return rest;
}

/** Methods `t2 train` trains: those whose adapters are PEFT folders. */
export function peftMethods(): AdapterMethod<unknown>[] {
  return adapterMethods().filter((m) => m.files !== null);
}

/** Every `--method` name of the methods with PEFT folders, in registration order. */
export function peftMethodNames(): string[] {
  return peftMethods().flatMap((m) => [m.name, ...(m.variants ?? [])]);
}

/** The method (with PEFT folders) that `--method name` means, or undefined. */
export function peftMethod(name: string): AdapterMethod<unknown> | undefined {
  return peftMethods().find((m) => m.name === name || m.variants?.includes(name));
}

/** The label of the method whose folders have `peft_type` `type` ('Bone'), or the type. */
export function labelOfPeftType(type: string): string {
  return adapterMethods().find((m) => m.peftTypes.includes(type))?.label ?? type;
}
