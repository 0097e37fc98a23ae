import * as bone from '@t2/adapters-bone';
import * as lora from '@t2/adapters-lora';
import { saveHfFolder } from '@t2/llama';
import { installAdapter } from './adapters';
import { loadModelForCli, parseFlags } from './model-path';
import { type Command, UsageError } from './types';

export const merge: Command = {
  name: 'merge',
  summary: 'Merge PEFT adapters into the base weights and save a plain Hugging Face folder',
  usage: 't2 merge --model PATH --adapter DIR [--adapter DIR …] --out DIR',
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      out: { type: 'string' },
    });
    if (!values.adapter?.length) throw new UsageError('--adapter DIR is required');
    if (!values.out) throw new UsageError('--out DIR is required');
    const { model } = await loadModelForCli(values.model, {
      adapters: values.adapter,
      installAdapter,
    });
    // Merging is idempotent per adapter: fold every stacked adapter in, then unwrap the layers.
    for (const h of [bone.boneModelOf(model), lora.loraModelOf(model)]) {
      if (!h) continue;
      for (const name of h.adapterNames) h.merge(name);
      h.mergeAndUnload();
    }
    await saveHfFolder(model, values.out);
    io.stdout(`merged ${values.adapter.length} adapter(s) into ${values.out}\n`);
    return 0;
  },
};
