#!/usr/bin/env bash
# Measure the realtime gateway end to end on loopback: real
# `muster serve --target=realtime` processes sharing one fresh database on
# the local PostgreSQL and a private Redis server (REDIS_URL to use another),
# loaded by bench/rtload.
#
#   idle:    GATEWAYS gateways, CONNS players connected at CONNECT_RATE a
#            second (Hello/Welcome, then a Ping every heartbeat) and held
#            HOLD; the gateways' resident memory before, once connected,
#            every second of the hold and after it.
#   fanout:  FANOUT_GATEWAYS fresh gateways, FANOUT_CONNS players connected;
#            notifications published on the Redis shard channels at each of
#            RATES (messages/s) for STEP, as domain/notify's publisher does;
#            delivered messages/s and delivery latency at the clients.
#
#   bench/realtime.sh                 both phases (defaults below)
#   bench/realtime.sh idle            one of them
#   CONNS=20000 GATEWAYS=2 HOLD=20s bench/realtime.sh idle
#   RATES=10000,20000 bench/realtime.sh fanout
#   PUSH=100 RATES=50000,100000,200000 bench/realtime.sh fanout
#            (fan-out of push events, party chat lines, to PUSH recipients
#            each; RATES count deliveries)
#
# One process may open at most `ulimit -n` files (20,000 here, a hard limit),
# so the connections are spread over several gateways and several client
# processes, each client process from its own source address 127.0.0.x.
# Everything is stopped and cleaned up at the end, also on failure or
# Ctrl-C: gateways and the private Redis stopped, database dropped (or, with
# REDIS_URL, the run's keys deleted).
set -euo pipefail

cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--mod=mod}

phase=${1:-all}
case "$phase" in all | idle | fanout) ;; *)
	echo >&2 "usage: bench/realtime.sh [all|idle|fanout]"
	exit 2
	;;
esac

CONNS=${CONNS:-100000}
GATEWAYS=${GATEWAYS:-6}
HOLD=${HOLD:-120s}
CONNECT_RATE=${CONNECT_RATE:-300} # connections opened a second, so that the gateways reach a steady state (0: as fast as possible)
FANOUT_CONNS=${FANOUT_CONNS:-20000}
FANOUT_GATEWAYS=${FANOUT_GATEWAYS:-2}
RATES=${RATES:-2000,5000,10000,20000,50000,100000,200000}
STEP=${STEP:-10s}
PUSH=${PUSH:-0} # recipients of each push event in the fan-out; 0: one stored notification per player
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
# Empty: a private redis-server for the run on PORT_BASE+3000, so that the
# run's keys and commands (three a heartbeat) do not meet other users of
# the shared server, nor theirs the run. Or a URL: that server.
REDIS_URL=${REDIS_URL:-}
PORT_BASE=${PORT_BASE:-17400} # gateway i listens on PORT_BASE+i (TCP), +1000+i (HTTP), +2000+i (ops)
DB_CONNS=${DB_CONNS:-4}       # PostgreSQL connections per gateway (the handshake reads the last seq)
GATEWAY_ENV=${GATEWAY_ENV-GOGC=25} # environment of the gateways: GOGC=25 as the realtime Deployment sets it; GATEWAY_ENV="GOGC=100" for Go's default

say() { printf 'realtime.sh: %s\n' "$*" >&2; }

# PostgreSQL and Redis, found or started (or installed) as `make services` does.
deploy/local/services.sh postgres
deploy/local/services.sh redis

tmp=$(mktemp -d)
db="muster_rtbench_$(date +%s)_$$"
prefix="$db:"
gw_pids=()
redis_pid=""

stop_gateways() {
	local pid
	for pid in "${gw_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${gw_pids[@]}"; do
		for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	gw_pids=()
}

cleanup() {
	stop_gateways
	psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 && say "dropped database $db" || say "could not drop database $db: drop it by hand"
	if [[ -n $redis_pid ]]; then
		kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
	elif [[ -n $REDIS_URL ]]; then
		redis-cli -u "$REDIS_URL" --scan --pattern "$prefix*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD)$([[ -n $(git status --porcelain -- ':!bench') ]] && echo ' (uncommitted changes outside bench/)'), open-file limit $(ulimit -n)"
go build -o bin/muster ./cmd/muster
go build -o "$tmp/rtload" ./bench/rtload

if [[ -z $REDIS_URL ]]; then
	rport=$((PORT_BASE + 3000))
	redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --dir "$tmp" --loglevel warning >"$tmp/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 1 50); do [[ $(redis-cli -p "$rport" ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
	[[ $(redis-cli -p "$rport" ping 2>/dev/null) == PONG ]] || { say "the private redis-server on port $rport did not start:"; cat "$tmp/redis.log" >&2; exit 1; }
	REDIS_URL=redis://127.0.0.1:$rport/0
	say "private Redis $(redis-server --version | grep -o 'v=[^ ]*') on port $rport (pid $redis_pid)"
fi

db_url="${PG_URL%%\?*}"
db_url="${db_url%/*}/$db?sslmode=disable"
psql -q "$PG_URL" -c "CREATE DATABASE $db" >/dev/null
MUSTER_DATABASE_URL=$db_url MUSTER_LOG_LEVEL=warn bin/muster migrate up >/dev/null
secret=$(head -c 32 /dev/urandom | base64)
export MUSTER_DATABASE_URL=$db_url MUSTER_SECRET_KEY=$secret

players=$CONNS
[[ $phase == fanout ]] && players=$FANOUT_CONNS
[[ $phase == all && $FANOUT_CONNS -gt $CONNS ]] && players=$FANOUT_CONNS
say "creating $players players with sessions in $db"
"$tmp/rtload" prepare -players "$players" -out "$tmp/players"

# start_gateways N: N gateways on PORT_BASE+i; sets gws, ops and gw_pids.
start_gateways() {
	local n=$1 i
	gws="" ops=""
	for ((i = 0; i < n; i++)); do
		local tcp=$((PORT_BASE + i)) http=$((PORT_BASE + 1000 + i)) opsp=$((PORT_BASE + 2000 + i))
		env $GATEWAY_ENV MUSTER_TARGET=realtime MUSTER_REDIS_URL=$REDIS_URL MUSTER_REDIS_PREFIX=$prefix \
			MUSTER_REALTIME_ADDR=127.0.0.1:$tcp MUSTER_HTTP_ADDR=127.0.0.1:$http MUSTER_OPS_ADDR=127.0.0.1:$opsp \
			MUSTER_DB_MAX_OPEN=$DB_CONNS MUSTER_DB_MAX_IDLE=$DB_CONNS MUSTER_LOG_LEVEL=warn MUSTER_LOG_FORMAT=json \
			bin/muster serve >"$tmp/gateway$i.log" 2>&1 &
		gw_pids+=($!)
		gws+="${gws:+,}127.0.0.1:$tcp"
		ops+="${ops:+,}127.0.0.1:$opsp"
	done
	for ((i = 0; i < n; i++)); do
		local url="http://127.0.0.1:$((PORT_BASE + 2000 + i))/readyz" ok=""
		for _ in $(seq 1 300); do
			if curl -fs -o /dev/null "$url"; then ok=1 && break; fi
			kill -0 "${gw_pids[$i]}" 2>/dev/null || break
			sleep 0.1
		done
		if [[ -z $ok ]]; then
			say "gateway $i did not become ready:"
			tail -n 20 "$tmp/gateway$i.log" >&2
			exit 1
		fi
	done
	say "$n gateways ready: pids ${gw_pids[*]}, TCP $gws"
}

# record_gateways: each gateway's resident memory now and at its peak, and
# its log lines at warn or above.
record_gateways() {
	local i pid
	for i in "${!gw_pids[@]}"; do
		pid=${gw_pids[$i]}
		printf 'gateway %d (pid %d): %s, %s; %d log lines at warn or above\n' "$i" "$pid" \
			"$(awk '/^VmRSS:/ {printf "VmRSS %.1f MiB", $2/1024}' "/proc/$pid/status")" \
			"$(awk '/^VmHWM:/ {printf "peak VmHWM %.1f MiB", $2/1024}' "/proc/$pid/status")" \
			"$(wc -l <"$tmp/gateway$i.log")"
	done
	if grep -qs . "$tmp"/gateway*.log; then
		say "the gateways' log lines at warn or above, by message:"
		cat "$tmp"/gateway*.log | grep -o '"msg":"[^"]*"' | sort | uniq -c | sort -rn | head -n 10 >&2
	fi
}

status=0
if [[ $phase == all || $phase == idle ]]; then
	echo "## idle: $CONNS connections over $GATEWAYS gateways, held $HOLD${GATEWAY_ENV:+, gateways with $GATEWAY_ENV} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	start_gateways "$GATEWAYS"
	"$tmp/rtload" run -players "$tmp/players" -conns "$CONNS" -gateways "$gws" -pids "$(
		IFS=,
		echo "${gw_pids[*]}"
	)" -ops "$ops" -redis "$REDIS_URL" -redis-prefix "$prefix" ${redis_pid:+-redis-pid "$redis_pid"} -connect-rate "$CONNECT_RATE" -hold "$HOLD" || status=1
	record_gateways
	stop_gateways
fi
if [[ $phase == all || $phase == fanout ]]; then
	echo
	echo "## fanout: $FANOUT_CONNS connections over $FANOUT_GATEWAYS gateways, $([[ $PUSH -gt 0 ]] && echo "push events of $PUSH recipients" || echo "a stored notification per player"), rates $RATES for $STEP each${GATEWAY_ENV:+, gateways with $GATEWAY_ENV} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	start_gateways "$FANOUT_GATEWAYS"
	"$tmp/rtload" run -players "$tmp/players" -conns "$FANOUT_CONNS" -gateways "$gws" -pids "$(
		IFS=,
		echo "${gw_pids[*]}"
	)" -ops "$ops" -redis "$REDIS_URL" -redis-prefix "$prefix" ${redis_pid:+-redis-pid "$redis_pid"} -connect-rate "$CONNECT_RATE" -hold 0s -rates "$RATES" -step "$STEP" -push "$PUSH" || status=1
	record_gateways
	stop_gateways
fi
exit $status
