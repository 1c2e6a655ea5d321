#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: system packages (Fashion-MNIST; Chromium for the report test),
# a virtual environment with the pinned torch/torchvision from the local wheel cache, and ganbench with its extras.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
WITH_TESTS=${WITH_TESTS:-0}

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

pkgs=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || pkgs+=(dataset-fashion-mnist)
if [ "$WITH_TESTS" = 1 ]; then
  command -v chromium >/dev/null || pkgs+=(chromium)
  command -v chromedriver >/dev/null || pkgs+=(chromium-driver)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "setup: apt-get install ${pkgs[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

stamp="$VENV/.ganbench-installed"
want="$(sha1sum pyproject.toml | cut -c1-40)-$WITH_TESTS"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# torch first and pinned, so no resolver ever picks a newer release
"$VENV/bin/pip" install -q torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v "^WARNING: Location" || true
extras=""
[ "$WITH_TESTS" = 1 ] && extras="[test,ray]"
"$VENV/bin/pip" install -q -e ".$extras" torch==2.14.1 torchvision==0.29.1 2>&1 | { grep -v "^WARNING: Location" || true; }
if [ "$WITH_TESTS" = 1 ]; then  # a failed Ray install fails set-up (the Ray tests would otherwise skip)
  "$VENV/bin/python" -c "import ray" || { echo "setup: ray did not install (extra [ray])" >&2; exit 1; }
fi
"$VENV/bin/python" -c "import torch, ganbench; assert torch.__version__.startswith('2.14.1'), torch.__version__"
echo "$want" > "$stamp"
