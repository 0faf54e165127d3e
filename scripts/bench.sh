#!/usr/bin/env bash
# The README's BENCHMARK command: sizes and cold starts of the release binaries, then warm
# latencies on the local stack; prints the tables and writes docs/performance.md.
# Never part of the test command (no timing is asserted anywhere).
#
#   scripts/bench.sh          size, cold start, warm latency (writes docs/performance.md)
#   scripts/bench.sh soak     memory soak: RSS of authenticate/create-user instances over
#                             thousands of password steps and user creations (scripts/soak.py)
#
# Optional environment: BENCH_RUNS (cold starts per function, default 20), BENCH_N (requests
# per endpoint, default 200), BENCH_MFA_USERS (MFA logins, default 30); SOAK_LOGINS (3000),
# SOAK_CREATES (1000), SOAK_CLIENTS (4).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh

echo "==== release build (cargo build --release --bins) ===="
cargo build --release --bins

SOAK=0
[ "${1:-}" = soak ] && SOAK=1
if [ "$SOAK" = 0 ]; then
  echo "==== size and cold start ===="
  python3 scripts/bench.py cold --bin-dir "${CARGO_TARGET_DIR:-target}/release" --runs "${BENCH_RUNS:-20}"
fi

echo "==== warm latency on the local stack ===="
# shellcheck source=scripts/bench_stack.sh
. scripts/bench_stack.sh
bench_stack_start bench
if [ "$SOAK" = 1 ]; then
  echo "==== memory soak ===="
  python3 scripts/soak.py --api "http://127.0.0.1:$API_PORT" --user admin --password "$ADMIN_PASSWORD" \
    --logins "${SOAK_LOGINS:-3000}" --creates "${SOAK_CREATES:-1000}" --clients "${SOAK_CLIENTS:-4}"
  exit 0
fi
MODE=release
python3 scripts/bench.py warm --api "http://127.0.0.1:$API_PORT" --user admin --password "$ADMIN_PASSWORD" \
  --n "${BENCH_N:-200}" --mfa-users "${BENCH_MFA_USERS:-30}" --mode "$MODE"

python3 scripts/bench.py report
