#!/usr/bin/env bash
# Set up ActionLab in ./.venv (once; again only when the dependencies change), then run the
# command given, inside that environment. Usage:
#   bash scripts/bootstrap.sh kedro run      # the main job on the built-in videos
#   bash scripts/bootstrap.sh pytest         # the test suite
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
stamp_src=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)

if [ ! -f "$VENV/.actionlab-$stamp_src" ]; then
  echo "[bootstrap] creating $VENV and installing ActionLab (first run takes a few minutes)"
  "$PYTHON" -m venv "$VENV"
  pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -c constraints.txt)
  "${pip[@]}" -U pip setuptools wheel
  # torch first and pinned: nothing later may pull another build
  "${pip[@]}" torch==2.14.1 torchvision==0.29.1
  "${pip[@]}" -e ".[dev]"
  # sam2 builds against the torch above; its isolated build would fetch another torch
  SAM2_BUILD_CUDA=0 "${pip[@]}" --no-build-isolation sam2==1.1.0
  rm -f "$VENV"/.actionlab-*
  touch "$VENV/.actionlab-$stamp_src"
fi

export PATH="$PWD/$VENV/bin:$PATH" KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 MPLBACKEND=Agg
[ $# -eq 0 ] && exit 0
exec "$@"
