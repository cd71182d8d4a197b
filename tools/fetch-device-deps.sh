#!/usr/bin/env bash
# Downloads (never installs) the Debian 12 packages the GPU machine's image lacks into .devdeps/,
# which the device call carries (`run` with carry [".devdeps"]) and tools/device-check.sh unpacks
# into a folder of its own. The image has CUDA, CMake, ninja and Python's torch, but no Qt, and
# none of the -dev packages below (docs/ARCHITECTURE.md, "Building against a CUDA LibTorch").
#
#   tools/fetch-device-deps.sh [DIR]      (default DIR: .devdeps; about 35 MB)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$here/.devdeps}"
mkdir -p "$dir"
cd "$dir"
packages=(
  # Qt Core + Test for the test programs, with moc and the libraries Qt Core loads
  qt6-base-dev qt6-base-dev-tools qmake6 qmake6-bin libqt6core6 libqt6test6
  libb2-1 libdouble-conversion3 libpcre2-16-0 libglib2.0-0
  # rr_core's own dependencies (CMakeLists.txt, core/CMakeLists.txt)
  libsqlite3-dev libsqlite3-0 nlohmann-json3-dev zlib1g-dev libicu-dev libicu72
  libsentencepiece-dev libsentencepiece0 libprotobuf-lite32 libssl-dev libssl3
  libsnappy-dev libsnappy1v5 libzstd-dev libzstd1
  # pkg-config for SentencePiece
  pkgconf pkgconf-bin libpkgconf3
)
apt-get download "${packages[@]}"
echo "fetch-device-deps: $(ls "$dir"/*.deb | wc -l) packages in $dir ($(du -sh "$dir" | cut -f1))"
