#!/usr/bin/env bash
# Makes sure what Muster's tests need is on this machine: PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust auth), Redis on 127.0.0.1:6379, and
# Chromium for the console's browser tests, stripe-mock for the store's, and
# the C++ toolchain the reference client (sdk/cpp) is built and tested with
# (g++, CMake, Debian's protobuf 3.21 runtime and compiler). A service that is installed but
# stopped is started; one that is missing is installed with apt-get when
# running as root. promtool (Debian's prometheus package), which the deploy
# tests use to check the Prometheus rules and dashboard queries, is
# installed too where the package exists; without it those checks skip.
#
#   deploy/local/services.sh            check, start or install all of them
#   deploy/local/services.sh postgres   only PostgreSQL
#   deploy/local/services.sh redis      only Redis
#   deploy/local/services.sh chromium   only Chromium
#   deploy/local/services.sh promtool   only promtool
#   deploy/local/services.sh cpp        only the C++ toolchain
set -euo pipefail

want=${1:-all}
say() { printf 'services: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  if ! is_root || ! command -v apt-get >/dev/null; then
    say "$1 is not installed; install it (Debian/Ubuntu: sudo apt-get install $*) and run again"
    exit 1
  fi
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_up; then
    return
  fi
  local installed_now=no
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    installed_now=yes
  fi
  local version
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  if [ "$installed_now" = yes ]; then
    # A cluster made just now for tests: let local connections in without a password.
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/; s/^(local\s+all\s+(postgres|all)\s+)\S+/\1trust/' \
      "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  if is_root; then
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  else
    say "PostgreSQL is stopped; start it (sudo pg_ctlcluster $version main start) and run again"
    exit 1
  fi
  for _ in $(seq 1 30); do pg_up && return; sleep 1; done
  say "PostgreSQL did not come up on 127.0.0.1:5432"
  exit 1
}

redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
  if command -v redis-cli >/dev/null && redis_up; then
    return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$( [ -w /var/lib/redis ] && echo /var/lib/redis || echo /tmp )" \
    --logfile "$( [ -w /var/log/redis ] && echo /var/log/redis/muster.log || echo /tmp/muster-redis.log )"
  for _ in $(seq 1 30); do redis_up && return; sleep 0.5; done
  say "Redis did not come up on 127.0.0.1:6379"
  exit 1
}

ensure_chromium() {
  [ -x "${MUSTER_CHROMIUM:-/usr/bin/chromium}" ] || apt_install chromium
}

# The C++ SDK's toolchain: a compiler, CMake, and the protobuf runtime and
# compiler its generated code must match (test/cppclient fails without them).
ensure_cpp() {
  local missing=()
  command -v g++ >/dev/null || missing+=(g++)
  command -v make >/dev/null || missing+=(make)
  command -v cmake >/dev/null || missing+=(cmake)
  command -v protoc >/dev/null || missing+=(protobuf-compiler)
  [ -f /usr/include/google/protobuf/message_lite.h ] || missing+=(libprotobuf-dev)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# stripe-mock, Stripe's API mock, serves the store's tests; installed with
# go install at the version test/testenv/stripe.go names.
ensure_stripe_mock() {
  local version
  version=$(sed -n 's/^const StripeMockVersion = "\(.*\)"$/\1/p' "$(dirname "$0")/../../test/testenv/stripe.go")
  local bin
  bin="$(go env GOBIN)"; [ -n "$bin" ] || bin="$(go env GOPATH)/bin"
  if [ -x "$bin/stripe-mock" ] && go version -m "$bin/stripe-mock" 2>/dev/null | grep -q "stripe-mock[[:space:]]*$version"; then
    return
  fi
  say "installing stripe-mock $version"
  GOFLAGS= go install "github.com/stripe/stripe-mock@$version"
}

# promtool is optional: the tests that use it skip without it, so a machine
# without the package (or without root) only gets a note.
ensure_promtool() {
  command -v promtool >/dev/null && return
  if ! is_root || ! command -v apt-get >/dev/null; then
    say "promtool is not installed; the deploy tests skip their promtool checks (Debian/Ubuntu: sudo apt-get install --no-install-recommends prometheus)"
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  if ! apt-cache show prometheus >/dev/null 2>&1; then
    say "no prometheus package here; the deploy tests skip their promtool checks"
    return
  fi
  say "installing prometheus (for promtool)"
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # Only promtool is wanted: stop the Prometheus server the package may have
  # started, which would hold :9090, muster's default ops port.
  if [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
}

case "$want" in
  all) ensure_postgres; ensure_redis; ensure_chromium; ensure_stripe_mock; ensure_promtool; ensure_cpp ;;
  chromium) ensure_chromium ;;
  cpp) ensure_cpp ;;
  promtool) ensure_promtool ;;
  stripe-mock) ensure_stripe_mock ;;
  postgres) ensure_postgres ;;
  redis) ensure_redis ;;
  *) say "unknown service $want (all, postgres, redis, chromium, stripe-mock, promtool, cpp)"; exit 2 ;;
esac
