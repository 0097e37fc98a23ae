import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expertDomains, mixableFamilies } from '@t2/tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyRuntime, type TinyRuntime, t2 } from './tiny-runtime';

let rt: TinyRuntime;

beforeAll(async () => {
  rt = await makeTinyRuntime();
});
afterAll(async () => {
  await rm(rt.dir, { recursive: true, force: true });
});

const STRATEGIES = ['none', 'prompt', 'classifier', 'few-shot', 'oracle'];
/** The tour's tasks: the expert domains and the held-out families a mixture can serve. */
const families = [...expertDomains, ...mixableFamilies];

function quick(out: string, extra: string[] = []): string[] {
  return [
    'quickstart',
    '--model',
    rt.model,
    '--per-task',
    '2',
    '--prompts',
    '2',
    '--shots',
    '2',
    '--cem-iterations',
    '1',
    '--population',
    '4',
    '--bone-steps',
    '2',
    '--bone-n',
    '4',
    '--cache',
    rt.cache,
    '--alpha-cache',
    join(rt.dir, 'quick-alpha.json'),
    '--out',
    out,
    ...extra,
  ];
}

describe('t2 quickstart', () => {
  it('tours experts, strategies, accuracy and a Bone adapter end to end', async () => {
    const out = join(rt.dir, 'out');
    const r = await t2(quick(out));
    expect(r.code, r.stderr).toBe(0);
    const s = r.stdout;
    expect(s).toMatch(
      /^t2 quickstart — Transformer² on .*model \([\d,]+ parameters, backend \w+\)\n/,
    );
    // 1. The experts, each with its category and role.
    expect(s).toMatch(/\n1\. The experts/);
    expect(s).toMatch(/\n {3}arith +math +pass 2 \(mixed by α\) +\d+ +[\d,]+\n/);
    expect(s).toMatch(/\n {3}classifier +— +pass 1 of the classifier strategy/);
    // 2. α per task as bars, searched on the first run.
    expect(s).toMatch(
      /\n2\. Few-shot adaptation: CEM searches α per task on 2 labelled validation examples/,
    );
    for (const f of families)
      expect(s).toMatch(new RegExp(`\\n {3}${f.name}(?: \\(held out\\))?: searched in `));
    expect(s).toMatch(/\n {5}arith \(math\) +[█░]{10} \d\.\d\d\n/);
    // 3. Two prompts (arith, then string), each answered with every strategy.
    expect(s).toMatch(/\n3\. Answers with each strategy/);
    const answerLines = s
      .split('\n')
      .filter((l) => /^ {5}(none|prompt|classifier|few-shot|oracle) /.test(l));
    expect(answerLines).toHaveLength(2 * STRATEGIES.length);
    expect(answerLines.map((l) => l.trim().split(/\s+/)[0])).toEqual([
      ...STRATEGIES,
      ...STRATEGIES,
    ]);
    for (const l of answerLines) expect(l).toMatch(/ [✓✗] .* \d+ ms$/);
    expect(s).toMatch(/\n {3}"\d+[+-]\d+=" {2}expected "\d+" {2}\(arith, category math\)\n/);
    // 4. The table: one row per strategy, one column per task, the gain over the base row.
    expect(s).toMatch(/\n4\. Accuracy on the test split: 2 problems per task/);
    expect(s).toMatch(
      /\n {3}strategy +arith +string +logic +shout\* +big\* +end\* +all +gain \[95% CI\] +routing +ms\/prompt\n/,
    );
    expect(s).toMatch(/\n {3}base \(none\) +(\d\.\d\d +){7}— +— +\d+\n/);
    for (const name of ['prompt', 'classifier', 'few-shot', 'oracle']) {
      expect(s).toMatch(
        new RegExp(
          `\\n {3}${name} +(\\d\\.\\d\\d +){7}[+-]\\d+\\.\\d \\[[+-]\\d+\\.\\d, [+-]\\d+\\.\\d\\] +(\\d\\.\\d\\d|—) +\\d+\\n`,
        ),
      );
    }
    expect(s).toMatch(/experiments\/REPORT\.md/);
    // 5. Bone: before/after and the PEFT folder.
    expect(s).toMatch(
      /\n5\. Fine-tuning a Bone adapter \(r 8, all linear layers\) on count \(held out: no expert covers it\) for 2 steps\n/,
    );
    expect(s).toMatch(/accuracy on 4 count test problems: before \d\.\d\d → after \d\.\d\d\n/);
    // The adapter's size as t2 train reports it: a share of the base model's parameters.
    expect(s).toMatch(
      / {3}[\d,]+ trainable parameters \(\d+\.\d\d% of the base model's [\d,]+\), \d+ training examples/,
    );
    const adapter = join(out, 'quickstart-bone');
    const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8'));
    expect(config.peft_type).toBe('BONE');
    expect(config.r).toBe(8);
    expect(existsSync(join(adapter, 'adapter_model.safetensors'))).toBe(true);
    expect(r.stderr).toMatch(/bone .* 2\/2 /);

    const report = JSON.parse(await readFile(join(out, 'quickstart.json'), 'utf8'));
    expect(Object.keys(report.accuracy)).toEqual(STRATEGIES);
    for (const row of Object.values(report.accuracy) as {
      all: number;
      perFamily: Record<string, number>;
    }[]) {
      expect(Object.keys(row.perFamily).sort()).toEqual(families.map((f) => f.name).sort());
      expect(row.all).toBeGreaterThanOrEqual(0);
    }
    expect(report.bone.before).toBeGreaterThanOrEqual(0);

    // The saved adapter loads back through the ordinary --adapter path.
    const again = await t2([
      'eval',
      '--model',
      rt.model,
      '--adapter',
      adapter,
      '--task',
      'count',
      '--n',
      '4',
      '--json',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).accuracy).toBe(report.bone.after);
  });

  it('reuses cached α on the next run and can leave out the Bone part', async () => {
    const out = join(rt.dir, 'out-2');
    const r = await t2(quick(out, ['--skip-bone', '--prompts', '0']));
    expect(r.code, r.stderr).toBe(0);
    for (const f of families)
      expect(r.stdout).toMatch(new RegExp(`\\n {3}${f.name}(?: \\(held out\\))?: from the cache`));
    expect(r.stdout).not.toMatch(/\n3\. /);
    expect(r.stdout).not.toMatch(/\n5\. /);
    expect(r.stderr).not.toMatch(/CEM/);
    expect(existsSync(join(out, 'quickstart-bone'))).toBe(false);
    expect(existsSync(join(out, 'quickstart.json'))).toBe(true);
  });

  it('skips the classifier strategy when the experts have no classifier', async () => {
    const r = await t2(
      quick(join(rt.dir, 'out-3'), [
        '--experts',
        rt.expertsWithoutClassifier,
        '--skip-bone',
        '--prompts',
        '1',
      ]),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /no classifier\.safetensors in .*: the classifier strategy is skipped/,
    );
    expect(r.stdout).not.toMatch(/\n {3}classifier +\d/);
  });

  it('explains how to make the bundled model when it is missing', async () => {
    // Tests run in apps/cli, where models/t2-tiny does not exist.
    const r = await t2(['quickstart']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^t2 quickstart: models\/t2-tiny does not exist/);
    expect(r.stderr).toContain('npm run build && bash scripts/make-t2-tiny.sh');
    expect(r.stderr).toMatch(/t2 pretrain --init <stage 1> --out models\/t2-tiny/);
    expect(r.stderr).toMatch(/t2 rl --model models\/t2-tiny --task arith\|string\|logic/);

    // The steps it names are the ones the script runs.
    const script = await readFile(
      new URL('../../../scripts/make-t2-tiny.sh', import.meta.url),
      'utf8',
    );
    expect(script).toMatch(/^OUT=\$\{OUT:-models\/t2-tiny\}$/m);
    expect(script).toMatch(/"\$\{T2\[@\]\}" pretrain --out "\$stage1"/);
    expect(script).toMatch(/"\$\{T2\[@\]\}" pretrain --init "\$stage1" --out "\$OUT"/);
    expect(script).toMatch(
      /for task in arith string logic; do\n.*\n {2}"\$\{T2\[@\]\}" rl --model "\$OUT" --task "\$task"/,
    );
    expect(script).toMatch(
      /rl --model "\$OUT" --data "\$WORK\/classification\.jsonl" --label classifier/,
    );
    expect(script).toMatch(
      /for name in arith string logic classifier; do\n {2}cp .* "\$OUT\/experts\/\$name\.safetensors"/,
    );

    const noExperts = await t2(['quickstart', '--model', rt.otherModel]);
    expect(noExperts.code).toBe(1);
    expect(noExperts.stderr).toMatch(/other\/experts has no experts \(\*\.safetensors\)/);
    expect(noExperts.stderr).toMatch(/t2 rl/);
  });
});
