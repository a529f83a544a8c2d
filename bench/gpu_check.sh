#!/usr/bin/env bash
# The GPU checks, in one short run (< 5 minutes on one H100/H200): each recommender and the
# simulator on CUDA against the CPU — speed-ups, and that both devices give the same results.
#
# On a machine without CUDA every script says so and exits 0. On the lent device machine
# (Python 3.12 with CUDA torch, no Polars and no network) carry Polars as wheels in .whl/:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_17_x86_64 -d .whl polars==2.1.0 polars-runtime-32==2.1.0
# then run:  bash bench/gpu_check.sh   (output also lands in $OUT when that is set)
set -u -o pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -d .whl ] && ! "$PY" -c "import polars" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/kpc-site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/kpc-site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
out=${OUT:-/tmp}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import torch, polars; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| polars', polars.__version__)"
status=0
echo "== simulator (bench/gpu_simulate.py)"
timeout 150 "$PY" bench/gpu_simulate.py 2>&1 | tee "$out/gpu_simulate.txt" || status=1
echo "== recommenders (bench/gpu_recommend.py)"
timeout 200 "$PY" bench/gpu_recommend.py 2>&1 | tee "$out/gpu_recommend.txt" || status=1
exit $status
