#!/usr/bin/env bash
# Side-by-side load benchmark, one command: this service (release binaries on the local stack,
# as many instances per function as clients) against privacyIDEA and Keystone on the same
# machine, TOTP passcode verification and the full two-step login, at 1 and 16 clients.
#
#   scripts/bench_load.sh            # all three servers, then the side-by-side table
#   scripts/bench_load.sh identity   # this service only
#   scripts/bench_load.sh peers      # privacyIDEA and Keystone only (scripts/bench_privacyidea.sh load)
#
# Environment: CLIENTS ("1 16"), LOAD_SECONDS (15), LOGIN_USERS (3000: login pool),
# VERIFY_USERS (12000: users with an open session each, for the passcode-only scenario).
# Pools: a TOTP code is single use per 30 s step, so every pool holds more than 31 s of
# operations at the rates measured here (see docs/performance.md). Never part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT=${1:-all}
case "$WHAT" in all | identity | peers) ;; *) echo "usage: $0 [all|identity|peers]" >&2; exit 2 ;; esac
export CLIENTS=${CLIENTS:-"1 16"} LOAD_SECONDS=${LOAD_SECONDS:-15}
LOGIN_USERS=${LOGIN_USERS:-3000}
VERIFY_USERS=${VERIFY_USERS:-12000}
OUT=${BENCH_OUT:-"$ROOT/target/bench"}
mkdir -p "$OUT"
export LOAD_OUT="$OUT"

identity() {
  scripts/setup.sh
  local PY="$ROOT/.venv/bin/python"
  echo "==== release build (functions, operator CLI, bench_pool) ===="
  cargo build --release --bins
  cargo build --release -p cli --example bench_pool
  local MAX=0 c
  for c in $CLIENTS; do [ "$c" -gt "$MAX" ] && MAX=$c; done

  # As many instances of each function as there are clients (Lambda scales out per request);
  # logs at WARN like a production deployment would keep them.
  # shellcheck source=scripts/bench_stack.sh
  . scripts/bench_stack.sh
  bench_stack_start load LAMBDA_CONCURRENCY="$MAX" AWS_LAMBDA_LOG_LEVEL=warn

  echo "==== user pools (bench_pool: straight into the table, the service's own store and sealing) ===="
  local PW
  PW="Bench-$("$PY" -c 'import secrets; print(secrets.token_hex(6))')9"
  local t0=$SECONDS
  (
    set -a
    # shellcheck disable=SC1091
    . "$STACK_DIR/stack/functions.env"
    set +a
    export BENCH_PASSWORD="$PW"
    target/release/examples/bench_pool users "$LOGIN_USERS" bl >"$STACK_DIR/login.tsv"
    target/release/examples/bench_pool users "$VERIFY_USERS" bv >"$STACK_DIR/verify-users.tsv"
    target/release/examples/bench_pool sessions <"$STACK_DIR/verify-users.tsv" >"$STACK_DIR/verify.tsv"
  )
  echo "provisioned $LOGIN_USERS login users and $VERIFY_USERS users with an open session in $((SECONDS - t0)) s"

  echo "==== load: this service ===="
  "$PY" scripts/loadbench.py --api "http://127.0.0.1:$ROUTER_PORT" --users "$STACK_DIR/login.tsv" \
    --sessions "$STACK_DIR/verify.tsv" --password "$PW" --clients "$CLIENTS" --seconds "$LOAD_SECONDS" \
    --root "$ROOT" --stack-dir "$STACK_DIR/stack" \
    --label "this service (release, cargo lambda watch, DynamoDB Local, moto)" --out "$OUT/load-identity.json"
  bench_stack_stop
}

case "$WHAT" in
  identity) identity ;;
  peers) scripts/bench_privacyidea.sh load all ;;
  all)
    identity
    scripts/bench_privacyidea.sh load all
    ;;
esac
python3 scripts/loadtable.py "$OUT"
