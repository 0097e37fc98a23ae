import type { WorkerClient } from '../client';
import type { TrainMethodInfo } from '../protocol';
import { h } from './dom';

/** The train view's method select, filled from the list the worker reads off the registry. */
export interface MethodChoice {
  select: HTMLSelectElement;
  /** The selected method, once the list has arrived. */
  current(): TrainMethodInfo | undefined;
  /** The method called `name`, once the list has arrived. */
  get(name: string | null): TrainMethodInfo | undefined;
  /** Resolves with the list when it is in the select (rejects when the worker fails). */
  ready: Promise<TrainMethodInfo[]>;
}

/** Options carry the method's name as value and its summary as tooltip. */
export function methodChoice(client: WorkerClient, props: Record<string, string>): MethodChoice {
  const select = h('select', props);
  const byName = new Map<string, TrainMethodInfo>();
  const ready = client.request({ type: 'trainMethods' }).then((list) => {
    for (const m of list) byName.set(m.name, m);
    select.replaceChildren(
      ...list.map((m) => h('option', { value: m.name, title: m.summary }, m.label)),
    );
    return list;
  });
  return {
    select,
    current: () => byName.get(select.value),
    get: (name) => (name === null ? undefined : byName.get(name)),
    ready,
  };
}
