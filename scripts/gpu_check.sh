#!/usr/bin/env bash
# Every CUDA path once, on one GPU, and the speed targets measured in the same run as the plain-loop reference.
#
#   DATA_ROOT=/path/to/data bash scripts/gpu_check.sh            # on a machine with one NVIDIA GPU
#   ACCELERATOR=cpu STEPS=2 BENCH_STEPS=2 EVAL_NUM=50 CONFIGS=demo \
#     BENCH_ARGS="--width 8 --image_size 16 --fid_samples 20 --only dcgan,fid" bash scripts/gpu_check.sh  # a CPU dry run
#
# For every config: a short fit (--trainer.devices 1; the config's dataset under DATA_ROOT when it is there,
# else the demo shapes in its place), a resume of it from last.ckpt, the same in bf16 with channels_last;
# then scripts/sample.py and scripts/evaluate.py on a checkpoint, and scripts/benchmark.py with the targets.
# Each line of the table at the end is one check: ok or FAILED, seconds, and the log to read.
set -uo pipefail
cd "$(dirname "$0")/.."

ACCELERATOR=${ACCELERATOR:-gpu}
DATA_ROOT=${DATA_ROOT:-data}
STEPS=${STEPS:-20}
BENCH_STEPS=${BENCH_STEPS:-200}
EVAL_NUM=${EVAL_NUM:-1000}
BENCH_ARGS=${BENCH_ARGS:-}
OUT=${OUT:-gpu_check}
CONFIGS=${CONFIGS:-$(basename -s .yaml configs/*.yaml)}
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: >"$RESULTS"

check() {  # check NAME COMMAND...: run it, log it, one line in the table
  local name=$1; shift
  local log="$OUT/$name.log" start=$SECONDS
  if "$@" >"$log" 2>&1; then status=ok; else status=FAILED; fi
  printf '%-44s %-7s %5ss  %s\n' "$name" "$status" "$((SECONDS - start))" "$log" | tee -a "$RESULTS"
}

data_args() {  # the config's own data when its files are under DATA_ROOT, else the demo shapes at its size
  local config=$1 found=0
  case $config in
    pokemon*) [ -e "$DATA_ROOT/pokemon.zip" ] || [ -d "$DATA_ROOT/pokemon" ] && found=1 ;;
    flowers*) [ -e "$DATA_ROOT/flower_photos.tgz" ] || [ -d "$DATA_ROOT/flower_photos" ] && found=1 ;;
    mnist) [ -d "$DATA_ROOT/MNIST/raw" ] && found=1 ;;
    fashion_mnist) [ -d "$DATA_ROOT/FashionMNIST/raw" ] && found=1 ;;
    cifar10*) [ -e "$DATA_ROOT/cifar-10-python.tar.gz" ] || [ -d "$DATA_ROOT/cifar-10-batches-py" ] && found=1 ;;
    celeba) [ -d "$DATA_ROOT/celeba" ] && found=1 ;;
    demo) found=1 ;;
  esac
  if [ $found = 1 ]; then
    echo --data.root "$DATA_ROOT"
  else
    echo --data gan_lightning.data.DemoDataModule --data.num_images 2048
  fi
}

fit() {  # fit CONFIG NAME [extra args]: STEPS generator steps, FID on 256 samples at the end
  local config=$1 name=$2; shift 2
  # shellcheck disable=SC2046
  python scripts/fit.py --config "configs/$config.yaml" $(data_args "$config") --name "$name" \
    --trainer.accelerator "$ACCELERATOR" --trainer.devices 1 --trainer.max_steps "$STEPS" --trainer.max_epochs -1 \
    --trainer.default_root_dir "$OUT/runs" --trainer.enable_progress_bar false \
    --fid.num_samples 256 --fid.real_max_images 1024 --checkpoint.every_n_train_steps 10 "$@"
}

resume() {  # resume CONFIG NAME [extra args]: continue NAME's run to 2 x STEPS
  local config=$1 name=$2; shift 2
  fit "$config" "$name" --ckpt_path last --trainer.max_steps $((2 * STEPS)) "$@"
}

for config in $CONFIGS; do
  check "fit $config" fit "$config" "$config"
  check "resume $config" resume "$config" "$config"
  fast=(--trainer.precision bf16-mixed --model.channels_last true)
  check "fit $config bf16 channels_last" fit "$config" "${config}_bf16" "${fast[@]}"
  check "resume $config bf16 channels_last" resume "$config" "${config}_bf16" "${fast[@]}"
done

device=cuda; [ "$ACCELERATOR" = cpu ] && device=cpu
ckpt=$(ls -t "$OUT"/runs/pokemon/version_*/checkpoints/last.ckpt 2>/dev/null | head -n 1)
check "sample.py" python scripts/sample.py --ckpt "$ckpt" --num 64 --out "$OUT/grid.png" --device "$device"
check "evaluate.py" python scripts/evaluate.py --ckpt "$ckpt" --num "$EVAL_NUM" --metrics fid,kid,prdc --device "$device"
# shellcheck disable=SC2086
check "benchmark.py" python scripts/benchmark.py --device "$device" --steps "$BENCH_STEPS" $BENCH_ARGS \
  --data_root "$DATA_ROOT" --out "$OUT/benchmark.json" --markdown "$OUT/benchmark.md" \
  --target 'dcgan.fit.images_per_s>=40000' --target 'dcgan_bf16.fit.images_per_s>=100000' \
  --target 'wgan_gp.fit.gen_it_per_s>=36' --target 'fid.seconds_10k<=3' \
  --target 'dcgan.time_ratio<=1.05' --target 'wgan_gp.time_ratio<=1.05'

echo
echo "== $(grep -c ' ok ' "$RESULTS") ok, $(grep -c FAILED "$RESULTS") failed; benchmark table: $OUT/benchmark.md"
[ -f "$OUT/benchmark.md" ] && cat "$OUT/benchmark.md"
! grep -q FAILED "$RESULTS"
