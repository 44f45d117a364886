#!/usr/bin/env bash
# Installs the Debian packages Concept Studio needs, only those missing.
#   build/setup.sh run    what building and running the window needs
#   build/setup.sh test   the same plus Xvfb and tools the tests use
# Runs apt-get update once (first install only). Uses sudo when not root.
set -euo pipefail
what=${1:-run}
pkgs=(gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
      libxi-dev libxxf86vm-dev libgtk-3-dev libopenblas-dev)
if [ "$what" = test ]; then
  pkgs+=(xvfb imagemagick xdotool x11-utils curl xz-utils)  # curl, xz: build/cuda-sdk.sh
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
