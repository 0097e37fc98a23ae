import { Linear, type Module } from '@t2/tensor-core';

/**
 * Which layers an adapter wraps, with PEFT's rule (`check_target_module_exists`), the one
 * rule of every t2 method: a string is a regular expression that must match the whole
 * dotted module name; a list matches a name exactly or as a dotted suffix (`q_proj`
 * matches `model.layers.0.self_attn.q_proj`, not `qq_proj`); `'all-linear'` is every
 * Linear layer except the output head (`lm_head`).
 */
export type TargetModules = string | readonly string[];

/**
 * `TargetModules`, where a list may also hold RegExp objects, tested with `RegExp.test`
 * on the dotted name (so unanchored ones match anywhere). Code only: files hold
 * `TargetModules`.
 */
export type TargetPatterns = TargetModules | readonly (string | RegExp)[];

export interface TargetSelection {
  targetModules: TargetPatterns;
  /** Names or a regex excluded after matching (PEFT's `exclude_modules`). */
  excludeModules?: TargetModules | null;
  /** Only layers with these indices, read from `<layersPattern>.<i>.` in the name. */
  layersToTransform?: number | readonly number[] | null;
  /** The container holding the numbered layers (default: any `<name>.<i>.`). */
  layersPattern?: string | readonly string[] | null;
}

/** Whether a module is an adapter wrapper: its insides must never be adapted again. */
export function isAdapterLayer(m: Module): boolean {
  return (m as { isAdapterLayer?: unknown }).isAdapterLayer === true;
}

function fullMatch(pattern: string, name: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(name);
}

/** Whether the module named `name` (dotted) is selected by `targets`: the one target rule. */
export function matchesTargetModules(name: string, targets: TargetPatterns): boolean {
  if (typeof targets === 'string') return fullMatch(targets, name);
  return targets.some((t) =>
    typeof t === 'string' ? name === t || name.endsWith(`.${t}`) : t.test(name),
  );
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function layerIndexOf(
  name: string,
  pattern: string | readonly string[] | null | undefined,
): number | null {
  const patterns = pattern == null ? [] : typeof pattern === 'string' ? [pattern] : pattern;
  const regexes = patterns.length
    ? patterns.map((p) => new RegExp(`^(?:.*\\.)?${escapeRegex(p)}\\.(\\d+)\\.`))
    : [/^(?:.*\.)?[^.]*\.(\d+)\./];
  for (const re of regexes) {
    const m = re.exec(name);
    if (m) return Number(m[1]);
  }
  return null;
}

/** The output head that `'all-linear'` leaves alone, as in PEFT. */
export const OUTPUT_HEAD = 'lm_head';

/**
 * Modules that are candidates for wrapping: plain Linear layers and existing wrappers
 * accepted by `isOwnWrapper` (to add a second adapter), never anything inside a wrapper.
 */
function candidates(model: Module, isOwnWrapper: (m: Module) => boolean): [string, Module][] {
  const out: [string, Module][] = [];
  const wrappers: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (name === '' || wrappers.some((w) => name.startsWith(`${w}.`))) continue;
    if (isAdapterLayer(m)) {
      wrappers.push(name);
      if (isOwnWrapper(m)) out.push([name, m]);
    } else if (m instanceof Linear) {
      out.push([name, m]);
    }
  }
  return out;
}

/**
 * The dotted names of the layers selected by `sel`, in model order. Throws when a
 * named target is not a Linear layer or when nothing matches.
 */
export function findTargetModules(
  model: Module,
  sel: TargetSelection,
  isOwnWrapper: (m: Module) => boolean = () => false,
): string[] {
  const chosen = selectTargetModules(model, sel, isOwnWrapper);
  if (chosen.length === 0) {
    throw new Error(
      `target modules: ${JSON.stringify(sel.targetModules)} matched no Linear layer of the model` +
        (sel.layersToTransform != null
          ? ` in layers [${[sel.layersToTransform].flat().join(', ')}]`
          : ''),
    );
  }
  return chosen;
}

/** `findTargetModules`, returning [] instead of throwing when nothing matches. */
export function selectTargetModules(
  model: Module,
  sel: TargetSelection,
  isOwnWrapper: (m: Module) => boolean = () => false,
): string[] {
  const pool = candidates(model, isOwnWrapper);
  let targets: TargetPatterns = sel.targetModules;
  if (targets === 'all-linear') {
    targets = [...new Set(pool.map(([n]) => n.split('.').pop()!).filter((n) => n !== OUTPUT_HEAD))];
  }
  if (typeof targets === 'string' && sel.layersToTransform != null) {
    throw new Error(
      'target modules: layersToTransform cannot be combined with a regex targetModules',
    );
  }
  const layerSet =
    sel.layersToTransform == null
      ? null
      : new Set(
          typeof sel.layersToTransform === 'number'
            ? [sel.layersToTransform]
            : sel.layersToTransform,
        );
  const poolNames = new Set(pool.map(([n]) => n));
  const chosen: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (name === '' || !matchesTargetModules(name, targets)) continue;
    if (sel.excludeModules != null && matchesTargetModules(name, sel.excludeModules)) continue;
    if (layerSet && typeof targets !== 'string') {
      const idx = layerIndexOf(name, sel.layersPattern);
      if (idx === null || !layerSet.has(idx)) continue;
    }
    if (!poolNames.has(name)) {
      // A match inside an adapter wrapper (its base_layer, its adapter weights) is not a target.
      if ([...poolNames].some((p) => name.startsWith(`${p}.`))) continue;
      if (isAdapterLayer(m)) {
        throw new Error(`target modules: '${name}' is already wrapped by another kind of adapter`);
      }
      throw new Error(
        `target modules: '${name}' is a ${m.constructor.name}; only Linear layers can be adapted`,
      );
    }
    chosen.push(name);
  }
  return chosen;
}
