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
    const where = entry.source ? ` (${entry.source})` : '';
    if (!entry.name) throw new Error(`ExpertRegistry: an expert needs a name${where}`);
    if (this.byName.has(entry.name)) {
      const prev = this.byName.get(entry.name)!;
      throw new Error(
        `ExpertRegistry: two experts named '${entry.name}'${where}${prev.source ? ` and (${prev.source})` : ''}`,
      );
    }
    if (entry.role === 'task') {
      if (!entry.label)
        throw new Error(
          `ExpertRegistry: task expert '${entry.name}' has no category label${where}`,
        );
      const same = this.taskExperts().find((e) => e.label === entry.label);
      if (same) {
        throw new Error(
          `ExpertRegistry: experts '${same.name}' and '${entry.name}' both claim category '${entry.label}'; a label must pick one expert`,
        );
      }
    } else if (entry.role === 'classifier') {
      const other = this.classifier();
      if (other)
        throw new Error(
          `ExpertRegistry: two classification experts ('${other.name}' and '${entry.name}')`,
        );
    } else {
      throw new Error(
        `ExpertRegistry: expert '${entry.name}' has unknown role '${String(entry.role)}'`,
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
