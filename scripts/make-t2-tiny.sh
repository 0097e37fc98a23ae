#!/usr/bin/env bash
# Recreates models/t2-tiny, the model `npm start` (t2 quickstart) runs on: a small LLaMA
# pretrained from scratch on the @t2/tasks mixture, and its Transformer² experts. Everything
# is trained on this machine; nothing is downloaded.
#
#   npm run build && bash scripts/make-t2-tiny.sh        # the full recipe (long on 2 CPU cores)
#   QUICK=1 OUT=/tmp/t2-tiny bash scripts/make-t2-tiny.sh  # tiny settings: checks the recipe runs
#
# Steps:
#   1. t2 pretrain        the base model (a Hugging Face folder with a character tokenizer)
#   2. t2 rl --task       one SVF expert per domain: arith (category math), string, logic;
#                         each run keeps the expert with the best validation accuracy
#   3. t2 rl --data       the classification expert, on classification prompts
#                         ("Category of: …\nOptions: math, string, logic\nAnswer: " → category)
#   4. copy               $OUT/experts/{arith,string,logic,classifier}.safetensors
#
# Environment: OUT (default models/t2-tiny), WORK (RL runs, logs; default out/make-t2-tiny),
# QUICK=1 (tiny settings), BACKEND (tensor backend for pretraining; default wasm),
# SKIP_PRETRAIN=1 (reuse the base model already in $OUT and retrain only the experts).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-models/t2-tiny}
WORK=${WORK:-out/make-t2-tiny}
BACKEND=${BACKEND:-wasm}
T2=(node apps/cli/dist/main.js)

# The recipe of the committed model (about 45 minutes of pretraining on 2 cores with the
# wasm backend). RL uses a larger learning rate than the paper's 2e-3: z starts at 0.1 and
# a few hundred steps at 2e-3 barely move the masks of a model this small.
PRETRAIN_FLAGS=(--steps 1800 --batch 16 --seq 128 --lr 3e-3 --dim 96 --layers 4 --heads 4
  --kv-heads 2 --hidden 256 --problems 150000 --classification 15000 --seed 0 --eval-n 200)
RL_FLAGS=(--steps 150 --batch 16 --lr 2e-2 --validate-every 15 --val-size 64)
CLASSIFIER_FLAGS=(--steps 100 --batch 16 --lr 2e-2 --validate-every 10)
CLASSIFICATION_PROMPTS=4000
if [[ -n "${QUICK:-}" ]]; then
  PRETRAIN_FLAGS=(--steps 30 --problems 2000 --classification 200 --dim 32 --layers 2
    --heads 4 --kv-heads 2 --hidden 64 --eval-n 5)
  RL_FLAGS=(--steps 2 --batch 4 --validate-every 1 --val-size 4)
  CLASSIFIER_FLAGS=(--steps 2 --batch 4 --validate-every 1)
  CLASSIFICATION_PROMPTS=200
fi

if [[ ! -f apps/cli/dist/main.js || ! -f packages/tasks/dist/index.js ]]; then
  echo "== building (npm run build)"
  npm run build
fi

if [[ -n "${SKIP_PRETRAIN:-}" && -f "$OUT/model.safetensors" ]]; then
  echo "== 1/4 keeping the pretrained base model in $OUT (SKIP_PRETRAIN)"
else
  echo "== 1/4 pretrain the base model into $OUT"
  # --overwrite: remaking the model replaces the one in $OUT (t2 refuses a non-empty folder).
  "${T2[@]}" pretrain --out "$OUT" --overwrite --backend "$BACKEND" "${PRETRAIN_FLAGS[@]}"
fi

mkdir -p "$WORK" "$OUT/experts"
for task in arith string logic; do
  echo "== 2/4 SVF expert for $task"
  "${T2[@]}" rl --model "$OUT" --task "$task" "${RL_FLAGS[@]}" --out "$WORK/rl-$task" --overwrite
done

echo "== 3/4 classification expert"
node --input-type=module -e "
import { classificationTask } from '@t2/tasks';
const lines = classificationTask({ n: ${CLASSIFICATION_PROMPTS}, seed: 0, split: 'train' })
  .map((s) => JSON.stringify({ prompt: s.prompt, answer: s.answer }));
process.stdout.write(lines.join('\n') + '\n');
" >"$WORK/classification.jsonl"
"${T2[@]}" rl --model "$OUT" --data "$WORK/classification.jsonl" --label classifier \
  "${CLASSIFIER_FLAGS[@]}" --out "$WORK/rl-classifier" --overwrite

echo "== 4/4 experts → $OUT/experts"
for name in arith string logic classifier; do
  cp "$WORK/rl-$name/expert.safetensors" "$OUT/experts/$name.safetensors"
done
ls -l "$OUT/experts"
echo "done: run it with  npm start  (or: node apps/cli/dist/main.js quickstart --model $OUT)"
