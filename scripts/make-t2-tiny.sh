#!/usr/bin/env bash
# Recreates models/t2-tiny, the model `npm start` (t2 quickstart) runs on: a small LLaMA
# pretrained from scratch on the @t2/tasks mixture, and its Transformer² experts. Everything
# is trained on this machine; nothing is downloaded.
#
#   npm run build && bash scripts/make-t2-tiny.sh        # the full recipe (long on 2 CPU cores)
#   QUICK=1 OUT=/tmp/t2-tiny bash scripts/make-t2-tiny.sh  # tiny settings: checks the recipe runs
#
# Steps:
#   1. t2 pretrain        stage 1, skills: the expert domains with canonical answers and
#                         classification prompts (about 45 minutes on 2 cores)
#   2. t2 pretrain --init stage 2, conventions: the same tasks with 65% of the answers in a
#                         competing convention the rewards refuse (47.0, "cba", (T)), and the
#                         held-out families shout, big and end (two domains' conventions at
#                         once); about 15 minutes
#   3. t2 probe           headroom check before spending compute on experts
#   4. t2 rl --task       one SVF expert per domain: arith (category math), string, logic, with
#                         the reference recipe (t2 rl's defaults); each keeps the best of step 0
#                         and every 20th step on 500 validation problems
#   5. t2 rl --data       the classification expert, on classification prompts
#                         ("Category of: …\nOptions: math, string, logic\nAnswer: " → category)
#   6. copy               $OUT/experts/{arith,string,logic,classifier}.safetensors
#
# Environment: OUT (default models/t2-tiny), WORK (runs, logs; default out/make-t2-tiny),
# QUICK=1 (tiny settings), BACKEND (tensor backend for pretraining; default wasm),
# STAGE1=DIR (reuse a stage-1 model instead of pretraining one: the committed model's stage 1 is
# models/t2-tiny as of commit 77ce73c, `git show 77ce73c:models/t2-tiny/model.safetensors`),
# SKIP_PRETRAIN=1 (reuse the base model already in $OUT and retrain only the experts).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-models/t2-tiny}
WORK=${WORK:-out/make-t2-tiny}
BACKEND=${BACKEND:-wasm}
T2=(node apps/cli/dist/main.js)

# The recipe of the committed model. Stage 1 is the model of 2026-11-23; stage 2 continues it.
STAGE1_FLAGS=(--steps 1800 --batch 16 --seq 128 --lr 3e-3 --dim 96 --layers 4 --heads 4
  --kv-heads 2 --hidden 256 --problems 150000 --classification 15000 --seed 0 --eval-n 200)
STAGE2_FLAGS=(--steps 600 --batch 16 --seq 128 --lr 1e-3 --problems 60000 --held-out 20000
  --classification 10000 --distractor-rate 0.65 --seed 1 --eval-n 200)
# t2 rl's defaults are the reference recipe (Adam lr 2e-3, greedy answers, clip 1e-3, 200
# steps); batch 32 instead of 256 and validation every 20 steps on 500 problems.
RL_FLAGS=(--validate-every 20 --val-size 500)
CLASSIFIER_FLAGS=(--validate-every 20)
CLASSIFICATION_PROMPTS=4000
if [[ -n "${QUICK:-}" ]]; then
  STAGE1_FLAGS=(--steps 30 --problems 2000 --classification 200 --dim 32 --layers 2
    --heads 4 --kv-heads 2 --hidden 64 --eval-n 5)
  STAGE2_FLAGS=(--steps 10 --problems 1000 --held-out 300 --classification 100
    --distractor-rate 0.65 --eval-n 5)
  RL_FLAGS=(--steps 2 --batch 4 --validate-every 1 --val-size 4)
  CLASSIFIER_FLAGS=(--steps 2 --batch 4 --validate-every 1)
  CLASSIFICATION_PROMPTS=200
fi

if [[ ! -f apps/cli/dist/main.js || ! -f packages/tasks/dist/index.js ]]; then
  echo "== building (npm run build)"
  npm run build
fi

mkdir -p "$WORK"
if [[ -n "${SKIP_PRETRAIN:-}" && -f "$OUT/model.safetensors" ]]; then
  echo "== 1-2/6 keeping the pretrained base model in $OUT (SKIP_PRETRAIN)"
else
  if [[ -n "${STAGE1:-}" ]]; then
    echo "== 1/6 stage 1: reusing $STAGE1"
    stage1=$STAGE1
  else
    echo "== 1/6 stage 1 (skills) into $WORK/stage1"
    stage1=$WORK/stage1
    "${T2[@]}" pretrain --out "$stage1" --overwrite --backend "$BACKEND" "${STAGE1_FLAGS[@]}"
  fi
  echo "== 2/6 stage 2 (competing conventions, held-out families) into $OUT"
  "${T2[@]}" pretrain --init "$stage1" --out "$OUT" --overwrite --backend "$BACKEND" "${STAGE2_FLAGS[@]}"
fi

echo "== 3/6 headroom probe"
for task in arith string logic count; do
  "${T2[@]}" probe --model "$OUT" --task "$task" || true
done

mkdir -p "$OUT/experts"
for task in arith string logic; do
  echo "== 4/6 SVF expert for $task"
  "${T2[@]}" rl --model "$OUT" --task "$task" "${RL_FLAGS[@]}" --out "$WORK/rl-$task" --overwrite
done

echo "== 5/6 classification expert"
node --input-type=module -e "
import { classificationTask } from '@t2/tasks';
const lines = classificationTask({ n: ${CLASSIFICATION_PROMPTS}, seed: 0, split: 'train' })
  .map((s) => JSON.stringify({ prompt: s.prompt, answer: s.answer }));
process.stdout.write(lines.join('\n') + '\n');
" >"$WORK/classification.jsonl"
"${T2[@]}" rl --model "$OUT" --data "$WORK/classification.jsonl" --label classifier \
  "${CLASSIFIER_FLAGS[@]}" --out "$WORK/rl-classifier" --overwrite

echo "== 6/6 experts → $OUT/experts"
for name in arith string logic classifier; do
  cp "$WORK/rl-$name/expert.safetensors" "$OUT/experts/$name.safetensors"
done
ls -l "$OUT/experts"
echo "done: run it with  npm start  (or: node apps/cli/dist/main.js quickstart --model $OUT)"
