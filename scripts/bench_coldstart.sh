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

echo "==== local stack (release binaries; run-local.sh builds them if needed) ===="
# shellcheck source=scripts/bench_stack.sh
. scripts/bench_stack.sh
bench_stack_start coldwork
LOCAL_STACK_DIR="$STACK_DIR/stack"
grep -E '^(API ready|DynamoDB Local:)' "$STACK_DIR/run.log"

echo "==== cold start with the real work, warm CPU per request ===="
# The function environment the stack's functions get (endpoints, table, KMS key id) is the env
# file run-local.sh wrote; coldstart.py gives it to every process it starts.
rc=0
python3 scripts/coldstart.py --api "http://127.0.0.1:$API_PORT" --user admin --password "$ADMIN_PASSWORD" \
  --env-file "$LOCAL_STACK_DIR/functions.env" --bin-dir "${CARGO_TARGET_DIR:-target}/release" "$@" || rc=$?
exit "$rc"
