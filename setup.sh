#!/usr/bin/env bash
# RewardRouter set-up: installs the Debian packages that are missing, builds, and then
#   ./setup.sh        runs the main job: the workbench on the quickstart experiment where a
#                     display exists, otherwise the CLI quickstart printing its result table;
#   ./setup.sh test   runs the whole test suite (ctest, every label but gpu).
# Idempotent and quick when nothing changed: no apt call when every package is present, and
# an incremental build.
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-run}"
case "$mode" in
  run | test) ;;
  *)
    echo "usage: ./setup.sh [run|test]" >&2
    exit 2
    ;;
esac

build_dir="${RR_BUILD_DIR:-build}"
# LibTorch is not among them: the build lays out PyTorch's LibTorch 2.15 (CPU) from the Python
# package index with pip (tools/fetch-libtorch.sh, docs/ARCHITECTURE.md "Which LibTorch");
# -DRR_LIBTORCH=system builds against Debian's libtorch-dev 1.13 instead.
packages=(cmake g++ make pkg-config ccache python3 python3-pip qt6-base-dev libqt6sql6-sqlite
  libqcustomplot-dev nlohmann-json3-dev libsqlite3-dev libsentencepiece-dev zlib1g-dev libicu-dev
  libssl-dev libgloo-dev libsnappy-dev libzstd-dev sqlite3 xvfb xauth)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
fi

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$build_dir" -j"$(nproc)" >&2

if [ "$mode" = test ]; then
  cd "$build_dir"
  exec ctest -LE gpu --output-on-failure --timeout 600
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build_dir/bin/rewardrouter" ]; then
  exec "$build_dir/bin/rewardrouter" --experiment experiments/quickstart.json --db runs/quickstart.db
fi
exec "$build_dir/bin/rewardrouter-cli" run experiments/quickstart.json --db runs/quickstart.db
