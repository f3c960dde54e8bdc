#!/usr/bin/env bash
# The zero-downtime drill (`make drill`, docs/operations.md "Zero-downtime
# restarts"): two `muster serve --target=auth,inventory,store,realtime,worker`
# instances on one PostgreSQL database and one Redis, behind nginx on
# loopback (HTTP, and TCP for the realtime gateway), restarted one after the
# other under load; it fails if any HTTP request fails, or if any realtime
# client does not resume its session with every notification once.
#
#  1. installs nginx and its stream module with apt-get when they are
#     missing (as root; otherwise it says how and exits 1), makes sure
#     PostgreSQL and Redis are up (deploy/local/services.sh), builds muster
#     and the load tool;
#  2. creates a database of its own, runs `muster migrate up`, starts
#     instances A and B and waits for their /readyz;
#  3. starts nginx in front of both: for HTTP one upstream, passive health
#     checks (max_fails, fail_timeout), idempotent requests retried on the
#     other instance (proxy_next_upstream; a POST only when it never reached
#     the first one); for TCP (the stream module) one upstream of both
#     gateways, a connection refused by one tried on the other;
#  4. runs the load tool (go run ./deploy/drill) through nginx for
#     DRILL_DURATION: GET requests of a registered player, with its access
#     token, at DRILL_RATE a second (/v1/me, /v1/catalog, /v1/me/wallets,
#     /v1/store, /v1/me/notifications); DRILL_CLIENTS realtime clients on
#     nginx's TCP port; DRILL_NOTES notifications a second for their players
#     (a friend request and its withdrawal, over HTTP), which the worker
#     stores and publishes and the gateways push;
#  5. meanwhile sends SIGTERM to A (its /readyz must turn 503 while it
#     drains, its gateway tells its clients to reconnect, and it must exit
#     cleanly), starts it again, waits until it is ready, then does the same
#     to B; the clients reconnect through nginx and resume (resume token and
#     last seq);
#  6. waits until every client has every notification made for it, prints
#     the requests sent and failed, the reconnections and resumes, the
#     notifications made, received and stored, and exits 1 if any request
#     failed, any reconnection did not resume, or any notification was lost
#     or received twice.
#
# Everything listens on 127.0.0.1 only. Everything it started is stopped,
# and its database and Redis keys removed, when it exits.
#
#   deploy/drill/drill.sh
#   DRILL_RATE=200 DRILL_DURATION=40s deploy/drill/drill.sh
#   DRILL_CLIENTS=100 DRILL_NOTES=50 deploy/drill/drill.sh
#   DRILL_PORT=28180 deploy/drill/drill.sh   nginx there, A and B on the next ports
set -euo pipefail

cd "$(dirname "$0")/../.."
export GOFLAGS=${GOFLAGS:--mod=mod}

RATE=${DRILL_RATE:-100}
DURATION=${DRILL_DURATION:-30s}
CLIENTS=${DRILL_CLIENTS:-20}
NOTES=${DRILL_NOTES:-20}
port=${DRILL_PORT:-18180}
PROXY=127.0.0.1:$port PROXY_TCP=127.0.0.1:$((port + 20))
A_HTTP=127.0.0.1:$((port + 1)) A_OPS=127.0.0.1:$((port + 11)) A_RT=127.0.0.1:$((port + 21))
B_HTTP=127.0.0.1:$((port + 2)) B_OPS=127.0.0.1:$((port + 12)) B_RT=127.0.0.1:$((port + 22))
# nginx leaves an instance alone for FAIL_TIMEOUT seconds after it refused a
# connection; the drill waits longer than that between A and B, so that
# nginx has taken A back before B goes.
FAIL_TIMEOUT=2
DRAIN_DELAY=2s
# The gateway spreads its clients' reconnections over this; it closes
# what is left at half the shutdown timeout (5 s).
DRAIN_SPREAD=2s

say() { printf 'drill: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

# --- nginx ------------------------------------------------------------------
install_nginx() { # install_nginx PACKAGE...: apt-get, as root only
  if ! is_root || ! command -v apt-get >/dev/null; then
    say "$* not installed; the drill installs it with apt-get only as root."
    say "Install it (Debian/Ubuntu: sudo apt-get install $*) or run the drill as root."
    exit 1
  fi
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  # The drill runs a private nginx; stop the one the package may have
  # started on :80.
  if [ -d /run/systemd/system ]; then
    systemctl disable --now nginx >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/nginx ]; then
    /etc/init.d/nginx stop >/dev/null 2>&1 || true
  fi
}
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
  install_nginx nginx libnginx-mod-stream
  NGINX=/usr/sbin/nginx
fi
# The realtime gateway is TCP: nginx's stream module proxies it. Debian
# builds it as a dynamic module (--with-stream=dynamic, package
# libnginx-mod-stream) that the configuration loads; other builds link it in
# (--with-stream).
stream_module() {
  local v dir
  v=$("$NGINX" -V 2>&1 | tr ' ' '\n')
  if grep -qx -- '--with-stream' <<<"$v"; then
    echo static
  elif grep -qx -- '--with-stream=dynamic' <<<"$v"; then
    dir=$(sed -n 's/^--modules-path=//p' <<<"$v")
    dir=${dir:-/usr/lib/nginx/modules}
    if [ -f "$dir/ngx_stream_module.so" ]; then echo "$dir/ngx_stream_module.so"; fi
  fi
}
STREAM=$(stream_module || true)
if [ -z "$STREAM" ]; then
  install_nginx libnginx-mod-stream
  STREAM=$(stream_module || true)
  [ -n "$STREAM" ] || { say "$NGINX has no stream module (nginx -V shows no --with-stream)"; exit 1; }
fi
LOAD_STREAM=""
[ "$STREAM" = static ] || LOAD_STREAM="load_module $STREAM;"
command -v curl >/dev/null || { say "curl is required"; exit 1; }

deploy/local/services.sh postgres
deploy/local/services.sh redis

listening() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
for addr in "$PROXY" "$PROXY_TCP" "$A_HTTP" "$A_OPS" "$A_RT" "$B_HTTP" "$B_OPS" "$B_RT"; do
  if listening "$addr"; then
    say "something already listens on $addr; stop it or set DRILL_PORT"
    exit 1
  fi
done

# --- clean-up -----------------------------------------------------------------
tmp=$(mktemp -d)
db=muster_drill_$$
PG=postgres://postgres@127.0.0.1:5432
declare -A pid=()
nginx_pid="" load_pid="" db_created=""

stop_pid() { # stop_pid PID NAME: SIGTERM, then SIGKILL after 30 s
  local p=$1
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    say "$2 did not exit 30 s after SIGTERM; killing it"
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
}

cleanup() {
  local status=$?
  [ -z "$load_pid" ] || stop_pid "$load_pid" "the load tool"
  [ -z "$nginx_pid" ] || stop_pid "$nginx_pid" nginx
  for name in "${!pid[@]}"; do
    stop_pid "${pid[$name]}" "instance $name"
  done
  if [ -n "$db_created" ]; then
    psql "$PG/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 ||
      say "could not drop database $db"
  fi
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$db:*" 2>/dev/null |
    xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1 || true
  if [ "$status" -ne 0 ]; then
    for log in A B nginx-error; do
      if [ -s "$tmp/$log.log" ]; then
        say "last lines of $log.log:"
        tail -n 15 "$tmp/$log.log" >&2
      fi
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build, database, instances -----------------------------------------------
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(go version), $("$NGINX" -v 2>&1)"
say "building muster and the load tool"
go build -o "$tmp/muster" ./cmd/muster
go build -o "$tmp/load" ./deploy/drill

psql "$PG/postgres?sslmode=disable" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null
db_created=yes
muster_env=(
  MUSTER_DATABASE_URL="$PG/$db?sslmode=disable"
  MUSTER_REDIS_URL=redis://127.0.0.1:6379/0
  MUSTER_REDIS_PREFIX="$db:"
  MUSTER_SECRET_KEY="$(head -c 32 /dev/urandom | base64)"
  "MUSTER_TARGET=auth,inventory,store,realtime,worker"
  "MUSTER_DRAIN_DELAY=$DRAIN_DELAY"
  "MUSTER_REALTIME_DRAIN_SPREAD=$DRAIN_SPREAD"
  MUSTER_SHUTDOWN_TIMEOUT=10s
  MUSTER_TRUSTED_PROXIES=127.0.0.1
  MUSTER_PROXY_HEADER=X-Real-IP
  MUSTER_DB_MAX_OPEN=10
  MUSTER_DB_MAX_IDLE=10
  MUSTER_LOG_FORMAT=json
  # The load tool registers its players from one address, and one sender
  # makes every notification: lift the limits that would refuse them.
  MUSTER_RATE_REGISTER_IP=1000/1m
  MUSTER_RATE_FRIENDS=100000/1m
)
env "${muster_env[@]}" "$tmp/muster" migrate up >"$tmp/migrate.log" 2>&1 ||
  { cat "$tmp/migrate.log" >&2; exit 1; }

start() { # start NAME HTTP_ADDR OPS_ADDR REALTIME_ADDR
  env "${muster_env[@]}" "$tmp/muster" serve --http-addr="$2" --ops-addr="$3" --realtime-addr="$4" >>"$tmp/$1.log" 2>&1 &
  pid[$1]=$!
}

readyz() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$1/readyz" || true; }

wait_ready() { # wait_ready NAME OPS_ADDR
  local deadline=$((SECONDS + 30))
  until [ "$(readyz "$2")" = 200 ]; do
    if ! kill -0 "${pid[$1]}" 2>/dev/null; then
      say "instance $1 exited before it was ready"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      say "instance $1 was not ready on http://$2/readyz within 30 s"
      exit 1
    fi
    sleep 0.1
  done
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# restart NAME HTTP_ADDR OPS_ADDR REALTIME_ADDR: SIGTERM, see it drain,
# start it again.
restart() {
  local t0
  t0=$(now)
  say "instance $1: SIGTERM"
  kill -TERM "${pid[$1]}"
  local code=""
  for _ in $(seq 1 40); do
    code=$(readyz "$3")
    [ "$code" = 503 ] && break
    sleep 0.05
  done
  if [ "$code" != 503 ]; then
    say "instance $1: /readyz answered $code after SIGTERM, want 503 while draining"
    exit 1
  fi
  say "instance $1: draining, /readyz answers 503"
  local status=0
  wait "${pid[$1]}" || status=$?
  unset "pid[$1]"
  if [ "$status" -ne 0 ]; then
    say "instance $1 exited with status $status after SIGTERM"
    exit 1
  fi
  say "instance $1: exited cleanly $(since "$t0") s after SIGTERM; starting it again"
  start "$1" "$2" "$3" "$4"
  wait_ready "$1" "$3"
  say "instance $1: ready again $(since "$t0") s after SIGTERM"
}

say "starting instances A ($A_HTTP, ops $A_OPS, realtime $A_RT) and B ($B_HTTP, ops $B_OPS, realtime $B_RT)"
start A "$A_HTTP" "$A_OPS" "$A_RT"
wait_ready A "$A_OPS"
start B "$B_HTTP" "$B_OPS" "$B_RT"
wait_ready B "$B_OPS"

# --- nginx ----------------------------------------------------------------------
mkdir -p "$tmp/nginx"
# When nginx starts as root its workers run as nobody: let them use its
# temporary files.
if is_root; then
  chmod 755 "$tmp"
  chown nobody "$tmp/nginx" 2>/dev/null || true
fi
cat >"$tmp/nginx.conf" <<EOF
$LOAD_STREAM
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;

  # Passive health checks: an instance that refuses or drops a connection
  # once is left alone for ${FAIL_TIMEOUT}s, then tried again.
  upstream muster {
    server $A_HTTP max_fails=1 fail_timeout=${FAIL_TIMEOUT}s;
    server $B_HTTP max_fails=1 fail_timeout=${FAIL_TIMEOUT}s;
    keepalive 32;
  }
  server {
    listen $PROXY;
    location / {
      proxy_pass http://muster;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Real-IP \$remote_addr;
      # Idempotent requests (GET, HEAD, PUT, DELETE, ...) go to the other
      # instance after a refused or cut connection or a 502/503/504; a POST
      # only when it never reached the first (refused connection): once
      # sent, it is never sent again (no non_idempotent).
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 2;
      proxy_next_upstream_timeout 10s;
      proxy_connect_timeout 1s;
      proxy_read_timeout 20s;
      # Which instance answered (two addresses: the first failed).
      add_header X-Upstream \$upstream_addr always;
    }
  }
}
stream {
  # The realtime gateways: a connection refused by one (its listener
  # closed while it drains) is tried on the other, and that one is left
  # alone for ${FAIL_TIMEOUT}s. A connection lives as long as the client
  # and its gateway keep it (they ping every few seconds).
  upstream muster_realtime {
    server $A_RT max_fails=1 fail_timeout=${FAIL_TIMEOUT}s;
    server $B_RT max_fails=1 fail_timeout=${FAIL_TIMEOUT}s;
  }
  server {
    listen $PROXY_TCP;
    proxy_pass muster_realtime;
    proxy_connect_timeout 1s;
    proxy_next_upstream on;
    proxy_next_upstream_tries 2;
    proxy_timeout 5m;
  }
}
EOF
"$NGINX" -t -q -e "$tmp/nginx-error.log" -p "$tmp/nginx" -c "$tmp/nginx.conf"
"$NGINX" -e "$tmp/nginx-error.log" -p "$tmp/nginx" -c "$tmp/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
deadline=$((SECONDS + 10))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$PROXY/v1/me" || true)" = 401 ]; do
  if ((SECONDS >= deadline)) || ! kill -0 "$nginx_pid" 2>/dev/null; then
    say "nginx on $PROXY did not pass requests to muster within 10 s"
    exit 1
  fi
  sleep 0.1
done
say "nginx on $PROXY (HTTP) and $PROXY_TCP (realtime TCP) in front of A and B"

# --- load and restarts ------------------------------------------------------------
say "load: GET requests of one player at $RATE/s, $CLIENTS realtime clients, $NOTES notifications/s, for $DURATION through nginx"
"$tmp/load" -url "http://$PROXY" -tcp "$PROXY_TCP" -rate "$RATE" -d "$DURATION" -clients "$CLIENTS" -notes "$NOTES" \
  -ready "$tmp/load.ready" >"$tmp/load.out" 2>&1 &
load_pid=$!
# The load tool registers its players and connects its clients first; the
# restarts begin once its load runs.
deadline=$((SECONDS + 120))
until [ -e "$tmp/load.ready" ]; do
  if ! kill -0 "$load_pid" 2>/dev/null || ((SECONDS >= deadline)); then
    say "the load tool did not start its load within 120 s"
    cat "$tmp/load.out" >&2
    exit 1
  fi
  sleep 0.2
done
say "load running; restarts begin in 3 s"
sleep 3
restart A "$A_HTTP" "$A_OPS" "$A_RT"
sleep $((FAIL_TIMEOUT + 1))
restart B "$B_HTTP" "$B_OPS" "$B_RT"
if ! kill -0 "$load_pid" 2>/dev/null; then
  say "the load ended before both restarts were done: raise DRILL_DURATION"
  wait "$load_pid" || true
  load_pid=""
  cat "$tmp/load.out"
  exit 1
fi
say "both instances restarted; load goes on until $DURATION, then the last notifications are awaited"
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""
cat "$tmp/load.out"
requests=$(awk '$1 == "requests" { print $2 }' "$tmp/load.out")
failed=$(awk '$1 == "failed" { print $2 }' "$tmp/load.out")
realtime=$(awk '$1 == "realtime" { print $2 }' "$tmp/load.out")
if [ "$load_status" -ne 0 ] || [ -z "$requests" ] || [ "$failed" != 0 ] || [ "$realtime" != ok ]; then
  say "FAILED: ${failed:-?} of ${requests:-?} requests failed, realtime ${realtime:-?} (load tool exit status $load_status)"
  exit 1
fi
say "passed: $requests requests, 0 failed; $CLIENTS realtime clients resumed with every notification once, across restarts of A and B"
