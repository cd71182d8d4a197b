#!/usr/bin/env bash
# Makes the Python venv that `rewardrouter-cli bench --suite real` runs its references from
# (bench/real_reference.py: transformers' AutoModelForSequenceClassification and TRL's
# RewardTrainer) and that tools/make-bench-models.py and tools/make-real-profile.py need.
# A development tool: RewardRouter itself, its tests and CI never need Python.
#
#   tools/bench-venv.sh [DIR]        DIR defaults to build/bench-venv
#
# Prints DIR/bin/python, for `bench --suite real --python`. Installs with pip from the package
# index pip is configured for (PIP_INDEX_URL etc. are honoured as pip always does); TORCH_INDEX_URL,
# when set, is the index torch alone comes from (e.g. a CPU-only wheel index). PYTHON picks the
# interpreter the venv is made from (default python3). Does nothing when DIR/bin/python already
# imports the pinned versions.
set -euo pipefail

dest="${1:-build/bench-venv}"
python="${PYTHON:-python3}"
# The versions issue 24's figures were measured with.
torch_pin="torch==2.15.*"
others=("transformers==5.25.*" "trl==1.16.*" "datasets" "accelerate" "safetensors" "tokenizers")

die() {
  echo "bench-venv: $*" >&2
  exit 1
}

check='import torch, transformers, trl
assert torch.__version__.startswith("2.15") and transformers.__version__.startswith("5.25")
assert trl.__version__.startswith("1.16")'
if [[ -x "$dest/bin/python" ]] && "$dest/bin/python" -c "$check" >/dev/null 2>&1; then
  echo "$dest/bin/python"
  exit 0
fi

command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON to a Python 3 interpreter)"
"$python" -m venv "$dest" || die "cannot make a venv in $dest (Debian: apt-get install python3-venv)"
pip=("$dest/bin/python" -m pip --disable-pip-version-check --quiet)
if [[ -n "${TORCH_INDEX_URL:-}" ]]; then
  "${pip[@]}" install --index-url "$TORCH_INDEX_URL" "$torch_pin" || die "pip could not install $torch_pin"
else
  "${pip[@]}" install "$torch_pin" || die "pip could not install $torch_pin"
fi
"${pip[@]}" install "${others[@]}" || die "pip could not install ${others[*]}"
"$dest/bin/python" -c "$check" || die "$dest/bin/python does not import the pinned versions"
echo "$dest/bin/python"
