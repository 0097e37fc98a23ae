import { parseExpert, type SvfExpert } from '@t2/adapters-svf';
import {
  type LlamaConfig,
  type LlamaForCausalLM,
  modelFromHfTensors,
  TextTokenizer,
} from '@t2/llama';
import { parseSafetensors, Tensor } from '@t2/tensor-core';
import { type ModelSource, readJson, readText } from './source';

/** What a loaded folder holds, before anything is built on it. */
export interface LoadedFolder {
  name: string;
  config: unknown;
  generationConfig: unknown;
  /** The base weights as read; models are built on copies, so training never alters them. */
  tensors: Map<string, Tensor>;
  dtypes: Map<string, string>;
  tokenizer: TextTokenizer;
  /** Expert file stem → expert. */
  experts: Map<string, SvfExpert>;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

async function readWeights(
  src: ModelSource,
  say: (text: string) => void,
): Promise<{ tensors: Map<string, Tensor>; dtypes: Map<string, string> }> {
  say(`reading ${SINGLE}`);
  const single = await src.read(SINGLE);
  if (single) return parseSafetensors(single, `${src.name}/${SINGLE}`);
  const index = (await readJson(src, INDEX)) as { weight_map?: Record<string, string> } | undefined;
  if (!index) throw new Error(`${src.name}: no ${SINGLE} or ${INDEX} in this folder`);
  if (!index.weight_map || typeof index.weight_map !== 'object') {
    throw new Error(`${src.name}/${INDEX}: no weight_map`);
  }
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  for (const shard of [...new Set(Object.values(index.weight_map))].sort()) {
    say(`reading ${shard}`);
    const bytes = await src.read(shard);
    if (!bytes) throw new Error(`${src.name}/${INDEX} names shard '${shard}', which is missing`);
    const file = parseSafetensors(bytes, `${src.name}/${shard}`);
    for (const [name, t] of file.tensors) {
      tensors.set(name, t);
      dtypes.set(name, file.dtypes.get(name)!);
    }
  }
  return { tensors, dtypes };
}

/** Reads config, weights, tokenizer and experts of a Hugging Face folder. */
export async function loadFolder(
  src: ModelSource,
  say: (text: string) => void,
): Promise<LoadedFolder> {
  say('reading config.json');
  const config = await readJson(src, 'config.json');
  if (config === undefined) throw new Error(`${src.name}: no config.json in this folder`);
  const generationConfig = await readJson(src, 'generation_config.json');
  const { tensors, dtypes } = await readWeights(src, say);
  say('reading the tokenizer');
  const tokenizerJson = await readJson(src, 'tokenizer.json');
  if (tokenizerJson === undefined) {
    throw new Error(`${src.name}: no tokenizer.json; the demo works on text and needs one`);
  }
  const tokenizerConfig = (await readJson(src, 'tokenizer_config.json')) ?? {};
  const chatTemplate = (await readText(src, 'chat_template.jinja')) ?? undefined;
  const tokenizer = new TextTokenizer(
    tokenizerJson as object,
    tokenizerConfig as Record<string, unknown>,
    { chatTemplate, fileName: `${src.name}/tokenizer.json` },
  );
  const experts = new Map<string, SvfExpert>();
  for (const file of await src.experts()) {
    say(`reading experts/${file}`);
    const bytes = await src.read(`experts/${file}`);
    if (!bytes) throw new Error(`${src.name}/experts/${file}: listed but missing`);
    experts.set(
      file.replace(/\.safetensors$/, ''),
      parseExpert(bytes, `${src.name}/experts/${file}`),
    );
  }
  return { name: src.name, config, generationConfig, tensors, dtypes, tokenizer, experts };
}

/** A fresh model on copies of the folder's weights (adapters such as PiSSA rewrite the base). */
export function buildModel(folder: LoadedFolder): { model: LlamaForCausalLM; config: LlamaConfig } {
  const copies = new Map(
    [...folder.tensors].map(([name, t]) => [name, new Tensor(t.data.slice(), t.shape)]),
  );
  return modelFromHfTensors({
    config: folder.config,
    tensors: copies,
    dtypes: folder.dtypes,
    generationConfig: folder.generationConfig,
    fileName: `${folder.name}/${SINGLE}`,
  });
}
