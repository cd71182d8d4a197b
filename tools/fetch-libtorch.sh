#!/usr/bin/env bash
# Lays out the CPU part of PyTorch's LibTorch 2.15 as a folder the build links (docs/ARCHITECTURE.md,
# "Which LibTorch"): the default LibTorch of every build, chosen over Debian's 1.13 by measurement.
#
#   tools/fetch-libtorch.sh DEST        prints DEST when it holds a complete copy
#
# The files come from the wheels on the Python package index, fetched with `pip download` (nothing
# is installed): torch (its libtorch_cpu.so, libc10.so, the OpenMP runtime it was built with and
# its headers) and, because the index's torch is a CUDA build whose libtorch_cpu.so is linked
# against them, the CUDA runtime and CUPTI libraries (loaded, never used: no GPU is needed).
# libtorch_cuda.so (0.5 GB) is left behind: a CPU build links libtorch_cpu and c10 only.
#
# Idempotent: does nothing when DEST/.complete names this version. An interrupted run leaves no
# half folder (DEST is filled as a sibling and renamed). PYTHON picks the interpreter (default
# python3); pip's own settings (PIP_INDEX_URL, a proxy, its cache) apply as always.
set -euo pipefail

torch_version="2.15.0"
cuda_version="13.2.86"
dest="${1:?usage: tools/fetch-libtorch.sh DEST}"
python="${PYTHON:-python3}"
stamp="torch ${torch_version} cudart ${cuda_version} cupti ${cuda_version}"

die() {
  echo "fetch-libtorch: $*" >&2
  exit 1
}

if [[ -f "$dest/.complete" && "$(cat "$dest/.complete")" == "$stamp" ]]; then
  echo "$dest"
  exit 0
fi

command -v "$python" >/dev/null 2>&1 || die "$python not found (install python3, or set PYTHON)"
"$python" -m pip --version >/dev/null 2>&1 ||
  die "pip is not available for $python (apt-get install python3-pip, or set PYTHON)"

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-libtorch.XXXXXX")"
partial="$dest.partial.$$"
trap 'rm -rf "$work" "$partial"' EXIT

echo "fetch-libtorch: downloading torch ${torch_version} (about 540 MB, once) ..." >&2
# The C++ libraries are the same in every Python version's wheel: one is named so that the
# download does not depend on the interpreter running pip.
if ! "$python" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
  --python-version 3.11 --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --quiet -d "$work" \
  "torch==${torch_version}" "nvidia-cuda-runtime==${cuda_version}" \
  "nvidia-cuda-cupti==${cuda_version}" >"$work/pip.log" 2>&1; then
  cat "$work/pip.log" >&2
  die "pip could not download the LibTorch wheels: no access to the package index?" \
    "(or configure with -DRR_LIBTORCH=system to use Debian's libtorch-dev)"
fi

mkdir -p "$partial/lib"
"$python" - "$work" "$partial" <<'EOF'
import glob, os, shutil, sys, zipfile

work, out = sys.argv[1], sys.argv[2]

def wheel(prefix):
    found = glob.glob(os.path.join(work, prefix + "-*.whl"))
    if len(found) != 1:
        sys.exit(f"fetch-libtorch: expected one {prefix} wheel, found {len(found)}")
    return zipfile.ZipFile(found[0])

def extract(zf, member, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with zf.open(member) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)

torch = wheel("torch")
for member in torch.namelist():
    if member.startswith("torch/include/") and not member.endswith("/"):
        extract(torch, member, os.path.join(out, member[len("torch/"):]))
for name in ("libtorch_cpu.so", "libc10.so", "libgomp.so.1"):
    extract(torch, "torch/lib/" + name, os.path.join(out, "lib", name))
for prefix, name in (("nvidia_cuda_runtime", "libcudart.so.13"),
                     ("nvidia_cuda_cupti", "libcupti.so.13")):
    extract(wheel(prefix), "nvidia/cu13/lib/" + name, os.path.join(out, "lib", name))
for lib in glob.glob(os.path.join(out, "lib", "*")):
    os.chmod(lib, 0o755)
EOF
echo "$torch_version" >"$partial/version"
echo "$stamp" >"$partial/.complete"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$partial" "$dest"
echo "$dest"
