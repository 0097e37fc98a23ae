/**
 * One example per command, printed at the end of `t2 <command> --help`: each runs as is from
 * the repository root on the bundled model (train.jsonl being the user's data).
 */
export const EXAMPLES: Record<string, string> = {
  quickstart: 't2 quickstart --skip-bone',
  logits: 't2 logits --model models/t2-tiny --prompt "12+35=" --json',
  generate: 't2 generate --model models/t2-tiny --prompt "12+35="',
  train:
    't2 train --model models/t2-tiny --method bone --data train.jsonl --steps 200 --out out/bone',
  merge: 't2 merge --model models/t2-tiny --adapter out/bone --out out/t2-tiny-bone',
  pretrain: 't2 pretrain --out models/my-tiny --steps 3000',
  rl: 't2 rl --model models/t2-tiny --task arith --steps 150 --out out/rl-arith',
  run: 't2 run --model models/t2-tiny --strategy prompt --prompt "12+35="',
  eval: 't2 eval --model models/t2-tiny --task arith --expert models/t2-tiny/experts/arith.safetensors',
};

/** The help text of a command: summary, usage with its options, and its example. */
export function commandHelp(command: { name: string; summary: string; usage: string }): string {
  const example = EXAMPLES[command.name];
  return `${command.summary}\n\nUsage: ${command.usage}\n${example ? `\nExample:\n  ${example}\n` : ''}`;
}
