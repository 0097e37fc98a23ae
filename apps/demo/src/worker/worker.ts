/**
 * The model worker: everything that computes (loading, Transformer² chat, training, SVD,
 * the kernel self-test) runs here so the page stays responsive.
 */
import type { SvfExpert } from '@t2/adapters-svf';
import type { LlamaForCausalLM } from '@t2/llama';
import {
  getBackend,
  gpuJsModeOf,
  gpuJsModeSupported,
  gpuJsUnsupportedReason,
  setBackend,
} from '@t2/tensor-core';
import type {
  BackendInfo,
  ModelInfo,
  ModelSourceSpec,
  ReplyOf,
  Request,
  WorkerEvent,
  WorkerMessage,
} from '../protocol';
import { runSelftest } from '../selftest/selftest';
import { benchGlTraining, benchWasmMatmul } from './bench';
import { type ChatSession, createChat } from './chat';
import { buildModel, type LoadedFolder, loadFolder } from './load';
import { trainMethods } from './methods';
import { openSource } from './source';
import { linearPaths, spectrum } from './spectrum';
import { type TrainedAdapter, train } from './train';

// The DOM and WebWorker libs cannot share one program; this is all the worker uses of its scope.
const scope = self as unknown as {
  postMessage(message: WorkerMessage): void;
  onmessage: ((e: MessageEvent<{ id: number; request: Request }>) => void) | null;
};

interface Session {
  folder: LoadedFolder;
  source: ModelSourceSpec['kind'];
  model: LlamaForCausalLM;
  chat: ChatSession | null;
  chatError?: string;
  loadMs: number;
}

let session: Session | null = null;
let trained: TrainedAdapter | null = null;
/** The running training's Stop: set while a run goes. */
let stopTraining: AbortController | null = null;

const emit = (event: WorkerEvent) => scope.postMessage({ id: null, event } satisfies WorkerMessage);
const say = (text: string) => emit({ event: 'progress', text });

function need(): Session {
  if (!session) throw new Error('no model loaded yet');
  return session;
}

/** The order the page falls back in when a backend cannot run here. */
const FALLBACKS = ['gpujs-webgl2', 'gpujs-webgl', 'gpujs-webasm', 'js'] as const;

async function switchBackend(name: string, webgpuAdapter: string | null): Promise<BackendInfo> {
  try {
    await setBackend(name);
    return { active: getBackend().name, requested: name };
  } catch (err) {
    const reason =
      name === 'webgpu' && !gpuJsModeSupported('webgpu')
        ? gpuJsUnsupportedReason('webgpu')!
        : (err as Error).message;
    for (const fallback of FALLBACKS) {
      const mode = gpuJsModeOf(fallback);
      if (mode && !gpuJsModeSupported(mode)) continue;
      try {
        await setBackend(fallback);
        const adapter = name === 'webgpu' && webgpuAdapter ? ` (adapter: ${webgpuAdapter})` : '';
        return {
          active: getBackend().name,
          requested: name,
          note:
            name === 'webgpu' && webgpuAdapter
              ? `webgpu${adapter}: chat and training need synchronous kernels, and gpu.js's WebGPU kernels are asynchronous, so the model computes on ${fallback}; the kernels tab runs tensor-core's kernel suite on WebGPU.`
              : `${name} cannot run t2's kernels here${adapter}: ${reason}. Falling back to ${fallback}.`,
        };
      } catch {
        // Try the next one; js always works.
      }
    }
    throw err;
  }
}

function modelInfo(s: Session): ModelInfo {
  const c = s.model.config;
  return {
    name: s.folder.name,
    source: s.source,
    parameters: s.model.numParameters(),
    layers: c.numHiddenLayers,
    hiddenSize: c.hiddenSize,
    vocabSize: c.vocabSize,
    experts: s.chat?.experts ?? [],
    svfTargets: s.chat ? s.chat.svf.targets : linearPaths(s.model),
    strategies: s.chat?.strategies ?? [],
    ...(s.chatError !== undefined && { chatUnavailable: s.chatError }),
    loadMs: s.loadMs,
  };
}

/** A model on the folder's weights with the folder's experts (when it has any) wired for chat. */
async function openSession(
  folder: LoadedFolder,
  source: ModelSourceSpec['kind'],
  started: number,
): Promise<Session> {
  say('building the model');
  const { model } = buildModel(folder);
  let chat: ChatSession | null = null;
  let chatError: string | undefined;
  if (folder.experts.size > 0) {
    say('decomposing the adapted weights (SVD)');
    chat = await createChat(model, folder.tokenizer, folder.experts, folder.name);
  } else {
    chatError = `${folder.name} has no experts (experts/*.safetensors): train an SVF expert first`;
  }
  return { folder, source, model, chat, chatError, loadMs: performance.now() - started };
}

function spectrumExperts(s: Session): { name: string; label: string; expert: SvfExpert }[] {
  const list = [...s.folder.experts].map(([name, expert]) => ({
    name,
    label: expert.meta.task ?? name,
    expert,
  }));
  if (trained?.expert) {
    list.push({
      name: 'trained here',
      label: trained.expert.meta.task ?? 'trained',
      expert: trained.expert,
    });
  }
  return list;
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case 'setBackend':
      return switchBackend(req.name, req.webgpuAdapter);
    case 'load': {
      const started = performance.now();
      const folder = await loadFolder(openSource(req.source), say);
      session = await openSession(folder, req.source.kind, started);
      trained = null;
      return modelInfo(session);
    }
    case 'trainMethods':
      return trainMethods();
    case 'chat': {
      const s = need();
      if (!s.chat) throw new Error(s.chatError ?? 'chat is not available for this model');
      return s.chat.answer(
        req.prompt,
        { strategy: req.strategy, label: req.label, maxNewTokens: req.maxNewTokens },
        emit,
      );
    }
    case 'train': {
      const s = need();
      if (stopTraining) throw new Error('a training run is already going');
      const stop = new AbortController();
      stopTraining = stop;
      try {
        const { model } = buildModel(s.folder);
        const run = await train(
          model,
          s.folder.tokenizer,
          req.settings,
          s.folder.name,
          emit,
          stop.signal,
        );
        trained = run.adapter;
        return run.result;
      } finally {
        stopTraining = null;
      }
    }
    case 'stopTraining':
      stopTraining?.abort();
      return null;
    case 'download':
      if (!trained) throw new Error('nothing trained yet');
      return trained.files();
    case 'useTrainedExpert': {
      const s = need();
      const expert = trained?.expert;
      if (!expert) throw new Error('train an SVF expert first (method svf-reinforce)');
      const label = expert.meta.task ?? 'trained';
      const experts = new Map(
        [...s.folder.experts].filter(([name, e]) => (e.meta.task ?? name) !== label),
      );
      experts.set(label, expert);
      const started = performance.now();
      const next = await openSession({ ...s.folder, experts }, s.source, started);
      session = next;
      return modelInfo(next);
    }
    case 'spectrum': {
      const s = need();
      return spectrum(req.weight, s.model, s.chat?.svf ?? null, spectrumExperts(s));
    }
    case 'selftest':
      return runSelftest(req.backend, 'worker', { only: req.only, variant: req.variant });
    case 'bench':
      return req.which === 'gl-training'
        ? benchGlTraining(req.seconds)
        : benchWasmMatmul(req.seconds);
  }
}

scope.onmessage = async (e) => {
  const { id, request } = e.data;
  try {
    const value = (await handle(request)) as ReplyOf<typeof request.type>;
    scope.postMessage({ id, ok: true, value } satisfies WorkerMessage);
  } catch (err) {
    const error = err instanceof Error ? err.message || String(err) : String(err);
    const stack = err instanceof Error ? err.stack : undefined;
    scope.postMessage({ id, ok: false, error, stack } satisfies WorkerMessage);
  }
};
