#!/usr/bin/env bash
# The checks that need a GPU, as one prepared command for a session that is lent one (the device
# tool in /work/.library; one command may run 10 minutes, a session has 15 minutes of device time).
#
# Here, once (.data/ is git-ignored; ../shared does not travel):
#   mkdir -p .data && cp -r /usr/share/datasets/fashion-mnist ../shared/data/mnist-10k .data/
# Then:
#   run(command="bash training/device_check.sh", carry=[".data"], timeout_s=600)
# and, back here, put the run together again to evaluate or resume it on the CPU:
#   mkdir -p runs/wide-gpu && cat FILES_AT/run.tgz.part-* | tar xz -C runs/wide-gpu
#
# There, python3 has torch, accelerate, safetensors, huggingface_hub, pytest and numpy; the
# checkout runs with PYTHONPATH=. What it measured comes back under $OUT (8 files at most, 16 MiB
# each), so the run's folder travels as one tarball split into 15 MiB parts:
#   summary.txt     the GPU, each step's exit status and time, the tests' verdicts, sampling speed
#   tests.log       the tests written for this machine: the GPU path, a checkpoint between devices
#   eval.json       training/evaluate.py on the run's exported generator
#   run.tgz.part-*  the training run (log, samples, loss curve, export, checkpoint for --resume)
# Each step has its own time limit so that the whole fits one command. WIDE_ARGS and TRAIN_S change
# the training run (default: the dcgan-fashion recipe at twice the width, ngf = ndf = 128), TESTS
# and TESTS_K the tests (TESTS_K=" " runs every test in TESTS).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=. PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1
OUT=${OUT:-runs/device-check}
WIDE_ARGS=${WIDE_ARGS:-model.ngf=128 model.ndf=128 mixed_precision=bf16 epochs=150 checkpoint_every=2000}
TRAIN_S=${TRAIN_S:-270}   # with the other limits (120 + 45 + 45 + 75 s) inside one 600 s command
TESTS=${TESTS:-tests/test_hub.py tests/test_train.py}
TESTS_K=${TESTS_K:-gpu or another_kind_of_device}   # the tests that exist for this machine
RUN=runs/wide-gpu
mkdir -p "$OUT" runs
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

step tests 120 python3 -m pytest -q -p no:cacheprovider -o addopts= -m "not slow" -rs -k "$TESTS_K" $TESTS > "$OUT/tests.log" 2>&1
tail -n 3 "$OUT/tests.log" >> "$summary"

step sample_speed 45 python3 benchmarks/sample_speed.py --device cuda --repeats 20 >> "$summary" 2>&1

# SIGTERM at the limit: the run keeps its last checkpoint (every 2,000 steps), resumable with --resume.
step train "$TRAIN_S" python3 -m training.train training/configs/dcgan-fashion.yaml \
  data=.data/fashion-mnist $WIDE_ARGS --out "$RUN" > "$RUN.log" 2>&1
tail -c 2000 "$RUN.log" | tr '\r' '\n' | tail -n 2 >> "$summary"
if [ ! -f "$RUN/model.safetensors" ]; then
  step export 45 python3 -m training.export_checkpoint "$RUN" >> "$summary" 2>&1
fi
model=$(ls -d "$RUN"/step-* 2>/dev/null | tail -n 1)
[ -f "$RUN/model.safetensors" ] && model=$RUN
if [ -n "$model" ]; then
  step evaluate 75 python3 -m training.evaluate "$model" --data .data/fashion-mnist --evaluator fashion \
    --out "$OUT/eval" > "$RUN/evaluate.log" 2>&1
  grep -a "INFO" "$RUN/evaluate.log" | tail -n 1 >> "$summary"
  cp "$OUT"/eval/*.json "$OUT/eval.json" 2>/dev/null && rm -rf "$OUT/eval"
fi
cp "$RUN.log" "$RUN/train.log"
tar czf - -C "$RUN" . | split -b 15M - "$OUT/run.tgz.part-"
ls -la "$OUT" >> "$summary"
cat "$summary"
