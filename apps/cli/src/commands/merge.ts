import { AdapterModel, adapterMethods } from '@t2/tuners';
import { installAdapter } from '../lib/adapters';
import { BACKEND_FLAG, backendUsage, useBackend } from '../lib/backend';
import { type Command, UsageError } from '../lib/command';
import { parseFlags } from '../lib/flags';
import { saveCompleteFolder } from '../lib/hf-out';
import { loadModelForCli } from '../lib/load-model';
import { peftMethods } from '../lib/methods';
import { claimOutputDir } from '../lib/output-dir';

export const merge: Command = {
  name: 'merge',
  summary: 'Merge PEFT adapters into the base weights and save a plain Hugging Face folder',
  // A getter: the methods come from the registry, plugins included.
  get usage() {
    const kinds = peftMethods()
      .map((m) => `${m.label} (${m.peftTypes.join(', ')})`)
      .join(', ');
    return (
      't2 merge --model PATH --adapter DIR [--adapter DIR …] --out DIR [--overwrite]\n\n' +
      '  --model PATH           the base model the adapters were trained on (Hugging Face folder)\n' +
      backendUsage() +
      '  --adapter DIR          PEFT adapter folder; repeatable: adapters of one kind stack,\n' +
      '                         different kinds may not share a module\n' +
      `                         methods: ${kinds}\n` +
      '  --out DIR              the merged model: a complete Hugging Face folder (config.json,\n' +
      "                         model.safetensors, the base model's tokenizer files and\n" +
      '                         generation_config.json, a README), for --model of any command\n' +
      '  --overwrite            replace the files of a non-empty --out folder (default: refuse)'
    );
  },
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' },
      adapter: { type: 'string', multiple: true },
      out: { type: 'string' },
      ...BACKEND_FLAG,
      overwrite: { type: 'boolean', default: false },
    });
    if (!values.adapter?.length) throw new UsageError('--adapter DIR is required');
    if (!values.out) throw new UsageError('--out DIR is required');
    await useBackend(values);
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
      await mergeInto(values.model, values.adapter, values.out, `t2 merge ${argv.join(' ')}`);
    } finally {
      await outDir.release();
    }
    io.stdout(`merged ${values.adapter.length} adapter(s) into ${values.out}\n`);
    return 0;
  },
};

async function mergeInto(
  modelPath: string | undefined,
  adapters: string[],
  out: string,
  command: string,
) {
  const { model, source } = await loadModelForCli(modelPath, {
    adapters,
    installAdapter,
  });
  // Merging is idempotent per adapter: fold every stacked adapter in, then unwrap the layers.
  for (const method of adapterMethods()) {
    const h = method.handleOf(model);
    if (!h) continue;
    if (h instanceof AdapterModel) for (const name of h.adapterNames) h.merge(name);
    h.mergeAndUnload();
  }
  // A complete folder: generate/eval need the tokenizer, as any Hugging Face loader does.
  await saveCompleteFolder(model, out, {
    source,
    madeBy: `${source} with the PEFT adapter${adapters.length > 1 ? 's' : ''} ${adapters.join(', ')} merged into its weights by \`t2 merge\`.`,
    command,
  });
}
