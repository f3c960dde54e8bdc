#!/usr/bin/env bash
# Load GET /healthz of a real `muster dev` on loopback: build muster, start
# it, wait for /readyz, run bench/httpload (64 connections, 10 s), stop it
# with SIGTERM. Extra arguments go to httpload, e.g. bench/healthz.sh -json.
# OPS_ADDR and HTTP_ADDR override the listen addresses (loopback only).
set -euo pipefail

cd "$(dirname "$0")/.."
OPS_ADDR=${OPS_ADDR:-127.0.0.1:19090}
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:18080}
command -v curl >/dev/null || { echo "healthz.sh: curl is required" >&2; exit 1; }

tmp=$(mktemp -d)
pid=""
cleanup() {
	local status=$?
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 300); do # the shutdown timeout is 20 s
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "healthz.sh: muster did not exit 30 s after SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			status=1
		fi
		wait "$pid" 2>/dev/null || true
	fi
	if [[ $status -ne 0 && -s $tmp/muster.log ]]; then
		echo "healthz.sh: muster log:" >&2
		tail -n 20 "$tmp/muster.log" >&2
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if curl -s -o /dev/null --max-time 1 "http://$OPS_ADDR/healthz"; then
	echo "healthz.sh: something already answers on $OPS_ADDR; stop it or set OPS_ADDR" >&2
	exit 1
fi

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(go version)"
go build -o "$tmp/muster" ./cmd/muster
"$tmp/muster" dev --ops-addr="$OPS_ADDR" --http-addr="$HTTP_ADDR" --log-level=warn \
	--data-dir="$tmp/data" >"$tmp/muster.log" 2>&1 &
pid=$!

deadline=$((SECONDS + 30))
until curl -fs -o /dev/null --max-time 1 "http://$OPS_ADDR/readyz"; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "healthz.sh: muster exited before it was ready" >&2
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		echo "healthz.sh: muster was not ready on http://$OPS_ADDR/readyz within 30 s" >&2
		exit 1
	fi
	sleep 0.25
done

go run ./bench/httpload -url "http://$OPS_ADDR/healthz" -c 64 -d 10s "$@"
