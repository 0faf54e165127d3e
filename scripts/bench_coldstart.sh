#!/usr/bin/env bash
# Cold starts that include the real work (DynamoDB Local, KMS and SNS in moto), and the warm CPU
# per request of every function, against a local stack started (and stopped) here.
# Never part of the test command (no timing is asserted anywhere).
#
#   scripts/bench_coldstart.sh coldwork [coldstart.py options, e.g. --only get-user,authenticate]
#
# Starts scripts/run-local.sh with release binaries (it builds them if the tree changed: up to
# ~15 min on 2 cores), runs scripts/coldstart.py against it, which prints the table and writes
# target/bench/coldwork.json, then stops the stack. Exit status: coldstart.py's (1 when any
# response did not have its expected status).
#
# Optional environment: COLD_RUNS (cold starts per row, default 10), COLD_WARM (warm requests
# after the first, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=${1:-coldwork}
case "$MODE" in
  coldwork) shift || true ;;
  *) echo "usage: $0 coldwork [coldstart.py options]" >&2; exit 2 ;;
esac

scripts/setup.sh
PY="$ROOT/.venv/bin/python"
HELPER="$ROOT/scripts/local_aws.py"

STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/identity-coldwork.XXXXXX")
RUN_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
    echo "==== stopping the stack ====" >&2
    # run-local.sh stops everything it started on SIGTERM (functions first, then the rest).
    kill -TERM "$RUN_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- -"$RUN_PID" 2>/dev/null || true
  fi
  rm -rf -- "$STACK_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==== local stack (release binaries; run-local.sh builds them if needed) ===="
read -r API_PORT DYNAMODB_PORT MOTO_PORT < <("$PY" "$HELPER" free-ports 3)
ADMIN_PASSWORD=$("$PY" "$HELPER" password)
export API_PORT DYNAMODB_PORT MOTO_PORT ADMIN_PASSWORD ADMIN_USERNAME=admin TABLE_NAME=identity-coldwork
export LOCAL_RELOAD=0 LOCAL_STACK_DIR="$STACK_DIR/stack" RUST_LOG=warn LOCAL_RELEASE=1
setsid scripts/run-local.sh </dev/null >"$STACK_DIR/run.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 1 3000); do
  grep -q '^API ready at ' "$STACK_DIR/run.log" 2>/dev/null && break
  kill -0 "$RUN_PID" 2>/dev/null || { tail -n 40 "$STACK_DIR/run.log" >&2; echo "stack failed" >&2; exit 1; }
  sleep 0.5
done
grep -q '^API ready at ' "$STACK_DIR/run.log" || { tail -n 40 "$STACK_DIR/run.log" >&2; echo "stack not ready" >&2; exit 1; }
grep -E '^(API ready|DynamoDB Local:)' "$STACK_DIR/run.log"

echo "==== cold start with the real work, warm CPU per request ===="
# The function environment the stack's functions get (endpoints, table, KMS key id) is the env
# file run-local.sh wrote; coldstart.py gives it to every process it starts.
rc=0
python3 scripts/coldstart.py --api "http://127.0.0.1:$API_PORT" --user admin --password "$ADMIN_PASSWORD" \
  --env-file "$LOCAL_STACK_DIR/functions.env" --bin-dir "${CARGO_TARGET_DIR:-target}/release" "$@" || rc=$?
exit "$rc"
