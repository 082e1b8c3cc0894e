#!/usr/bin/env bash
# Train the whole zoo: the evaluator, then the three models side by side (they are small
# enough to share one GPU), then evaluate them. Usage: training/train_zoo.sh DATA_DIR [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/mnist-10k}
OUT=${2:-runs}
python3 -m training.train_classifier --data "$DATA" --name mnist
pids=()
for m in vanilla-mnist dcgan-mnist cgan-mnist; do
  python3 -m training.train "training/configs/$m.yaml" "data=$DATA" "out=$OUT/$m" > "$OUT-$m.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
python3 -m training.evaluate "$OUT"/vanilla-mnist "$OUT"/dcgan-mnist "$OUT"/cgan-mnist --data "$DATA" --out "$OUT/eval"
