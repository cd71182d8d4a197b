#!/usr/bin/env bash
# One pass on the GPU machine (shared/docs/PLATFORM.md, "GPU builds": one H200, CUDA 13, Python
# torch 2.x with transformers, CMake and ninja, no Qt): configure rr_core + the CLI against the
# Python torch's CUDA LibTorch, build, run the gpu-labelled and the core tests, run the CUDA
# benchmark, and leave every log and the benchmark JSON in $OUT. Device time is short, so every
# step has a timeout and the whole pass fits in about ten minutes; a failing step is logged and
# the next one still runs.
#
#   tools/device-check.sh [--fixtures] [--skip-bench] [--skip-tests]
#
#   --fixtures    also regenerate the transformers golden files (tools/fixtures/make_*_fixtures.py)
#                 and leave them in $OUT/fixtures.tar.gz (the checkout's copies are rewritten too)
#   OUT           where logs and results go (default ./device-out)
#   PYTHON        the interpreter with torch (default python3)
#   BUILD         the build folder (default build-device)
#   JOBS          build parallelism (default: all cores)
#   DEADLINE      seconds for the whole pass (default 560); each step's timeout is cut to fit
#   DEPS          a folder of Debian 12 packages (.deb) for what the GPU image lacks (Qt Core/Test,
#                 SQLite, ICU, nlohmann-json, SentencePiece, OpenSSL, Snappy, zstd, pkgconf;
#                 default ./.devdeps, see docs/DEVELOPERS.md): unpacked under DEPS_ROOT (default
#                 /tmp/rrdeps), never installed into the system, and put on the search paths
#
# Exit status: 0 when every step passed, 1 otherwise; $OUT/summary.txt lists each step.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
OUT="${OUT:-$here/device-out}"
PYTHON="${PYTHON:-python3}"
BUILD="${BUILD:-$here/build-device}"
JOBS="${JOBS:-$(nproc)}"
DEADLINE="${DEADLINE:-560}"
DEPS="${DEPS:-$here/.devdeps}"
DEPS_ROOT="${DEPS_ROOT:-/tmp/rrdeps}"
fixtures=0
bench=1
tests=1
for arg in "$@"; do
  case "$arg" in
    --fixtures) fixtures=1 ;;
    --skip-bench) bench=0 ;;
    --skip-tests) tests=0 ;;
    -h | --help)
      sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "device-check: unknown argument '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done

mkdir -p "$OUT"
summary="$OUT/summary.txt"
: >"$summary"
failed=0
start_all=$SECONDS

log() { echo "[device-check $(date -u +%H:%M:%S)] $*" | tee -a "$summary"; }

# step NAME TIMEOUT_S CMD...: runs CMD with its output in $OUT/NAME.log, never stops the script.
# The timeout is cut to what is left of $DEADLINE, and a step is skipped when too little is left.
step() {
  local name="$1" limit="$2"
  shift 2
  local left=$((DEADLINE - (SECONDS - start_all)))
  if [[ $left -lt 20 ]]; then
    log "SKIP  $name: only ${left}s of the ${DEADLINE}s deadline left"
    failed=1
    return 0
  fi
  [[ $limit -gt $left ]] && limit=$left
  local t0=$SECONDS rc=0
  log "start $name (timeout ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1 || rc=$?
  local took=$((SECONDS - t0))
  if [[ $rc -eq 0 ]]; then
    log "ok    $name ${took}s"
  else
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
      log "TIMEOUT $name after ${took}s"
    fi
    log "FAIL  $name rc=$rc ${took}s (tail of $name.log below)"
    tail -n 25 "$OUT/$name.log" | sed 's/^/    /' | tee -a "$summary"
    failed=1
  fi
  return 0
}

finish() {
  # Whatever happened, keep what CTest wrote and say how long the pass took.
  if [[ -d "$BUILD/Testing/Temporary" ]]; then
    cp "$BUILD/Testing/Temporary/LastTest"*.log "$OUT/" 2>/dev/null || true
  fi
  if [[ -f "$BUILD/CMakeCache.txt" ]]; then
    cp "$BUILD/CMakeCache.txt" "$OUT/CMakeCache.txt" || true
  fi
  local verdict="some steps FAILED"
  [[ $failed -eq 0 ]] && verdict="all steps passed"
  log "done in $((SECONDS - start_all))s; $verdict"
}
trap finish EXIT

# --- the machine -----------------------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -a)"
  echo "cores: $(nproc)"
  echo "commit: $(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)"
  git -C "$here" status --short 2>/dev/null | head -20 || true
  nvidia-smi 2>&1 || echo "nvidia-smi: not available"
  command -v nvcc && nvcc --version || echo "nvcc: not on PATH"
  cmake --version | head -1 || true
  command -v ninja && ninja --version || echo "ninja: absent"
  "$PYTHON" -c 'import sys, torch; print("python", sys.version.split()[0]); print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available()); print("cmake prefix", torch.utils.cmake_prefix_path)' 2>&1 || true
  "$PYTHON" -c 'import transformers; print("transformers", transformers.__version__)' 2>&1 || true
} >"$OUT/machine.log" 2>&1
log "machine: $(grep -E '^torch |^transformers ' "$OUT/machine.log" | tr '\n' ' ')"

# The CUDA toolkit is often installed without being on PATH; LibTorch's CMake needs nvcc.
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"  # the H200; no .cu sources today

torch_prefix="$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
if [[ -z "$torch_prefix" ]]; then
  log "FAIL  no torch in $PYTHON: cannot configure"
  failed=1
  exit 1
fi

# The GPU image has no Qt and few -dev packages: unpack the carried Debian packages into a
# folder of their own (dpkg -x installs nothing) and point CMake, pkg-config and the loader at it.
prefix_path="$torch_prefix"
if compgen -G "$DEPS/*.deb" >/dev/null; then
  rm -rf "$DEPS_ROOT"
  mkdir -p "$DEPS_ROOT"
  for deb in "$DEPS"/*.deb; do dpkg-deb -x "$deb" "$DEPS_ROOT"; done
  multiarch="$DEPS_ROOT/usr/lib/x86_64-linux-gnu"
  prefix_path="$torch_prefix;$DEPS_ROOT/usr"
  export LD_LIBRARY_PATH="$multiarch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PKG_CONFIG="$DEPS_ROOT/usr/bin/pkgconf"
  export PKG_CONFIG_LIBDIR="$multiarch/pkgconfig:$DEPS_ROOT/usr/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$DEPS_ROOT"
  export ICU_ROOT="$DEPS_ROOT/usr"
  log "deps: unpacked $(ls "$DEPS"/*.deb | wc -l) packages from $DEPS into $DEPS_ROOT"
fi

# Qt6 Test is needed for the test programs; the GPU machine usually has none.
have_qt=0
qt_probe="$(mktemp -d)"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(p LANGUAGES CXX)\nfind_package(Qt6 REQUIRED COMPONENTS Core Test)\n' \
  >"$qt_probe/CMakeLists.txt"
if timeout 60 cmake -S "$qt_probe" -B "$qt_probe/b" -DCMAKE_PREFIX_PATH="$prefix_path" \
  >"$OUT/qt-probe.log" 2>&1; then
  have_qt=1
fi
rm -rf "$qt_probe"
if [[ $tests -eq 1 && $have_qt -eq 1 ]]; then
  build_tests=ON
else
  build_tests=OFF
  if [[ $tests -eq 1 ]]; then
    log "note: Qt6 Test not found: configuring with -DRR_BUILD_TESTS=OFF, so no ctest step"
  fi
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# --- configure and build ---------------------------------------------------------------------
step configure 120 cmake -S "$here" -B "$BUILD" "${generator[@]}" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DRR_BUILD_GUI=OFF -DRR_BUILD_TESTS="$build_tests" \
  -DCMAKE_PREFIX_PATH="$prefix_path"
step build 360 cmake --build "$BUILD" -j "$JOBS"
cli="$BUILD/bin/rewardrouter-cli"

# --- tests -----------------------------------------------------------------------------------
if [[ "$build_tests" == ON && -f "$BUILD/CTestTestfile.cmake" ]]; then
  (cd "$BUILD" && ctest -N -L gpu) >"$OUT/ctest-gpu-list.log" 2>&1 || true
  step ctest-gpu 120 ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 100 -j 4
  step ctest-core 180 ctest --test-dir "$BUILD" -LE 'gpu|ui' --output-on-failure --timeout 150 -j 8
fi
if [[ -x "$cli" ]]; then
  step cli-help 30 "$cli" --help
fi

# --- benchmark on the GPU --------------------------------------------------------------------
if [[ $bench -eq 1 && -x "$cli" ]]; then
  # The JSON goes to stdout, progress to stderr (bench-cuda.log): keep them apart.
  # fp32 with the PyTorch reference, then bf16 autocast (issue 16's shapes: mini and the two
  # DeBERTa-v3 sizes people fine-tune as reward models).
  step bench-cuda 200 bash -c '"$0" bench --device cuda --preset mini,deberta-v3-base,deberta-v3-large \
    --repeats 3 --format json --python "$1" >"$2"' "$cli" "$(command -v "$PYTHON")" "$OUT/bench-cuda.json"
  step bench-cuda-bf16 150 bash -c '"$0" bench --device cuda --precision bf16 --suite train,infer \
    --preset mini,deberta-v3-base,deberta-v3-large --repeats 3 --no-reference --format json >"$1"' \
    "$cli" "$OUT/bench-cuda-bf16.json"
fi

# --- transformers golden files (optional) ----------------------------------------------------
if [[ $fixtures -eq 1 ]]; then
  regenerated=()
  if [[ -f tools/fixtures/make_model_fixtures.py ]]; then
    step fixtures-models 240 "$PYTHON" tools/fixtures/make_model_fixtures.py
    regenerated+=(tests/fixtures/hf/models)
  fi
  if [[ -f tools/fixtures/make_tokenizer_fixtures.py ]]; then
    # Its goldens come from the slow tokenizers, which transformers 5.x no longer has.
    if "$PYTHON" -c 'import sys, transformers; sys.exit(int(transformers.__version__.split(".")[0]) >= 5)' 2>/dev/null; then
      step fixtures-tokenizers 120 "$PYTHON" tools/fixtures/make_tokenizer_fixtures.py
      regenerated+=(tests/fixtures/hf/tokenizers)
    else
      log "skip  fixtures-tokenizers: needs transformers 4.x (the slow tokenizers), this one is not"
    fi
  fi
  if [[ ${#regenerated[@]} -gt 0 ]]; then
    tar czf "$OUT/fixtures.tar.gz" "${regenerated[@]}" 2>>"$summary" || true
    git -C "$here" status --short -- "${regenerated[@]}" >"$OUT/fixtures-changed.log" 2>&1 || true
  fi
fi

exit "$failed"
