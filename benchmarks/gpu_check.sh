#!/usr/bin/env bash
# GPU check: the efficiency figures and the CUDA code paths that CI (CPU only) never exercises.
#
#   bash benchmarks/gpu_check.sh                 # on a machine with a CUDA GPU (about 8 minutes at most)
#   DEVICE=cuda:1 bash benchmarks/gpu_check.sh   # another GPU
#   DEVICE=cpu bash benchmarks/gpu_check.sh      # dry run: the same steps on the CPU at tiny sizes
#
# Steps (each prints its output and its wall time):
#   1. the efficiency table (`python -m benchmark profile`) of dmnet, red, dmnet-tiny and red-tiny at
#      640x480: parameters, FLOPs, latency (CUDA-synchronised, median of RUNS timed runs after WARMUP)
#      and peak allocated memory. dmnet and red are measured with their initial weights: latency,
#      memory and FLOPs do not depend on the weight values.
#   2. the peak memory of one RED training step (128x128 crops, batch 4, T = 2) with reversible
#      backprop ("both") and without it ("none"), via benchmarks/red_memory.py;
#   3. a `run` of dmnet-tiny on the embedded synthetic pairs with the fuser on the GPU and the metrics
#      on CPU workers (--batch-size on the device).
#
# Environment: DEVICE (default cuda), PYTHON (default python), BATCH_SIZE (default 4). Exit codes: 0 done;
# 2 the installed `benchmark` lacks an option this script uses; 3 no CUDA device; any other: the
# failing step's own exit code. Record the figures in benchmarks/README.md with the GPU's name.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
DEVICE=${DEVICE:-cuda}
BATCH_SIZE=${BATCH_SIZE:-4}

fail() { echo "error: $2" >&2; exit "$1"; }

case "$DEVICE" in
    cuda*)
        "$PY" - "$DEVICE" <<'EOF' || fail 3 "no CUDA device for DEVICE=$DEVICE (see above); this script measures a GPU. DEVICE=cpu runs the same steps on the CPU at tiny sizes"
import sys
import torch
dev = sys.argv[1]
index = int(dev.split(":")[1]) if ":" in dev else 0
if not torch.cuda.is_available():
    sys.exit(f"torch {torch.__version__} (CUDA build: {torch.version.cuda or 'none'}) sees no CUDA device")
if index >= torch.cuda.device_count():
    sys.exit(f"{dev}: only {torch.cuda.device_count()} CUDA device(s) visible")
print(f"{dev}: {torch.cuda.get_device_name(index)}; torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
        SIZE=640x480 RUNS=20 WARMUP=5 RED_SIZE=128 RED_BATCH=4 RED_VARIANT=full PAIRS=8 ;;
    cpu)
        echo "DEVICE=cpu: dry run of every step at tiny sizes (no figure of this run is a GPU figure)"
        SIZE=64x48 RUNS=2 WARMUP=0 RED_SIZE=32 RED_BATCH=1 RED_VARIANT=tiny PAIRS=2 ;;
    *)
        fail 2 "DEVICE: expected cuda, cuda:N or cpu, got '$DEVICE'" ;;
esac

# Every option used below must exist in this checkout (a renamed flag fails here, not after minutes).
RUN_FLAGS=(--datasets --fusers --device --limit --jobs --batch-size --out --leaderboard --no-plots --no-progress)
PROFILE_FLAGS=(--fusers --size --runs --warmup --device)
run_help=$("$PY" -m benchmark run --help)
profile_help=$("$PY" -m benchmark profile --help)
for flag in "${RUN_FLAGS[@]}"; do
    grep -q -- "$flag\b" <<<"$run_help" || fail 2 "'python -m benchmark run' has no option $flag (this script needs it)"
done
for flag in "${PROFILE_FLAGS[@]}"; do
    grep -q -- "$flag\b" <<<"$profile_help" || fail 2 "'python -m benchmark profile' has no option $flag (this script needs it)"
done

step() {
    local title=$1 t0=$SECONDS
    shift
    echo
    echo "== $title"
    "$@"
    echo "   ($((SECONDS - t0)) s)"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "$(date -u +%FT%TZ) $(uname -m); $(nproc) CPU threads"
[[ $DEVICE == cuda* ]] && command -v nvidia-smi >/dev/null && nvidia-smi -L

step "1. efficiency at $SIZE on $DEVICE (latency: median of $RUNS synchronised runs)" \
    "$PY" -m benchmark profile --fusers dmnet red dmnet-tiny red-tiny --size "$SIZE" --device "$DEVICE" \
    --runs "$RUNS" --warmup "$WARMUP"
step "2. RED training step, ${RED_SIZE}x${RED_SIZE}, batch $RED_BATCH, T=2: reversible (both) vs plain (none)" \
    "$PY" benchmarks/red_memory.py --variant "$RED_VARIANT" --size "$RED_SIZE" --batch "$RED_BATCH" \
    --modes both,none --device "$DEVICE" --json "$tmp/red_memory.json"
step "3. run: dmnet-tiny on $DEVICE (batch $BATCH_SIZE), metrics on 2 CPU workers, $PAIRS synthetic pairs" \
    "$PY" -m benchmark run --datasets synthetic --fusers dmnet-tiny --device "$DEVICE" --limit "$PAIRS" \
    --jobs 2 --batch-size "$BATCH_SIZE" --out "$tmp/results" --leaderboard "$tmp/leaderboard.md" \
    --no-plots --no-progress
grep -A6 -- "^## Synthetic" "$tmp/leaderboard.md"
echo
echo "gpu_check: done in $SECONDS s"
