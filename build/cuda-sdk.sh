#!/usr/bin/env bash
# Puts what compiling and linking the cudagpu build needs into DIR
# (default .cache/cuda), without the CUDA toolkit (a 774 MB package):
#   DIR/include/cuda.h   streamed out of Debian's non-free nvidia-cuda-dev
#                        (the header lies near the start of the package's
#                        data, so the download stops after about 1 MB)
#   DIR/lib/libcuda.so   the driver library from Debian's non-free libcuda1
#                        (3 MB, checked against the archive's SHA-256)
# Enough for `go vet`, `go build` and `go test` with -tags cudagpu on a
# machine without a GPU: the tests that need a device skip there, and the
# binary reports "no GPU" and computes on the CPU. Does nothing when both
# files are there.
set -euo pipefail
dir=${1:-.cache/cuda}
[ -s "$dir/include/cuda.h" ] && [ -s "$dir/lib/libcuda.so" ] && exit 0
mirror=${DEBIAN_MIRROR:-https://deb.debian.org/debian}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "cuda-sdk: fetching cuda.h and libcuda from Debian's non-free archive into $dir" >&2
curl -fsSL "$mirror/dists/bookworm/non-free/binary-amd64/Packages.xz" | xz -dc >"$tmp/Packages"
field() { awk -v p="$1" -v f="$2:" '$1=="Package:"{on=($2==p)} on&&$1==f{print $2; exit}' "$tmp/Packages"; }
dev=$(field nvidia-cuda-dev Filename)
drv=$(field libcuda1 Filename)
drvsum=$(field libcuda1 SHA256)
if [ -z "$dev" ] || [ -z "$drv" ] || [ -z "$drvsum" ]; then
  echo "cuda-sdk: Debian's non-free index lists no nvidia-cuda-dev or libcuda1" >&2
  exit 1
fi
mkdir -p "$tmp/x" "$dir/include" "$dir/lib"
# A .deb is an ar archive: magic, then debian-binary, control.tar.*, data.tar.*,
# each after a 60-byte header whose bytes 48-57 give its size (members padded to even).
curl -fsSL -r 0-65535 "$mirror/$dev" -o "$tmp/head"
csize=$(dd if="$tmp/head" bs=1 skip=$((8 + 60 + 4 + 48)) count=10 2>/dev/null | tr -d ' ')
data=$((8 + 60 + 4 + 60 + csize + csize % 2))
[ "$data" -lt 65000 ] || { echo "cuda-sdk: the control member of $dev is larger than expected" >&2; exit 1; }
member=$(dd if="$tmp/head" bs=1 skip=$data count=16 2>/dev/null | tr -d ' ')
case "$member" in
data.tar.xz) unpack="xz -dc" ;;
data.tar.zst) unpack="zstd -dc" ;;
*) echo "cuda-sdk: unexpected member $member in $dev" >&2; exit 1 ;;
esac
set +o pipefail # tar stops reading at the header; curl and xz then end on a closed pipe
curl -fsSL -r $((data + 60))- "$mirror/$dev" 2>/dev/null | $unpack 2>/dev/null |
  tar -x -C "$tmp/x" --occurrence=1 ./usr/include/cuda.h
set -o pipefail
if ! grep -q "define CUDA_VERSION" "$tmp/x/usr/include/cuda.h" 2>/dev/null; then
  echo "cuda-sdk: could not read cuda.h out of $mirror/$dev" >&2
  exit 1
fi
curl -fsSL "$mirror/$drv" -o "$tmp/libcuda1.deb"
echo "$drvsum  $tmp/libcuda1.deb" | sha256sum -c --quiet - >&2
dpkg-deb --fsys-tarfile "$tmp/libcuda1.deb" | tar -x -C "$tmp/x" --wildcards '*/libcuda.so.[0-9]*.*'
so=$(find "$tmp/x" -type f -name 'libcuda.so.*' | head -1)
cp "$tmp/x/usr/include/cuda.h" "$dir/include/cuda.h.new" && mv "$dir/include/cuda.h.new" "$dir/include/cuda.h"
cp "$so" "$dir/lib/libcuda.so.1.new" && mv "$dir/lib/libcuda.so.1.new" "$dir/lib/libcuda.so.1"
ln -sf libcuda.so.1 "$dir/lib/libcuda.so"
echo "cuda-sdk: $(grep -m1 'define CUDA_VERSION' "$dir/include/cuda.h" | awk '{print "CUDA", $3}'), $(basename "$so")" >&2
