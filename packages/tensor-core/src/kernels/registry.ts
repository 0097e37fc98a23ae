import type { Backend } from './backend';
import { createJsBackend } from './js/index';

/** js: plain TypeScript; the others are gpu.js modes; auto picks by measurement. */
export type BackendName =
  | 'js'
  | 'cpu'
  | 'webasm'
  | 'headlessgl'
  | 'webgl2'
  | 'webgl'
  | 'webgpu'
  | 'auto';

type Factory = () => Backend | Promise<Backend>;

const factories = new Map<string, Factory>([['js', createJsBackend]]);
const instances = new Map<string, Backend>();
let active: Backend = createJsBackend();
instances.set('js', active);
let autoChooser: (() => Promise<string>) | null = null;

/** Makes a backend available under `name` (gpu.js modes register themselves this way). */
export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
}

/** Sets how `setBackend('auto')` decides (installed by the gpu.js module). */
export function setAutoChooser(chooser: () => Promise<string>): void {
  autoChooser = chooser;
}

export function registeredBackends(): string[] {
  return [...factories.keys()];
}

/**
 * Switches the backend used by every op from now on. Asynchronous because a GPU
 * backend has to create its context (and `auto` measures the candidates).
 */
export async function setBackend(name: BackendName | string): Promise<Backend> {
  let resolved = name;
  if (name === 'auto') resolved = autoChooser ? await autoChooser() : 'js';
  let backend = instances.get(resolved);
  if (!backend) {
    const factory = factories.get(resolved);
    if (!factory) {
      throw new Error(
        `setBackend: unknown backend '${name}' (registered: ${registeredBackends().join(', ')})`,
      );
    }
    backend = await factory();
    instances.set(resolved, backend);
  }
  active = backend;
  return backend;
}

export function getBackend(): Backend {
  return active;
}

/** Runs `fn` with `backend` active, then restores the previous one. */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const prev = active;
  active = backend;
  try {
    return fn();
  } finally {
    active = prev;
  }
}

/** Creates (or returns the cached) backend without activating it. */
export async function loadBackend(name: string): Promise<Backend> {
  let b = instances.get(name);
  if (!b) {
    const factory = factories.get(name);
    if (!factory) throw new Error(`loadBackend: unknown backend '${name}'`);
    b = await factory();
    instances.set(name, b);
  }
  return b;
}
