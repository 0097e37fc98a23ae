import type { Backend } from './backend';
import { createJsBackend } from './js/index';

/**
 * js: t2's plain TypeScript kernels; wasm: t2's WebAssembly SIMD kernels; gpujs-*: gpu.js's
 * kernels in one of its modes; auto picks by measurement.
 */
export type BackendName =
  | 'js'
  | 'wasm'
  | 'gpujs-cpu'
  | 'gpujs-webasm'
  | 'gpujs-headlessgl'
  | 'gpujs-webgl2'
  | 'gpujs-webgl'
  | 'auto';

/** Old names still accepted, with a warning, and the new name each stands for. */
const renamed = new Map<string, string>();
const warnedRenames = new Set<string>();
/** Names that are not backends, with why (`setBackend` says so instead of "unknown"). */
const refused = new Map<string, string>();

/** Accepts `oldName` for `newName` for one release, warning once (the gpu.js module's old names). */
export function registerBackendAlias(oldName: string, newName: string): void {
  renamed.set(oldName, newName);
}

/** Makes `setBackend(name)` explain why `name` is not a backend (e.g. gpu.js's async WebGPU). */
export function refuseBackend(name: string, why: string): void {
  refused.set(name, why);
}

/** The registered name `name` stands for (an old name is mapped and warned about once). */
function current(name: string, caller: string): string {
  if (factories.has(name)) return name;
  const why = refused.get(name);
  if (why !== undefined) throw new Error(`${caller}: '${name}' is not a backend: ${why}`);
  const now = renamed.get(name);
  if (now === undefined) return name;
  if (!warnedRenames.has(name)) {
    warnedRenames.add(name);
    console.warn(
      `${caller}: backend '${name}' is now called '${now}'; the old name goes in the next release`,
    );
  }
  return now;
}

type Factory = () => Backend | Promise<Backend>;

const factories = new Map<string, Factory>([['js', createJsBackend]]);
const instances = new Map<string, Backend>();
/** Kernel calls each backend instance has run, by backend name (see `kernelCalls`). */
const calls = new Map<string, number>();
let active: Backend = counted('js', createJsBackend());
instances.set('js', active);
let autoChooser: (() => Promise<string>) | null = null;
/** Whether a backend was chosen (`setBackend`); until then `useDefaultBackend` picks 'auto'. */
let chosen = false;

/**
 * Counts the calls of every kernel of `backend` (the decode kernel sets it hands out
 * included) under `name`, so that a program can tell which backend computed, not only
 * which one was asked for. A call costs one increment.
 */
function counted(name: string, backend: Backend): Backend {
  calls.set(name, calls.get(name) ?? 0);
  const b = backend as unknown as Record<string, unknown>;
  const count = <F extends (...args: never[]) => unknown>(fn: F): F =>
    function (this: unknown, ...args: Parameters<F>) {
      calls.set(name, calls.get(name)! + 1);
      return fn.apply(this, args);
    } as F;
  for (const key of Object.keys(b)) {
    const d = Object.getOwnPropertyDescriptor(b, key);
    if (!d || typeof d.value !== 'function' || !d.writable) continue;
    if (key === 'decodeKernels') {
      const make = d.value as () => Record<string, unknown>;
      b[key] = () => {
        const kernels = make();
        for (const k of Object.keys(kernels)) {
          const f = kernels[k];
          if (typeof f === 'function') kernels[k] = count(f as (...args: never[]) => unknown);
        }
        return kernels;
      };
    } else if (!['dispose', 'workerChunks', 'holds'].includes(key)) {
      b[key] = count(d.value as (...args: never[]) => unknown);
    }
  }
  return backend;
}

/**
 * Kernel calls run so far on each backend created through this registry, by name
 * (`setBackend`, `loadBackend`, `auto`'s measurements included): what computed.
 */
export function kernelCalls(): Record<string, number> {
  return Object.fromEntries(calls);
}

/** Sets every count of `kernelCalls` back to 0 (e.g. after `auto` has measured). */
export function resetKernelCalls(): void {
  for (const name of calls.keys()) calls.set(name, 0);
}

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
 * Switches the backend used by every op from now on (default 'auto'). Asynchronous because a GPU
 * backend has to create its context (and `auto` measures the candidates).
 */
export async function setBackend(name: BackendName | string = 'auto'): Promise<Backend> {
  let resolved = current(name, 'setBackend');
  if (name === 'auto') resolved = autoChooser ? await autoChooser() : 'js';
  let backend = instances.get(resolved);
  if (!backend) {
    const factory = factories.get(resolved);
    if (!factory) {
      throw new Error(
        `setBackend: unknown backend '${name}' (registered: ${registeredBackends().join(', ')})`,
      );
    }
    backend = counted(resolved, await factory());
    instances.set(resolved, backend);
  }
  active = backend;
  chosen = true;
  return backend;
}

/**
 * The library default: 'auto' (the fastest backend measured here) unless a backend was
 * chosen with `setBackend` already. The model loaders call it, so a program that loads
 * a model computes on the fast backend without asking; one that wants the plain-JS
 * reference says `setBackend('js')` first.
 */
export async function useDefaultBackend(): Promise<Backend> {
  return chosen ? active : setBackend('auto');
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
export async function loadBackend(asked: string): Promise<Backend> {
  const name = current(asked, 'loadBackend');
  let b = instances.get(name);
  if (!b) {
    const factory = factories.get(name);
    if (!factory) throw new Error(`loadBackend: unknown backend '${name}'`);
    b = counted(name, await factory());
    instances.set(name, b);
  }
  return b;
}
