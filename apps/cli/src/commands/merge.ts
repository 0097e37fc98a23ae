import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import { saveHfFolder } from '@t2/llama';
import { installAdapter } from './adapters';
import { loadModelForCli, parseFlags } from './model-path';
import { claimOutputDir } from './output-dir';
import { type Command, UsageError } from './types';

export const merge: Command = {
  name: 'merge',
  summary: 'Merge PEFT adapters into the base weights and save a plain Hugging Face folder',
  usage: 't2 merge --model PATH --adapter DIR [--adapter DIR …] --out DIR [--overwrite]',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      out: { type: 'string' },
      overwrite: { type: 'boolean', default: false },
    });
    if (!values.adapter?.length) throw new UsageError('--adapter DIR is required');
    if (!values.out) throw new UsageError('--out DIR is required');
    // Never over the base model or an adapter; a non-empty folder only with --overwrite.
    const outDir = await claimOutputDir(values.out, {
      command: 't2 merge',
      overwrite: values.overwrite,
      inputs: [
        { flag: '--model', path: values.model },
        ...values.adapter.map((a) => ({ flag: '--adapter', path: a })),
      ],
    });
    try {
      await mergeInto(values.model, values.adapter, values.out);
    } finally {
      await outDir.release();
    }
    io.stdout(`merged ${values.adapter.length} adapter(s) into ${values.out}\n`);
    return 0;
  },
};

async function mergeInto(modelPath: string | undefined, adapters: string[], out: string) {
  const { model } = await loadModelForCli(modelPath, {
    adapters,
    installAdapter,
  });
  // Merging is idempotent per adapter: fold every stacked adapter in, then unwrap the layers.
  for (const h of [bone.boneModelOf(model), lora.loraModelOf(model)]) {
    if (!h) continue;
    for (const name of h.adapterNames) h.merge(name);
    h.mergeAndUnload();
  }
  await saveHfFolder(model, out);
}
