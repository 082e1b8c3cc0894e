#!/usr/bin/env bash
# The checks that need a GPU, as one prepared command of at most 7 minutes for a session that is
# lent one (the device tool in /work/.library: 10 minutes a command, 15 minutes a session).
#
# Here, once (.data/ is git-ignored; ../shared does not travel):
#   mkdir -p .data && cp -r /usr/share/datasets/fashion-mnist ../shared/data/mnist-10k .data/
# Then:
#   run(command="bash training/device_check.sh", carry=[".data"], timeout_s=480)
# and, back here, unpack the runs to evaluate, card or resume them on the CPU:
#   mkdir -p runs && cat FILES_AT/runs.tgz.part-* | tar xz -C runs
#
# Every step has its own time limit (at most 420 s in all) and writes what it measured into $OUT as it
# goes, so a step that runs out of time loses only itself:
#   summary.txt        the GPU, each step's exit status and time, test verdicts, the figures
#   tests.log          the tests written for a GPU (bf16 + channels_last resume, CUDA-graph step, devices)
#   runs.tgz.part-*    the dcgan-mnist recipe from scratch (exported and evaluated; no checkpoint)
#                      and the FASHION_RUNS dcgan-fashion runs side by side (with resumable
#                      checkpoints), in 15 MiB parts: at most 6 of them, so the defaults are one
#                      run at twice the width (a 64 MB checkpoint) and one at the recipe's (19 MB)
# summary.txt also holds benchmarks/train_throughput.py's table: the reference loop against the
# trainer (CUDA graph, eager, bf16 at batch 1024, the full recipe).
# The steps run in this order: throughput and the dcgan-mnist recipe alone (their timings are the
# figures), then the tests while the dcgan-fashion runs train, then the evaluations.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=. PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1
OUT=${OUT:-runs/device-check}
DATA=${DATA:-.data}
BENCH_ARGS=${BENCH_ARGS:---steps 300 --warmup 50}
MNIST_ARGS=${MNIST_ARGS:-}                 # overrides of the dcgan-mnist recipe (the CPU dry run shrinks it)
FASHION_RUNS=${FASHION_RUNS:-"epochs=166 model.ngf=128 model.ndf=128|epochs=166 seed=1"}   # '|' between runs' overrides
LIMITS=${LIMITS:-"60 70 40 170 25"}         # throughput, mnist recipe, its evaluation, tests + fashion runs, each fashion evaluation
read -r LIMIT_BENCH LIMIT_MNIST LIMIT_EVAL LIMIT_TESTS LIMIT_FEVAL <<< "$LIMITS"
mkdir -p "$OUT" runs/gpu
summary="$OUT/summary.txt"

step() {   # step NAME SECONDS COMMAND...: run it with a time limit, note its exit status and time
  local name=$1 limit=$2 t0=$SECONDS rc
  shift 2
  timeout "$limit" "$@"
  rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s (limit $limit s)" >> "$summary"
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$summary" 2>&1

step throughput "$LIMIT_BENCH" python3 benchmarks/train_throughput.py --data "$DATA/mnist-10k" $BENCH_ARGS \
  >> "$summary" 2>&1

step mnist_recipe "$LIMIT_MNIST" python3 -m training.train training/configs/dcgan-mnist.yaml data="$DATA/mnist-10k" \
  $MNIST_ARGS --out runs/gpu/dcgan-mnist --overwrite > runs/gpu/dcgan-mnist.log 2>&1
cat runs/gpu/dcgan-mnist/train_summary.json >> "$summary" 2>/dev/null
step mnist_eval "$LIMIT_EVAL" python3 -m training.evaluate runs/gpu/dcgan-mnist --data "$DATA/mnist-10k" \
  --evaluator mnist -n 5000 --out runs/gpu/eval > runs/gpu/dcgan-mnist-eval.log 2>&1
grep -a "fid" runs/gpu/dcgan-mnist-eval.log | tail -n 2 >> "$summary"
rm -f runs/gpu/dcgan-mnist/checkpoint.safetensors                 # its figures are the point, not a resume

# The dcgan-fashion runs train side by side on the one GPU while the tests run; SIGTERM at the
# limit keeps each run's last checkpoint (every 1,000 steps), resumable with --resume.
i=0
IFS='|' read -ra runs <<< "$FASHION_RUNS"
for overrides in "${runs[@]}"; do
  i=$((i + 1))
  ( step "fashion_$i ($overrides)" "$LIMIT_TESTS" python3 -m training.train training/configs/dcgan-fashion.yaml \
      data="$DATA/fashion-mnist" $overrides --out "runs/gpu/dcgan-fashion-$i" --overwrite \
      > "runs/gpu/dcgan-fashion-$i.log" 2>&1 ) &
done
step tests "$LIMIT_TESTS" python3 -m pytest -q -p no:cacheprovider -o addopts= -m "not slow" -rs \
  -k "gpu or another_kind_of_device or static_inputs or resumed_optimizer or different_precision" \
  tests/test_hub.py tests/test_train.py > "$OUT/tests.log" 2>&1
tail -n 3 "$OUT/tests.log" >> "$summary"
wait
for run in runs/gpu/dcgan-fashion-*/; do
  [ -f "$run/model.safetensors" ] || step "export $run" 15 python3 -m training.export_checkpoint "$run" --out "$run" >> "$summary" 2>&1
  step "fashion_eval $run" "$LIMIT_FEVAL" python3 -m training.evaluate "$run" --data "$DATA/fashion-mnist" \
    --evaluator fashion -n 5000 --out runs/gpu/eval > "$run/evaluate.log" 2>&1
  grep -a "fid" "$run/evaluate.log" | tail -n 1 >> "$summary"
done
tar czf - -C runs gpu | split -b 15M - "$OUT/runs.tgz.part-"
ls -la "$OUT" >> "$summary"
cat "$summary"
