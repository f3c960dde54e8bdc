#!/usr/bin/env bash
# Stages the C++ SDK (sdk/cpp) into the Unreal plugin, where the engine's
# build compiles it as part of the Muster module:
#
#   sdk/unreal/stage.sh [DEST]     (default: Muster/Source/Muster/Private/Sdk)
#
# It copies the SDK's headers and sources, less the POSIX socket and HTTP
# implementations (the plugin brings the engine's own), and runs protoc
# (PROTOC, default protoc) on the realtime schema. The protoc used must be
# the version of the protobuf runtime the game links (see README.md); the
# version is written to DEST/PROTOC_VERSION. Run it again after updating
# the SDK or the schema.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
sdk=$(cd "$here/../cpp" && pwd)
schema=$(cd "$here/../.." && pwd)/realtime/protocol/pb/muster.proto
dest=${1:-$here/Muster/Source/Muster/Private/Sdk}
protoc=${PROTOC:-protoc}

posix_only=(tcp_transport posix_http)
is_posix() {
  local name
  name=$(basename "$1")
  name=${name%.*}
  for p in "${posix_only[@]}" muster; do  # muster.h includes the POSIX headers
    [ "$name" = "$p" ] && return 0
  done
  return 1
}

rm -rf "$dest"
mkdir -p "$dest/include/muster" "$dest/src" "$dest/gen/muster/pb"
for f in "$sdk"/include/muster/*.h; do
  is_posix "$f" || cp "$f" "$dest/include/muster/"
done
for f in "$sdk"/src/*.cpp; do
  is_posix "$f" || cp "$f" "$dest/src/"
done

# protoc writes muster/pb/muster.pb.{h,cc}, included as <muster/pb/muster.pb.h>.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/muster/pb" "$tmp/out"
cp "$schema" "$tmp/muster/pb/muster.proto"
"$protoc" --cpp_out="$tmp/out" -I "$tmp" "$tmp/muster/pb/muster.proto"
cp "$tmp/out/muster/pb/muster.pb.h" "$dest/gen/muster/pb/"
# The generated source is compiled through a wrapper that relaxes the
# engine's warnings for it, as for any third-party code.
cp "$tmp/out/muster/pb/muster.pb.cc" "$dest/gen/muster/pb/muster.pb.inl"
cat > "$dest/gen/muster_pb.cpp" <<'CPP'
// protoc's output for realtime/protocol/pb/muster.proto (staged by sdk/unreal/stage.sh).
#include "HAL/Platform.h"

THIRD_PARTY_INCLUDES_START
#include "muster/pb/muster.pb.inl"
THIRD_PARTY_INCLUDES_END
CPP
"$protoc" --version > "$dest/PROTOC_VERSION"
echo "staged the SDK into $dest ($(cat "$dest/PROTOC_VERSION"))"
