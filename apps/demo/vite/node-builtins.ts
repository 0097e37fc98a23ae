import { builtinModules } from 'node:module';
import type { Plugin } from 'vite';

const STUB = '\0t2-node-builtin:';
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * The packages load Node modules lazily (`await import('node:fs/promises')`) inside
 * functions the browser never calls (file loaders, caches). In the bundle each becomes a
 * module that throws when imported, so a stray call fails with a message instead of a
 * missing-export TypeError, and nothing Node-only is bundled.
 */
export function nodeBuiltinsStub(): Plugin {
  return {
    name: 't2-node-builtins-stub',
    enforce: 'pre',
    resolveId(id) {
      return builtins.has(id) ? STUB + id : null;
    },
    load(id) {
      if (!id.startsWith(STUB)) return null;
      const name = id.slice(STUB.length);
      return `throw new Error(${JSON.stringify(`${name} is not available in the browser`)});\nexport default undefined;\n`;
    },
  };
}
