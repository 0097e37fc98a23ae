/** The model `npm start` runs on; made by scripts/make-t2-tiny.sh. */
export const BUNDLED_MODEL = 'models/t2-tiny';

/**
 * What to tell a user whose model or experts folder is missing: the one command that makes
 * the bundled model, and the steps it runs (scripts/make-t2-tiny.sh holds the exact flags).
 */
export function missingModelMessage(opts: {
  model: string;
  expertsDir: string;
  missing: 'model' | 'experts';
}): string {
  const { model, expertsDir, missing } = opts;
  const what =
    missing === 'model'
      ? `${model} does not exist (or has no config.json).`
      : `${expertsDir} has no experts (*.safetensors).`;
  const lines = [
    `t2 quickstart: ${what}`,
    '',
    'The quickstart runs Transformer² on a small base model and its SVF experts:',
    `  ${model}/                 a Hugging Face folder (config.json, model.safetensors, tokenizer.json)`,
    `  ${expertsDir}/   arith, string, logic .safetensors (one expert per category) + classifier.safetensors`,
    '',
  ];
  if (model === BUNDLED_MODEL) {
    lines.push(
      'Make the bundled one on this machine (no network; see the script for the exact flags):',
      '  npm run build && bash scripts/make-t2-tiny.sh',
      '',
      'which runs, in order:',
      '  t2 pretrain --out <stage 1> …                               # the skills, from scratch',
      '  t2 pretrain --init <stage 1> --out models/t2-tiny …          # competing answer conventions',
      '  t2 rl --model models/t2-tiny --task arith|string|logic …    # one SVF expert per domain',
      '  t2 rl --model models/t2-tiny --data <classification JSONL> --label classifier …',
      '                                                              # the classification expert',
      `and copies the experts to ${BUNDLED_MODEL}/experts/{arith,string,logic,classifier}.safetensors.`,
      '',
      'Or run on your own model: t2 quickstart --model DIR [--experts DIR]',
    );
  } else {
    lines.push(
      'Train the experts of your model with t2 rl (one per --task arith, string, logic, and a',
      'classifier with --data on classification prompts and --label classifier), copy each',
      `expert.safetensors to ${expertsDir}/<name>.safetensors, or pass --experts DIR.`,
      'scripts/make-t2-tiny.sh shows the whole recipe.',
    );
  }
  return `${lines.join('\n')}\n`;
}
