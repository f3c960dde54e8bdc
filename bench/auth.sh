#!/usr/bin/env bash
# Measure the identity target end to end on loopback with bench/authload:
# a fresh database on the local PostgreSQL, Redis, a fake Steam, and a real
# `muster serve --target=auth`; Steam login and token refresh with 64
# connections, 10 s each after 2 s warmup. Everything is cleaned up at the
# end (database dropped, Redis keys deleted, processes stopped).
#
#   bench/auth.sh                          muster from the working tree
#   REF=HEAD bench/auth.sh                 muster from a commit (git archive), e.g. while others edit
#   bench/auth.sh -client-ip per-player    extra arguments go to authload (-json, -d 5s, ...)
set -euo pipefail

cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--mod=mod}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo >&2 "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(go version), commit $(git rev-parse --short HEAD)${REF:+, muster from $REF}"
args=()
if [[ -n ${REF:-} ]]; then
	mkdir "$tmp/src"
	git archive "$REF" | tar -x -C "$tmp/src"
	(cd "$tmp/src" && go build -o "$tmp/muster" ./cmd/muster)
	args+=(-muster "$tmp/muster")
elif [[ -n $(git status --porcelain -- ':!bench') ]]; then
	echo >&2 "# note: the working tree has uncommitted changes outside bench/"
fi
go build -o "$tmp/authload" ./bench/authload
"$tmp/authload" "${args[@]}" "$@"
