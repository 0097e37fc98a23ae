import { InputError } from '@t2/tensor-core';

/** An expert known to the runtime: a name, the category it serves, and its weights. */
export interface RegisteredExpert<E> {
  /** Unique name (e.g. the file stem `math`). */
  name: string;
  /** The category label the router picks it by (e.g. `math`). */
  label: string;
  /**
   * `task` experts are mixed for pass 2; the `classifier` expert runs pass 1 of the
   * classification-expert strategy and is never mixed into answers.
   */
  role: 'task' | 'classifier';
  expert: E;
  /** Where it was loaded from, for messages. */
  source?: string;
}

/** A set of experts that cannot work together (duplicate names or labels, two classifiers). */
export class ExpertSetError extends InputError {
  override name = 'ExpertSetError';
}

/**
 * Named experts with category labels. Task experts keep their insertion order, which is
 * the order of α's coefficients.
 */
export class ExpertRegistry<E> {
  private readonly byName = new Map<string, RegisteredExpert<E>>();

  constructor(experts: Iterable<RegisteredExpert<E>> = []) {
    for (const e of experts) this.add(e);
  }

  add(entry: RegisteredExpert<E>): this {
    // Messages start with the expert's file when it came from one.
    const fail = (msg: string): never => {
      throw new ExpertSetError(`${entry.source ? `${entry.source}: ` : ''}${msg}`);
    };
    if (!entry.name) fail('an expert needs a name');
    if (this.byName.has(entry.name)) {
      const prev = this.byName.get(entry.name)!;
      fail(
        `a second expert named '${entry.name}'${prev.source ? ` (the first is ${prev.source})` : ''}; expert names must differ`,
      );
    }
    if (entry.role === 'task') {
      if (!entry.label) fail(`task expert '${entry.name}' has no category label`);
      const same = this.taskExperts().find((e) => e.label === entry.label);
      if (same) {
        fail(
          `experts '${same.name}'${same.source ? ` (${same.source})` : ''} and '${entry.name}' both claim category '${entry.label}'; a label must pick one expert`,
        );
      }
    } else if (entry.role === 'classifier') {
      const other = this.classifier();
      if (other)
        fail(
          `a second classification expert ('${other.name}'${other.source ? ` in ${other.source}` : ''} and '${entry.name}'); there may be one`,
        );
    } else {
      fail(
        `expert '${entry.name}' has unknown role '${String(entry.role)}' (expected task or classifier)`,
      );
    }
    this.byName.set(entry.name, entry);
    return this;
  }

  get(name: string): RegisteredExpert<E> | undefined {
    return this.byName.get(name);
  }

  /** The experts that answers mix, in α order. */
  taskExperts(): RegisteredExpert<E>[] {
    return [...this.byName.values()].filter((e) => e.role === 'task');
  }

  /** Category labels of the task experts, in α order. */
  labels(): string[] {
    return this.taskExperts().map((e) => e.label);
  }

  /** Index in α of the task expert serving `label` (case-insensitive), or -1. */
  indexOfLabel(label: string): number {
    const l = label.toLowerCase();
    return this.taskExperts().findIndex((e) => e.label.toLowerCase() === l);
  }

  classifier(): RegisteredExpert<E> | undefined {
    return [...this.byName.values()].find((e) => e.role === 'classifier');
  }

  get size(): number {
    return this.byName.size;
  }
}
