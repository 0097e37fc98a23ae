import type { Capabilities } from './backends';
import type { WorkerClient } from './client';
import type { BackendInfo, ModelInfo } from './protocol';

/** State shared by the views; `window.t2demo` exposes it to the end-to-end tests. */
export interface App {
  client: WorkerClient;
  capabilities: Capabilities;
  backend: BackendInfo | null;
  model: ModelInfo | null;
  /** Views re-render their model-dependent parts when the model changes. */
  onModel(listener: (model: ModelInfo | null) => void): void;
  setModel(model: ModelInfo | null): void;
  /** A message in the status line (errors in red). */
  status(text: string, kind?: 'info' | 'error'): void;
}

export function createApp(
  client: WorkerClient,
  capabilities: Capabilities,
  status: App['status'],
): App {
  const listeners: ((m: ModelInfo | null) => void)[] = [];
  const app: App = {
    client,
    capabilities,
    backend: null,
    model: null,
    onModel(listener) {
      listeners.push(listener);
    },
    setModel(model) {
      app.model = model;
      for (const l of listeners) l(model);
    },
    status,
  };
  return app;
}
