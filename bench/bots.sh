#!/usr/bin/env bash
# `muster bots` end to end on loopback (docs/bots.md), the acceptance runs
# of issue 11:
#
#   dev:    `muster dev` (every target in one process) on a fresh database
#           of the local PostgreSQL, stripe-mock for the currency packs;
#           PLAYERS players for DURATION (they register).
#   split:  the same database, the platform split in two `muster serve`
#           processes, auth,player,progression,inventory,store and
#           realtime,matchmaking,sessions,worker, sharing a private Redis;
#           the same players, who refresh the sessions they kept from the
#           dev phase as returning players do (SESSIONS=no: they log in
#           with their passwords; so they do in a split phase alone).
#
#   bench/bots.sh                        both phases: 2000 players for 2m each
#   PLAYERS=200 DURATION=30s bench/bots.sh dev
#   RAMP=15 SCENARIO=my.yaml bench/bots.sh split
#   PLAYERS=10000 ENROLL=yes SCENARIO=bench/bots-launch.yaml bench/bots.sh split
#                                        the 10,000-player run: the accounts and
#                                        their sessions are made in the database
#                                        first (muster bots --enroll, not
#                                        counted in the costs), so no password
#                                        is hashed during the run
#
# Each phase prints the bots' report, then the CPU seconds and the peak
# resident memory of each muster process, and the CPU seconds of the
# run's PostgreSQL backends and of the private Redis, over the phase. The
# JSON reports stay in OUT (default: a temporary directory, removed). The
# script exits non-zero when a phase's report fails (an unexpected error,
# a failed economy or ledger check). Everything it starts is stopped and
# the database dropped at the end, also on failure or Ctrl-C (KEEP_DB=1
# keeps the database).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--mod=mod}

phase=${1:-all}
case "$phase" in all | dev | split) ;; *)
	echo >&2 "usage: bench/bots.sh [all|dev|split]"
	exit 2
	;;
esac
PLAYERS=${PLAYERS:-2000}
DURATION=${DURATION:-2m}
RAMP=${RAMP:-}         # players arriving a second; empty: the scenario's (20)
SCENARIO=${SCENARIO:-} # a scenario file (docs/bots.md); empty: the default mix
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PORT_BASE=${PORT_BASE:-18400}
OUT=${OUT:-}
SESSIONS=${SESSIONS:-yes}
KEEP_DB=${KEEP_DB:-}
ENROLL=${ENROLL:-} # yes: the split phase enrolls the players first (--enroll)
WEBHOOK_SECRET=whsec_muster_bots_bench

say() { printf 'bots.sh: %s\n' "$*" >&2; }
for tool in curl psql redis-server redis-cli; do
	command -v "$tool" >/dev/null || { say "$tool is required"; exit 1; }
done

tmp=$(mktemp -d)
[[ -n $OUT ]] || OUT=$tmp
mkdir -p "$OUT"
db="muster_bots_$(date +%s)_$$"
db_url="${PG_URL%%/postgres\?*}/$db?sslmode=disable"
pids=()
stripe_pid="" redis_pid=""

stop_pid() { # SIGTERM, then SIGKILL after 30 s
	local pid=$1
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local status=$?
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	[[ -z $stripe_pid ]] || stop_pid "$stripe_pid"
	[[ -z $redis_pid ]] || stop_pid "$redis_pid"
	if [[ -z $KEEP_DB ]]; then
		psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	else
		say "kept database $db_url"
	fi
	if [[ $status -ne 0 ]]; then
		for f in "$tmp"/*.log; do
			[[ -s $f ]] && { say "$(basename "$f"):"; tail -n 15 "$f" >&2; }
		done
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu_of PID...: their CPU seconds so far (user + system).
cpu_of() {
	local ticks=0 pid
	for pid in "$@"; do
		[[ -r /proc/$pid/stat ]] || continue
		local f
		read -ra f <"/proc/$pid/stat"
		ticks=$((ticks + f[13] + f[14]))
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'
}
# peak_rss PID: its peak resident memory in MiB.
peak_rss() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }
# backends: the PostgreSQL processes serving the run's database.
backends() { pgrep -f "postgres: .* $db " || true; }

wait_ready() { # OPS_ADDR PID NAME
	local deadline=$((SECONDS + 60))
	until curl -fs -o /dev/null --max-time 1 "http://$1/readyz"; do
		kill -0 "$2" 2>/dev/null || { say "$3 exited before it was ready"; exit 1; }
		((SECONDS < deadline)) || { say "$3 was not ready on http://$1/readyz within 60 s"; exit 1; }
		sleep 0.25
	done
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(go version), muster at $(git rev-parse --short HEAD)"
go build -o "$tmp/muster" ./cmd/muster
deploy/local/services.sh stripe-mock
stripe_mock=$(command -v stripe-mock || echo "$(go env GOPATH)/bin/stripe-mock")
"$stripe_mock" -http-addr "127.0.0.1:$((PORT_BASE + 90))" -https-addr "127.0.0.1:$((PORT_BASE + 91))" >"$tmp/stripe-mock.log" 2>&1 &
stripe_pid=$!
psql "$PG_URL" -qc "CREATE DATABASE $db" >/dev/null
"$tmp/muster" migrate up --database-url="$db_url" >"$tmp/migrate.log" 2>&1
say "database $db; stripe-mock on 127.0.0.1:$((PORT_BASE + 90))"

export MUSTER_DATABASE_URL=$db_url MUSTER_STRIPE_SECRET_KEY=sk_test_musterbots \
	MUSTER_STRIPE_API_URL=http://127.0.0.1:$((PORT_BASE + 90)) MUSTER_STRIPE_WEBHOOK_SECRETS=$WEBHOOK_SECRET \
	MUSTER_LOG_LEVEL=warn MUSTER_LOG_FORMAT=json
bots_args=(--players="$PLAYERS" --duration="$DURATION" --database-url="$db_url" --stripe-webhook-secret="$WEBHOOK_SECRET")
[[ -z $RAMP ]] || bots_args+=(--ramp="$RAMP")
[[ -z $SCENARIO ]] || bots_args+=(--scenario="$SCENARIO")
[[ $SESSIONS == no ]] || bots_args+=(--sessions="$tmp/sessions.json")

failed=0
# run_bots NAME MUSTER_PIDS -- BOTS_ARGS...: the bots, then the processes' costs.
run_bots() {
	local name=$1 procs=$2
	shift 3
	local -a mpids
	read -ra mpids <<<"$procs"
	local c0 p0 r0=0 pg
	c0=$(for p in "${mpids[@]}"; do cpu_of "$p"; echo; done)
	pg=$(backends)
	# shellcheck disable=SC2086
	p0=$(cpu_of $pg)
	[[ -z $redis_pid ]] || r0=$(cpu_of "$redis_pid")
	echo
	echo "## $name: $PLAYERS players for $DURATION"
	local status=0
	"$tmp/muster" bots "${bots_args[@]}" --json-file="$OUT/$name.json" "$@" || status=$?
	((status == 0)) || failed=1
	echo "costs over the run (CPU seconds; peak resident memory):"
	local i=0
	while read -r before; do
		local p=${mpids[$i]}
		printf '  muster pid %-8s %7.1f s CPU   %5s MiB peak RSS\n' "$p" \
			"$(awk -v a="$(cpu_of "$p")" -v b="$before" 'BEGIN { print a - b }')" "$(peak_rss "$p")"
		i=$((i + 1))
	done <<<"$c0"
	# Backends that started during the run count from zero.
	pg=$(backends)
	# shellcheck disable=SC2086
	printf '  PostgreSQL backends of %s: %.1f s CPU (at least; pooled connections)\n' "$db" \
		"$(awk -v a="$(cpu_of $pg)" -v b="$p0" 'BEGIN { print (a > b ? a - b : a) }')"
	[[ -z $redis_pid ]] || printf '  Redis (private): %.1f s CPU\n' "$(awk -v a="$(cpu_of "$redis_pid")" -v b="$r0" 'BEGIN { print a - b }')"
}

if [[ $phase == all || $phase == dev ]]; then
	p=$PORT_BASE
	"$tmp/muster" dev --http-addr="127.0.0.1:$p" --ops-addr="127.0.0.1:$((p + 1))" --console-addr="127.0.0.1:$((p + 2))" \
		--realtime-addr="127.0.0.1:$((p + 3))" --data-dir="$tmp/data" >"$tmp/dev.log" 2>&1 &
	dev_pid=$!
	pids+=("$dev_pid")
	wait_ready "127.0.0.1:$((p + 1))" "$dev_pid" "muster dev"
	run_bots dev "$dev_pid" -- --target="http://127.0.0.1:$p" --realtime="127.0.0.1:$((p + 3))"
	stop_pid "$dev_pid"
fi

if [[ $phase == all || $phase == split ]]; then
	if [[ $phase == split ]]; then
		# The demo content (queues, store, season) comes with muster dev.
		"$tmp/muster" dev --http-addr="127.0.0.1:$PORT_BASE" --ops-addr="127.0.0.1:$((PORT_BASE + 1))" \
			--console-addr="127.0.0.1:$((PORT_BASE + 2))" --realtime-addr="127.0.0.1:$((PORT_BASE + 3))" >"$tmp/seed.log" 2>&1 &
		seed_pid=$!
		pids+=("$seed_pid")
		wait_ready "127.0.0.1:$((PORT_BASE + 1))" "$seed_pid" "muster dev (seeding the demo content)"
		stop_pid "$seed_pid"
	fi
	rport=$((PORT_BASE + 80))
	redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --dir "$tmp" --loglevel warning >"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 1 50); do [[ $(redis-cli -p "$rport" ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
	# The signing keys dev made are sealed with its public development key.
	dev_key=$(printf 'muster development secret key: never use in production' | openssl dgst -sha256 -binary | base64)
	export MUSTER_REDIS_URL=redis://127.0.0.1:$rport/0 MUSTER_SECRET_KEY=$dev_key
	front=$((PORT_BASE + 10)) back=$((PORT_BASE + 20))
	"$tmp/muster" serve --target=auth,player,progression,inventory,store --http-addr="127.0.0.1:$front" \
		--ops-addr="127.0.0.1:$((front + 1))" >"$tmp/front.log" 2>&1 &
	front_pid=$!
	"$tmp/muster" serve --target=realtime,matchmaking,sessions,worker --http-addr="127.0.0.1:$back" \
		--ops-addr="127.0.0.1:$((back + 1))" --realtime-addr="127.0.0.1:$((back + 3))" >"$tmp/back.log" 2>&1 &
	back_pid=$!
	pids+=("$front_pid" "$back_pid")
	wait_ready "127.0.0.1:$((front + 1))" "$front_pid" "muster serve (front)"
	wait_ready "127.0.0.1:$((back + 1))" "$back_pid" "muster serve (back)"
	if [[ $ENROLL == yes ]]; then
		"$tmp/muster" bots "${bots_args[@]}" --enroll
	fi
	run_bots split "$front_pid $back_pid" -- \
		--target="auth,player,progression,inventory,store=http://127.0.0.1:$front" \
		--target="realtime,matchmaking,sessions,worker=http://127.0.0.1:$back" --realtime="127.0.0.1:$((back + 3))"
fi
[[ $OUT == "$tmp" ]] || say "JSON reports in $OUT"
exit "$failed"
