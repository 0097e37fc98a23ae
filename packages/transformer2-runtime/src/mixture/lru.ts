/** Counters of a `CompositionCache`: `compositions` grows only on a miss. */
export interface CompositionStats {
  hits: number;
  misses: number;
  compositions: number;
  evictions: number;
  size: number;
  capacity: number;
}

/**
 * Least-recently-used cache of composed weights keyed by mixture: switching back to a
 * recent α (or repeating a prompt) reuses the weights instead of recomposing them.
 */
export class CompositionCache<W> {
  private readonly entries = new Map<string, W>();
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(
    readonly capacity: number,
    /** Called with an entry that falls out of the cache, e.g. to free its tensors. */
    private readonly onEvict?: (weights: W) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new Error(`CompositionCache: capacity must be an integer ≥ 1, got ${capacity}`);
    }
  }

  /** The weights for `key`, composed by `compose` only when they are not cached. */
  get(key: string, compose: () => W): { weights: W; hit: boolean } {
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      this.hits++;
      // Re-inserting moves the key to the most-recent end of the Map's order.
      this.entries.delete(key);
      this.entries.set(key, cached);
      return { weights: cached, hit: true };
    }
    this.misses++;
    const weights = compose();
    this.entries.set(key, weights);
    while (this.entries.size > this.capacity) {
      const [oldKey, oldWeights] = this.entries.entries().next().value as [string, W];
      this.entries.delete(oldKey);
      this.evictions++;
      this.onEvict?.(oldWeights);
    }
    return { weights, hit: false };
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Drops every entry (calling `onEvict` on each). */
  clear(): void {
    for (const w of this.entries.values()) this.onEvict?.(w);
    this.entries.clear();
  }

  stats(): CompositionStats {
    return {
      hits: this.hits,
      misses: this.misses,
      compositions: this.misses,
      evictions: this.evictions,
      size: this.entries.size,
      capacity: this.capacity,
    };
  }
}
