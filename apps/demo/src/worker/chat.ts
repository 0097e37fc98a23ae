import { inject, type SvfExpert, type SvfModel } from '@t2/adapters-svf';
import { generateBatch, type LlamaForCausalLM, type TextTokenizer } from '@t2/llama';
import { classificationPrompt, parseCategory } from '@t2/tasks';
import {
  type AlphaTable,
  adaptSvfModel,
  ExpertRegistry,
  type GenerateOptions,
  llamaTextModel,
  type SvfAdaptableModel,
  type SvfComposition,
  type TextModel,
  Transformer2Runtime,
} from '@t2/transformer2-runtime';
import type { ChatStrategy, ChatTrace, ExpertInfo, WorkerEvent } from '../protocol';

/** The Transformer² side of a loaded model: SVF layers, experts and the two-pass runtime. */
export interface ChatSession {
  svf: SvfModel;
  runtime: Transformer2Runtime<SvfExpert, SvfComposition>;
  experts: ExpertInfo[];
  strategies: ChatStrategy[];
  /** Answers a prompt, streaming pass 1's decision and then pass 2's tokens through `emit`. */
  answer(
    prompt: string,
    opts: { strategy: ChatStrategy; label?: string; maxNewTokens: number },
    emit: (e: WorkerEvent) => void,
  ): Promise<{ output: string; trace: ChatTrace }>;
}

/**
 * Generation that streams a chosen prompt's tokens: the runtime calls `generate` for
 * pass 1 (the classification prompt) and pass 2 (the user's prompt), and only pass 2 is
 * the answer the user watches appear.
 */
function streamingText(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  hooks: { streamPrompt: string | null; onPass2Start(): void; onToken(text: string): void },
): TextModel & { lastOutput: string | undefined } {
  const plain = llamaTextModel(model, tokenizer);
  const text = {
    lastOutput: undefined as string | undefined,
    async generate(prompts: readonly string[], opts: GenerateOptions = {}): Promise<string[]> {
      const streamed = prompts.length === 1 && prompts[0] === hooks.streamPrompt;
      if (!streamed) {
        const out = await plain.generate(prompts, opts);
        text.lastOutput = out[0];
        return out;
      }
      hooks.onPass2Start();
      const ids = tokenizer.encode(prompts[0]!);
      const [result] = generateBatch(model, [ids], {
        maxNewTokens: opts.maxNewTokens ?? 64,
        stopStrings: opts.stop,
        temperature: opts.temperature,
        topP: opts.topP,
        seed: opts.seed,
        tokenizer,
        onToken: (e) => {
          if (e.text) hooks.onToken(e.text);
        },
      });
      return [result?.text ?? ''];
    },
    score: (requests: Parameters<TextModel['score']>[0]) => plain.score(requests),
  };
  return text;
}

/**
 * Injects SVF layers on the weights the experts adapt and wires the runtime. Experts must
 * adapt the same weights and carry this model's fingerprint (when they record one).
 */
export async function createChat(
  model: LlamaForCausalLM,
  tokenizer: TextTokenizer,
  experts: ReadonlyMap<string, SvfExpert>,
  folderName: string,
): Promise<ChatSession> {
  const entries = [...experts];
  if (entries.length === 0) throw new Error(`${folderName}: no experts (experts/*.safetensors)`);
  const [firstName, first] = entries[0]!;
  const targets = [...first.z.keys()];
  for (const [name, e] of entries) {
    const t = [...e.z.keys()];
    if (t.length !== targets.length || t.some((p) => !first.z.has(p))) {
      throw new Error(
        `${folderName}/experts/${name}.safetensors adapts other weights than experts/${firstName}.safetensors; experts that are mixed must adapt the same weights`,
      );
    }
  }
  const svf = await inject(model, { targetModules: targets, maxMult: first.maxMult });
  for (const [name, e] of entries) {
    const fp = e.meta.baseFingerprint;
    if (fp !== undefined && fp !== svf.baseFingerprint) {
      throw new Error(
        `${folderName}/experts/${name}.safetensors was made for another base model (fingerprint ${fp.slice(0, 12)}…, this model ${svf.baseFingerprint.slice(0, 12)}…)`,
      );
    }
  }

  const registry = new ExpertRegistry<SvfExpert>();
  for (const [name, expert] of entries) {
    const label = expert.meta.task ?? name;
    const role = name === 'classifier' || label === 'classifier' ? 'classifier' : 'task';
    registry.add({ name, label, role, expert, source: `experts/${name}.safetensors` });
  }

  const hooks = {
    streamPrompt: null as string | null,
    onPass2Start: () => {},
    onToken: (_: string) => {},
  };
  const text = streamingText(model, tokenizer, hooks);
  const adaptable: SvfAdaptableModel = adaptSvfModel(svf, text);
  // What the runtime installs for pass 2 is what pass 1 decided; remember α per composition.
  const alphaOf = new WeakMap<SvfComposition, AlphaTable>();
  let installed: SvfComposition | null = null;
  const watched: SvfAdaptableModel = {
    ...adaptable,
    compose(list, alpha) {
      const w = adaptable.compose(list, alpha);
      alphaOf.set(w, alpha);
      return w;
    },
    use(w) {
      installed = w;
      adaptable.use(w);
    },
  };
  const runtime = new Transformer2Runtime<SvfExpert, SvfComposition>({
    model: watched,
    registry,
    classification: { prompt: classificationPrompt, parse: parseCategory },
  });
  const taskExperts = registry.taskExperts();
  const strategies: ChatStrategy[] = ['prompt'];
  if (registry.classifier()) strategies.push('classifier');
  strategies.push('oracle', 'none');

  const alphaRecord = (): Record<string, number> | null => {
    if (installed === null) return null;
    const table = alphaOf.get(installed);
    if (!table) return null;
    const perExpert = (table as readonly (number | readonly number[])[]).map((row) =>
      typeof row === 'number' ? row : row.reduce((s, v) => s + v, 0) / row.length,
    );
    return Object.fromEntries(taskExperts.map((e, k) => [e.name, perExpert[k] ?? 0]));
  };

  return {
    svf,
    runtime,
    strategies,
    experts: [
      ...registry.taskExperts(),
      ...(registry.classifier() ? [registry.classifier()!] : []),
    ].map((e) => ({ name: e.name, label: e.label, role: e.role })),
    async answer(prompt, opts, emit) {
      const t0 = performance.now();
      text.lastOutput = undefined;
      hooks.streamPrompt = prompt;
      hooks.onPass2Start = () => {
        const pass1Output =
          opts.strategy === 'prompt' || opts.strategy === 'classifier'
            ? text.lastOutput
            : undefined;
        emit({
          event: 'pass1',
          trace: {
            strategy: opts.strategy,
            label:
              pass1Output !== undefined
                ? parseCategory(pass1Output, registry.labels())
                : opts.strategy === 'oracle'
                  ? opts.label
                  : undefined,
            alpha: alphaRecord(),
            ...(pass1Output !== undefined && { pass1Output }),
            pass1Ms: performance.now() - t0,
          },
        });
      };
      hooks.onToken = (t) => emit({ event: 'token', text: t });
      try {
        const { output, trace } = await runtime.generate(prompt, {
          strategy: opts.strategy,
          label: opts.label,
          generate: { maxNewTokens: opts.maxNewTokens, stop: ['\n'] },
        });
        return {
          output,
          trace: {
            strategy: opts.strategy,
            label: trace.label,
            alpha: trace.alpha,
            pass1Output: trace.pass1Output,
            timings: {
              pass1Ms: trace.timings.pass1Ms,
              composeMs: trace.timings.composeMs,
              pass2Ms: trace.timings.pass2Ms,
              totalMs: trace.timings.totalMs,
            },
          },
        };
      } finally {
        hooks.streamPrompt = null;
      }
    },
  };
}
