// What the trainers (train-peft.ts, train-svf.ts) and their dispatcher (train.ts) share,
// apart from the dispatcher so that the trainers need not import it.
import type * as svf from '@t2/adapters-svf';
import type { LlamaForCausalLM, TextTokenizer } from '@t2/llama';
import type { TaskFamily } from '@t2/tasks';
import type { DownloadFile, TrainSettings, WorkerEvent } from '../protocol';

export interface TrainedAdapter {
  method: TrainSettings['method'];
  files(): DownloadFile[];
  /** SVF-REINFORCE only: the expert, labelled with the task's category. */
  expert?: svf.SvfExpert;
}

/** What a trainer gets: the run's settings and the shared evaluation and events. */
export interface TrainContext {
  model: LlamaForCausalLM;
  tokenizer: TextTokenizer;
  settings: TrainSettings;
  family: TaskFamily;
  baseName: string;
  emit(e: WorkerEvent): void;
  /** Aborted by the page's Stop: the trainer ends after the step it is in. */
  signal: AbortSignal;
  /** Greedy validation accuracy now (without gradients), sent to the page as trainEval. */
  evalNow(step: number): number;
  /** Whether an evaluation is due after `step` (the last step's is the final one). */
  due(step: number): boolean;
}

/** What a trainer hands back; `train` adds the final accuracy and the timing. */
export interface TrainerRun {
  steps: number;
  stopped: boolean;
  trainable: number;
  adapter: Omit<TrainedAdapter, 'method'>;
}
