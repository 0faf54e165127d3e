# Sourced by the benchmarks (scripts/bench.sh, bench_coldstart.sh, bench_load.sh): starts the
# local stack with release binaries on free ports and stops it on exit.
#
#   . scripts/bench_stack.sh
#   bench_stack_start NAME [VAR=VALUE ...]   # extra settings for run-local.sh
#   # then: $API_PORT, $ROUTER_PORT, $ADMIN_PASSWORD, $STACK_DIR/stack/functions.env
#   bench_stack_stop                          # also run by the EXIT trap it installs
#
# Needs ROOT (the repository) and scripts/setup.sh to have run (.venv).

bench_stack_stop() {
  if [ -n "${RUN_PID:-}" ] && kill -0 "$RUN_PID" 2>/dev/null; then
    # run-local.sh stops everything it started on SIGTERM (functions first, then the rest).
    kill -TERM "$RUN_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- -"$RUN_PID" 2>/dev/null || true
  fi
  RUN_PID=""
  if [ -n "${STACK_DIR:-}" ]; then rm -rf -- "$STACK_DIR"; fi
  STACK_DIR=""
}

bench_stack_start() { # bench_stack_start NAME [VAR=VALUE ...]
  local name=$1 py="$ROOT/.venv/bin/python" helper="$ROOT/scripts/local_aws.py"
  shift
  STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/identity-$name.XXXXXX")
  trap bench_stack_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  read -r API_PORT ROUTER_PORT DYNAMODB_PORT MOTO_PORT < <("$py" "$helper" free-ports 4)
  ADMIN_PASSWORD=$("$py" "$helper" password)
  export API_PORT ROUTER_PORT DYNAMODB_PORT MOTO_PORT ADMIN_PASSWORD
  (
    export ADMIN_USERNAME=admin TABLE_NAME="identity-$name" LOCAL_RELOAD=0 LOCAL_RELEASE=1 \
      LOCAL_STACK_DIR="$STACK_DIR/stack" RUST_LOG=warn "$@"
    exec setsid "$ROOT/scripts/run-local.sh" </dev/null >"$STACK_DIR/run.log" 2>&1
  ) &
  RUN_PID=$!
  for _ in $(seq 1 3000); do
    grep -q '^API ready at ' "$STACK_DIR/run.log" 2>/dev/null && break
    kill -0 "$RUN_PID" 2>/dev/null || { tail -n 40 "$STACK_DIR/run.log" >&2; echo "stack failed" >&2; exit 1; }
    sleep 0.5
  done
  grep -q '^API ready at ' "$STACK_DIR/run.log" || { tail -n 40 "$STACK_DIR/run.log" >&2; echo "stack not ready" >&2; exit 1; }
}
