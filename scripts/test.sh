#!/usr/bin/env bash
# The README's TEST command: every check CI runs, in the order CI runs them.
#
#   scripts/test.sh                  # everything (what CI runs)
#   scripts/test.sh api              # only some stages: static unit template api browser
#   scripts/test.sh browser          # the local stack and the browser tests only
#
# setup -> rustfmt -> clippy -> unit tests (incl. the route-table consistency test) ->
# template checks (cfn-lint, sam validate --lint; offline) -> build the API tests -> start the
# local stack (scripts/run-local.sh) on free ports with short test timings -> API tests (black
# box, in-process) -> real client libraries (tests/clients) -> browser tests of the control
# panel (tests/browser: Debian's chromium, axe-core) -> Schemathesis (tests/openapi)
# -> AWS faults (tests/faults) -> stop the stack. Exits non-zero
# on the first failure; the stack is always stopped.
#
# Optional environment: RUST_TEST_THREADS (API tests, default 6), LAMBDA_CONCURRENCY
# (instances per function, default 3), TEST_LOG=1 (function logs on the console),
# KEEP_STACK_LOG=1 (keep the stack's log directory after a successful run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

STAGES=" ${*:-static unit template api} "
for stage in $STAGES; do
  case $stage in static | unit | template | api | browser) ;; *) echo "unknown stage: $stage (static unit template api browser)" >&2; exit 2 ;; esac
done
want() { [[ $STAGES == *" $1 "* ]]; }
# The api stage includes the browser tests; `browser` alone runs them on their own stack.
if want api; then STAGES="$STAGES browser "; fi

SECONDS=0

STACK_DIR=""
RUN_LOG=""
RUN_PID=""

stop_stack() {
  [ -n "$RUN_PID" ] || return 0
  if kill -0 "$RUN_PID" 2>/dev/null; then
    echo "stopping the local stack (pid $RUN_PID)"
    kill -TERM "$RUN_PID" 2>/dev/null || true # run-local.sh's trap stops everything it started
    for _ in $(seq 1 100); do
      kill -0 "$RUN_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$RUN_PID" 2>/dev/null; then
      echo "run-local.sh did not stop in 20 s; killing its process group" >&2
      kill -KILL -- -"$RUN_PID" 2>/dev/null || true
    fi
  fi
  wait "$RUN_PID" 2>/dev/null || true
  RUN_PID=""
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_stack
  if [ "$rc" != 0 ]; then
    if [ -n "$RUN_LOG" ] && [ -f "$RUN_LOG" ]; then
      echo "---- last 80 lines of $RUN_LOG ----" >&2
      tail -n 80 "$RUN_LOG" >&2 || true
      echo "(stack logs kept in $STACK_DIR)" >&2
    fi
    echo "FAILED (exit $rc) after $((SECONDS / 60))m$((SECONDS % 60))s" >&2
  elif [ -n "$STACK_DIR" ] && [ "${KEEP_STACK_LOG:-0}" = 1 ]; then
    echo "stack logs kept in $STACK_DIR"
  elif [ -n "$STACK_DIR" ]; then
    rm -rf -- "$STACK_DIR"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section() { printf '\n==== %s [%dm%02ds] ====\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

section "setup (scripts/setup.sh)"
scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
PY="$ROOT/.venv/bin/python"
HELPER="$ROOT/scripts/local_aws.py"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

if want static; then
  section "format (cargo fmt --all --check)"
  cargo fmt --all --check

  section "lint (cargo clippy --workspace --all-targets -- -D warnings)"
  cargo clippy --workspace --all-targets -- -D warnings
fi

if want unit; then
  section "unit tests (cargo test: default members, includes shared/tests/route_consistency.rs)"
  cargo test
fi

if want template; then
  section "template checks (cfn-lint, sam validate --lint, sam deploy --guided defaults)"
  # Both work offline: cfn-lint ships its resource specs, and `sam validate --lint` only lints.
  export SAM_CLI_TELEMETRY=0
  cfn-lint template.yaml
  AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template-file template.yaml
  # What `sam deploy --guided` would ask: every default must be the right answer.
  AWS_DEFAULT_REGION=us-east-1 "$PY" tests/deploy/guided_defaults.py
fi

if ! want api && ! want browser; then
  section "all requested checks passed"
  exit 0
fi

if want api; then
  section "build API tests (cargo test -p api-tests --no-run)"
  cargo test -p api-tests --no-run
fi

section "start local stack (scripts/run-local.sh on free ports)"
STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/identity-test.XXXXXX")
RUN_LOG="$STACK_DIR/run-local.log"

# Never assume 5000/8000/9000 are free: ask the kernel for three free ports.
read -r API_PORT DYNAMODB_PORT MOTO_PORT < <("$PY" "$HELPER" free-ports 3)
export API_PORT DYNAMODB_PORT MOTO_PORT
export TABLE_NAME="identity-test"
export ADMIN_USERNAME="admin"
ADMIN_PASSWORD=$("$PY" "$HELPER" password)
export ADMIN_PASSWORD
# Short timings so the expiry / lockout tests finish quickly; the API tests read the same values.
export SMS_MIN_INTERVAL_SECONDS=2
export PIN_TTL_SECONDS=20
export SESSION_TTL_SECONDS=60
export LOCKOUT_SECONDS=6
export LOCKOUT_CAP=5
export OTP_VERIFY_LOCK_SECONDS=6
export NEW_DOMAIN_ENFORCEMENT_LEVEL=OPTIONAL
export LOCAL_RELOAD=0
# The functions log at TRACE (the most they ever can), and the suite scans that log for every
# secret it used (tests/api/logs.rs): nothing secret may reach a log at any level.
export AWS_LAMBDA_LOG_LEVEL=TRACE
export LAMBDA_CONCURRENCY=${LAMBDA_CONCURRENCY:-3}
export LOCAL_STACK_DIR="$STACK_DIR/stack"

# Own session, so a Ctrl-C meant for this script reaches run-local.sh only through stop_stack.
setsid scripts/run-local.sh </dev/null >"$RUN_LOG" 2>&1 &
RUN_PID=$!
if [ "${TEST_LOG:-0}" = 1 ]; then tail -n +1 -f "$RUN_LOG" --pid "$RUN_PID" & fi

for _ in $(seq 1 3000); do # up to ~25 min (a cold build on 2 cores is the slow part)
  grep -q '^API ready at ' "$RUN_LOG" 2>/dev/null && break
  kill -0 "$RUN_PID" 2>/dev/null || { echo "run-local.sh exited before the API was ready" >&2; exit 1; }
  sleep 0.5
done
grep -q '^API ready at ' "$RUN_LOG" || { echo "timed out waiting for the API" >&2; exit 1; }
grep '^API ready at ' "$RUN_LOG"

export API_URL="http://127.0.0.1:$API_PORT"
export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
export MOTO_URL="http://127.0.0.1:$MOTO_PORT"
export STACK_LOG="$RUN_LOG"
export STACK_PIDS="$LOCAL_STACK_DIR/pids"
# For the tests' direct table reads (DynamoDB Local runs with -sharedDb, any credentials work).
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_ENDPOINT" AWS_ENDPOINT_URL_SNS="$MOTO_URL" AWS_ENDPOINT_URL_KMS="$MOTO_URL"
unset AWS_PROFILE AWS_SESSION_TOKEN
export ADMIN_USERNAME ADMIN_PASSWORD

if want api; then
  section "API tests (cargo test -p api-tests)"
  RUST_TEST_THREADS=${RUST_TEST_THREADS:-6} cargo test -p api-tests --test api --test inproc

  section "client libraries (tests/clients: keystoneauth1, rackspaceauth, libcloud, pyrax)"
  (cd tests/clients && "$ROOT/.venv-clients-modern/bin/python" modern.py)
  (cd tests/clients && "$ROOT/.venv-clients-pyrax/bin/python" pyrax_client.py)
fi

if want browser; then
  section "browser tests (tests/browser: Chromium, axe-core)"
  # localhost, not 127.0.0.1: the panel's passkeys need a secure context (an IP address cannot
  # be a WebAuthn RP id). Screenshots and the axe report go to the stack's temp dir
  # (SCREENSHOTS=1 writes the screenshots into docs/console/ instead).
  API_URL="http://localhost:$API_PORT" BROWSER_ARTIFACTS="$STACK_DIR/browser" \
    "$ROOT/.venv-browser/bin/python" -m pytest tests/browser -q
fi

if want api; then
  section "OpenAPI conformance (tests/openapi/run.sh: Schemathesis, every operation, two callers)"
  tests/openapi/run.sh

  section "AWS faults (tests/faults: emulators suspended in turn, one test at a time)"
  cargo test -p api-tests --test faults -- --test-threads=1
fi

section "stop local stack (within 10 s, no error lines from the functions)"
STOP_START=$SECONDS
stop_stack
STOP_SECS=$((SECONDS - STOP_START))
STOP_ERRORS=$(sed -n '/stopping [0-9]* services/,$p' "$RUN_LOG" | grep -c -E '^Error:|"level":"ERROR"' || true)
echo "stopped in ${STOP_SECS}s with $STOP_ERRORS error lines"
if [ "$STOP_SECS" -gt 10 ] || [ "$STOP_ERRORS" != 0 ]; then
  sed -n '/stopping [0-9]* services/,$p' "$RUN_LOG" | tail -n 20 >&2
  echo "the stack did not stop cleanly" >&2
  exit 1
fi

section "all checks passed"
