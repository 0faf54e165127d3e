#!/usr/bin/env bash
# Reproducible comparison harness: end-to-end two-step (challenge/response)
# TOTP login against a local privacyIDEA server and, optionally, a local
# OpenStack Keystone (password -> auth receipt -> TOTP).
#
#   scripts/bench_privacyidea.sh [privacyidea|keystone|all]        (default privacyidea)
#   scripts/bench_privacyidea.sh load [privacyidea|keystone|all]   (default all)
#
# The first form is the sequential latency benchmark (one client, N logins).
# The second ("load mode") runs each server with gunicorn's recommended
# 2 x cores + 1 workers, provisions a pool of users per scenario so that no
# TOTP code is ever reused (a user is used again only >= 31 s after its last
# use), and measures two scenarios at each client count in CLIENTS with
# scripts/loadgen.py (closed loop; gunicorn's sync workers close every
# connection, so there is no keep-alive):
#   verify  the single request that checks a TOTP code and grants the login,
#           with no password hashing in it (privacyIDEA: /validate/check with
#           user + OTP for a token without PIN in a realm without an otppin
#           policy; Keystone: POST /v3/auth/tokens, method totp only, for a
#           user without MFA rules and without a password)
#   login   the full two-step login of the sequential mode
# It prints one row per (scenario, clients) and writes
# $LOAD_OUT/load-<peer>.json. The pools are provisioned before the server
# starts, in-process through the server's own library (as pi-manage /
# keystone-manage do), with SQLite fsync off in those processes only: over
# HTTP this machine managed only ~4-7 users/s. Server CPU counts the gunicorn
# master and its workers.
#
# Installs a pinned privacyIDEA from PyPI into a venv OUTSIDE the repo
# (default /tmp/pi-bench/venv), configures it with SQLite, a passwd-style
# flat-file user resolver and one TOTP token (known seed) per test user,
# starts it under gunicorn on 127.0.0.1:<free port>, then runs
# scripts/bench_privacyidea.py and stops the server (trap, no orphans).
#
# Only 127.0.0.1 traffic is generated; all loops are bounded.
#
# Environment knobs (defaults in brackets):
#   BENCH_DIR      [/tmp/pi-bench]  venv, config, sqlite DB, logs
#   PI_VERSION     [3.14]           privacyIDEA version from PyPI
#   GUNICORN_VERSION [27.0.1]       gunicorn version from PyPI
#   PI_SERVER      [gunicorn]       gunicorn | devserver (werkzeug, pi-manage run)
#   PI_WORKERS     [2]              gunicorn worker processes
#   PI_LOGLEVEL    [WARNING]        privacyIDEA log level (INFO is the shipped default)
#   N              [50]             measured logins
#   WARMUP         [5]              warm-up logins (excluded)
#   PI_USERS       [N+WARMUP]       test users / TOTP tokens to create
#   PYTHON         [python3.11]     interpreter used to build the venv
#   KS_VERSION     [30.0.0]         Keystone version from PyPI (target keystone)
#   KS_WORKERS     [$PI_WORKERS]    gunicorn workers for Keystone
#   KS_BCRYPT_ROUNDS [unset]        Keystone [identity] password_hash_rounds
#                                   (unset = Keystone default, bcrypt cost 12)
# Load mode only:
#   LOAD_WORKERS   [2*cores+1]      gunicorn workers of both servers
#   CLIENTS        ["1 16"]         concurrent clients, one run each
#   LOAD_SECONDS   [15]             measured seconds per run
#   LOAD_WARMUP    [3]              warm-up seconds before each run (excluded)
#   VERIFY_POOL    [pi 2000, ks 4500] users/tokens for the verify scenario
#   LOGIN_POOL     [pi 800, ks 300]   users/tokens for the login scenario
#                  (each >= 30 x the scenario's peak ops/s seen on 2 cores, and
#                  more than a 1-client plus a 16-client run consume; a run that
#                  runs out of unused users stops early, flagged POOL EXHAUSTED)
#   PI_SHARD       [200]            privacyIDEA users per passwd file/realm
#   PROVISION_PROCS [cores]         processes provisioning the pools (in-process,
#                                   server library, before the server starts)
#   LOAD_OUT       [<repo>/target/bench]  where load-<peer>.json is written
set -euo pipefail

MODE=seq
if [ "${1:-}" = load ]; then MODE=load; shift; fi
if [ "$MODE" = load ]; then TARGET=${1:-all}; else TARGET=${1:-${BENCH_TARGET:-privacyidea}}; fi
case "$TARGET" in privacyidea|keystone|all) ;; *) echo "usage: $0 [load] [privacyidea|keystone|all]" >&2; exit 2 ;; esac

BENCH_DIR=${BENCH_DIR:-/tmp/pi-bench}
PI_VERSION=${PI_VERSION:-3.14}
GUNICORN_VERSION=${GUNICORN_VERSION:-27.0.1}
PI_SERVER=${PI_SERVER:-gunicorn}
PI_WORKERS=${PI_WORKERS:-2}
PI_LOGLEVEL=${PI_LOGLEVEL:-WARNING}
N=${N:-50}
WARMUP=${WARMUP:-5}
PI_USERS=${PI_USERS:-$((N + WARMUP))}
PYTHON=${PYTHON:-python3.11}
KS_VERSION=${KS_VERSION:-30.0.0}
KS_WORKERS=${KS_WORKERS:-$PI_WORKERS}
KS_BCRYPT_ROUNDS=${KS_BCRYPT_ROUNDS:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CORES=$(nproc)
LOAD_WORKERS=${LOAD_WORKERS:-$((2 * CORES + 1))}
CLIENTS=${CLIENTS:-1 16}
LOAD_SECONDS=${LOAD_SECONDS:-15}
LOAD_WARMUP=${LOAD_WARMUP:-3}
PROVISION_PROCS=${PROVISION_PROCS:-$CORES}
LOAD_OUT=${LOAD_OUT:-$(cd "$HERE/.." && pwd)/target/bench}
PI_SHARD=${PI_SHARD:-200}
PI_VERIFY_POOL=${VERIFY_POOL:-2000}
PI_LOGIN_POOL=${LOGIN_POOL:-800}
KS_VERIFY_POOL=${VERIFY_POOL:-4500}
KS_LOGIN_POOL=${LOGIN_POOL:-300}
if [ "$LOAD_WORKERS" = $((2 * CORES + 1)) ]; then
  WORKERS_NOTE="$LOAD_WORKERS sync workers = 2x$CORES cores+1"
else
  WORKERS_NOTE="$LOAD_WORKERS sync workers (LOAD_WORKERS)"
fi

case "$BENCH_DIR" in
  "$(cd "$HERE/.." && pwd)"*) echo "BENCH_DIR must be outside the repo" >&2; exit 2 ;;
esac

mkdir -p "$BENCH_DIR"

log() { printf '[bench_privacyidea] %s\n' "$*" >&2; }
rand() { "$PYTHON" -c 'import secrets; print(secrets.token_hex(24))'; }
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# ---------------------------------------------------------------- server lifecycle
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true      # gunicorn master stops its workers
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
# Load mode runs the client in the background and waits for it, so that a
# signal reaches the trap at once (bash defers traps until a foreground
# child exits) and the trap can stop the client as well.
CLIENT_PID=
stop_client() {
  if [ -n "$CLIENT_PID" ] && kill -0 "$CLIENT_PID" 2>/dev/null; then
    kill -TERM "$CLIENT_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
  fi
  CLIENT_PID=
}
run_client() {
  local rc=0
  "$@" &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=
  return "$rc"
}
cleanup() { stop_client; stop_server; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# wait_http PORT PATH LOGFILE: bounded wait (90 s wall clock) until the server answers.
wait_http() {
  local port=$1 path=$2 logf=$3 t0=$SECONDS
  while [ $((SECONDS - t0)) -lt 90 ]; do
    if "$PYTHON" -c "import http.client,sys; c=http.client.HTTPConnection('127.0.0.1',$port,timeout=3); c.request('GET','$path'); sys.exit(0 if c.getresponse().status < 500 else 1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -30 "$logf" >&2; exit 1; }
    sleep 0.5
  done
  echo "server did not come up within 90 s" >&2; tail -30 "$logf" >&2; exit 1
}

# venv_ensure VENV PKG==VER ...: (re)install only if the pinned versions differ.
venv_ensure() {
  local venv=$1; shift
  local want have ok=1 spec
  if [ -x "$venv/bin/python" ]; then
    for spec in "$@"; do
      want=${spec#*==}
      have=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('${spec%%==*}'))" 2>/dev/null || true)
      [ "$have" = "$want" ] || ok=0
    done
  else
    ok=0
  fi
  if [ "$ok" = 1 ]; then log "reusing $venv ($*)"; return 0; fi
  log "installing $* into $venv"
  local t0=$SECONDS
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
  "$venv/bin/pip" freeze --disable-pip-version-check > "$venv.freeze.txt"
  log "install of $* took $((SECONDS - t0)) s"
}

# ================================================================ privacyIDEA
bench_privacyidea() {
  local VENV=$BENCH_DIR/venv DATA=$BENCH_DIR/data
  venv_ensure "$VENV" "privacyidea==$PI_VERSION" "gunicorn==$GUNICORN_VERSION"   # passlib comes with privacyidea

  rm -rf "$DATA"; mkdir -p "$DATA"            # fresh state every run
  export PRIVACYIDEA_CONFIGFILE=$DATA/pi.cfg
  local ADMIN_PW USER_PW_PREFIX=pw- SEED_PREFIX=bench-totp-seed-
  ADMIN_PW=$(rand)
  cat > "$PRIVACYIDEA_CONFIGFILE" <<EOF
import logging
SQLALCHEMY_DATABASE_URI = 'sqlite:///$DATA/privacyidea.sqlite'
SECRET_KEY = '$(rand)'
PI_PEPPER = '$(rand)'
PI_ENCFILE = '$DATA/enckey'
PI_AUDIT_KEY_PRIVATE = '$DATA/private.pem'
PI_AUDIT_KEY_PUBLIC = '$DATA/public.pem'
PI_LOGFILE = '$DATA/privacyidea.log'
PI_LOGLEVEL = logging.$PI_LOGLEVEL
SUPERUSER_REALM = ['superuser']
PI_BASE_URL = 'http://127.0.0.1/'
EOF
  pim() { "$VENV/bin/pi-manage" "$@" >>"$DATA/setup.log" 2>&1 || { cat "$DATA/setup.log" >&2; exit 1; }; }

  local t0=$SECONDS
  log "privacyIDEA: creating keys, tables, admin"
  pim setup create_enckey
  pim setup create_audit_keys
  pim setup create_tables
  pim admin add admin -p "$ADMIN_PW"

  if [ "$MODE" = load ]; then
    pi_users_load
  else
    # passwd-style flat file: user:sha512_crypt:uid:gid:gecos:home:shell.
    # 5000 rounds = glibc crypt(3) default, i.e. what a real /etc/shadow holds.
    log "privacyIDEA: $PI_USERS users in a passwd flat-file resolver"
    "$VENV/bin/python" - "$DATA/passwd" "$PI_USERS" "$USER_PW_PREFIX" <<'EOF'
import sys
from passlib.hash import sha512_crypt
path, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    for i in range(n):
        u = f"bench{i:04d}"
        h = sha512_crypt.using(rounds=5000).hash(prefix + u)
        f.write(f"{u}:{h}:{10000 + i}:{10000 + i}:Bench User {i}:/home/{u}:/bin/sh\n")
EOF
    echo "{'fileName': '$DATA/passwd'}" > "$DATA/resolver.conf"
    pim config resolver create benchusers passwdresolver "$DATA/resolver.conf"
    pim config realm create bench benchusers
    pim config realm set_default bench
    # Two-step login: /validate/check with the userstore password (otppin=userstore)
    # triggers a TOTP challenge (challenge_response=totp); the second call sends
    # transaction_id + OTP. passthru is left off (not set).
    pim config policy create bench_auth authentication "otppin=userstore, challenge_response=totp"
  fi
  log "privacyIDEA: config/DB setup took $((SECONDS - t0)) s"

  local PORT LABEL WORKERS=$PI_WORKERS
  if [ "$MODE" = load ]; then
    [ "$PI_SERVER" = gunicorn ] || { echo "load mode needs PI_SERVER=gunicorn" >&2; exit 2; }
    WORKERS=$LOAD_WORKERS
    log "privacyIDEA: provisioning TOTP tokens for the pools ($PROVISION_PROCS processes)"
    run_client "$VENV/bin/python" "$HERE/bench_privacyidea.py" privacyidea --provision \
        --config "$PRIVACYIDEA_CONFIGFILE" --procs "$PROVISION_PROCS" \
        --verify-pool "$PI_VERIFY_POOL" --login-pool "$PI_LOGIN_POOL" \
        --realm bench --verify-realm verify --shard "$PI_SHARD" --seed-prefix "$SEED_PREFIX" \
        --state-out "$DATA/pools.json" 2>>"$DATA/provision.log" \
      || { tail -20 "$DATA/provision.log" >&2; exit 1; }
    grep -E "^(provisioned|WARNING)" "$DATA/provision.log" | sed 's/^/[bench_privacyidea] privacyIDEA: /' >&2 || true
  fi
  PORT=$(free_port)
  case "$PI_SERVER" in
    gunicorn)
      if [ "$MODE" = load ]; then LABEL="gunicorn $GUNICORN_VERSION, $WORKERS_NOTE"
      else LABEL="gunicorn $GUNICORN_VERSION, $PI_WORKERS sync workers"; fi
      "$VENV/bin/gunicorn" -w "$WORKERS" -b "127.0.0.1:$PORT" --keep-alive 30 --log-level warning \
          "privacyidea.app:create_app(config_name='production', config_file='$PRIVACYIDEA_CONFIGFILE', silent=True)" \
          >"$DATA/server.log" 2>&1 &
      SERVER_PID=$! ;;
    devserver)
      LABEL="werkzeug dev server (pi-manage run)"
      "$VENV/bin/pi-manage" run -h 127.0.0.1 -p "$PORT" >"$DATA/server.log" 2>&1 &
      SERVER_PID=$! ;;
    *) echo "PI_SERVER must be gunicorn or devserver" >&2; exit 2 ;;
  esac
  log "privacyIDEA server ($LABEL) pid $SERVER_PID on 127.0.0.1:$PORT"
  wait_http "$PORT" /healthz/ "$DATA/server.log"

  log "load before measuring: $(uptime)"
  if [ "$MODE" = load ]; then
    mkdir -p "$LOAD_OUT"
    run_client "$VENV/bin/python" "$HERE/bench_privacyidea.py" privacyidea --load \
        --port "$PORT" --admin admin --admin-password "$ADMIN_PW" --server-pid "$SERVER_PID" \
        --pools "$DATA/pools.json" --db-dir "$DATA" \
        --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
        --realm bench --verify-realm verify --shard "$PI_SHARD" \
        --clients "$CLIENTS" --seconds "$LOAD_SECONDS" --warmup-seconds "$LOAD_WARMUP" \
        --workers "$WORKERS" \
        --server-log "$DATA/privacyidea.log" --server-log "$DATA/server.log" \
        --out "$LOAD_OUT/load-privacyidea.json" \
        --label "privacyIDEA $PI_VERSION ($LABEL, sqlite)" \
        --short-label "privacyIDEA $PI_VERSION ${WORKERS}w sqlite"
  else
    "$VENV/bin/python" "$HERE/bench_privacyidea.py" privacyidea \
        --port "$PORT" --admin admin --admin-password "$ADMIN_PW" \
        --users "$PI_USERS" --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
        --realm bench -n "$N" --warmup "$WARMUP" \
        --label "privacyIDEA $PI_VERSION ($LABEL, sqlite)"
  fi
  log "load after measuring: $(uptime)"
  stop_server
}

# Load mode users: passwd flat files, one resolver + realm per shard of at most
# PI_SHARD users. privacyIDEA's passwd resolver re-reads its whole file on every
# request (request-local cache): 1500 users cost ~6 ms a request, 200 ~1 ms, so
# shards keep that cost small and independent of the pool size.
#   realms bench00, bench01, ... (bench00 default): login pool lgnNNNNN with
#       sha512_crypt passwords (5000 rounds) and the sequential mode's policy
#       otppin=userstore + challenge_response=totp, scoped to these realms.
#   realms verify00, verify01, ...: verify pool vfyNNNNN, no password ("*") and
#       no authentication policy, i.e. otppin=tokenpin, with tokens enrolled
#       without a PIN: /validate/check with pass=<OTP> alone grants the login.
# Runs inside bench_privacyidea (uses its VENV, DATA, USER_PW_PREFIX, pim).
pi_users_load() {
  log "privacyIDEA: login pool $PI_LOGIN_POOL + verify pool $PI_VERIFY_POOL users in passwd flat files, realms of <= $PI_SHARD users"
  "$VENV/bin/python" - "$DATA" "$PI_LOGIN_POOL" "$PI_VERIFY_POOL" "$USER_PW_PREFIX" "$PI_SHARD" <<'EOF'
import json, sys
from passlib.hash import sha512_crypt
data, n_login, n_verify, prefix, shard = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
conf = {"resolver": {}, "realm": {}, "policy": []}
bench_realms = []
for base, n, uid0 in (("lgn", n_login, 100000), ("vfy", n_verify, 200000)):
    realm_base = "bench" if base == "lgn" else "verify"
    for s in range((n + shard - 1) // shard):
        realm, resolver, path = f"{realm_base}{s:02d}", f"{base}users{s:02d}", f"{data}/passwd-{base}{s:02d}"
        with open(path, "w") as f:
            for i in range(s * shard, min(n, (s + 1) * shard)):
                u = f"{base}{i:05d}"
                pw = sha512_crypt.using(rounds=5000).hash(prefix + u) if base == "lgn" else "*"
                f.write(f"{u}:{pw}:{uid0 + i}:{uid0 + i}:Bench User {i}:/home/{u}:/bin/sh\n")
        conf["resolver"][resolver] = {"resolvername": resolver, "type": "passwdresolver",
                                      "data": {"fileName": path}}
        conf["realm"][realm] = {"default": realm == "bench00",
                                "resolver": [{"name": resolver, "type": "passwdresolver"}]}
        if base == "lgn":
            bench_realms.append(realm)
conf["policy"].append({"name": "bench_auth", "scope": "authentication", "active": True,
                       "realm": bench_realms,
                       "action": {"otppin": "userstore", "challenge_response": "totp"}})
with open(f"{data}/load-config.json", "w") as f:
    json.dump(conf, f, indent=1)
print(f"[bench_privacyidea] privacyIDEA: {len(conf['realm'])} realms/resolvers to import", file=sys.stderr)
EOF
  pim config import -i "$DATA/load-config.json"   # resolvers, realms, policy in one call
}

# ================================================================ Keystone
bench_keystone() {
  local VENV=$BENCH_DIR/ks-venv DATA=$BENCH_DIR/ks-data
  venv_ensure "$VENV" "keystone==$KS_VERSION" "gunicorn==$GUNICORN_VERSION"

  rm -rf "$DATA"; mkdir -p "$DATA"/{fernet-keys,fernet-receipts,credential-keys}
  export OS_KEYSTONE_CONFIG_FILES=$DATA/keystone.conf
  local ADMIN_PW PORT USER_PW_PREFIX=pw- SEED_PREFIX=bench-totp-seed- LABEL
  ADMIN_PW=$(rand)
  PORT=$(free_port)
  cat > "$OS_KEYSTONE_CONFIG_FILES" <<EOF
[DEFAULT]
log_file = $DATA/keystone.log
debug = false
[database]
connection = sqlite:///$DATA/keystone.sqlite
[token]
provider = fernet
[fernet_tokens]
key_repository = $DATA/fernet-keys
[fernet_receipts]
key_repository = $DATA/fernet-receipts
[credential]
key_repository = $DATA/credential-keys
[auth]
methods = password,token,totp
[identity]
${KS_BCRYPT_ROUNDS:+password_hash_rounds = $KS_BCRYPT_ROUNDS}
EOF
  km() { "$VENV/bin/keystone-manage" --config-file "$OS_KEYSTONE_CONFIG_FILES" "$@" >>"$DATA/setup.log" 2>&1 || { cat "$DATA/setup.log" >&2; exit 1; }; }
  local t0=$SECONDS
  log "Keystone: db_sync, key repositories, bootstrap"
  km db_sync
  km fernet_setup --keystone-user root --keystone-group root
  km receipt_setup --keystone-user root --keystone-group root
  km credential_setup --keystone-user root --keystone-group root
  km bootstrap --bootstrap-password "$ADMIN_PW" --bootstrap-username admin \
     --bootstrap-project-name admin --bootstrap-role-name admin \
     --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
     --bootstrap-public-url "http://127.0.0.1:$PORT/v3"
  log "Keystone: setup took $((SECONDS - t0)) s"

  local WORKERS=$KS_WORKERS
  if [ "$MODE" = load ]; then
    WORKERS=$LOAD_WORKERS
    LABEL="gunicorn $GUNICORN_VERSION, $WORKERS_NOTE"
    log "Keystone: provisioning users + TOTP credentials for the pools ($PROVISION_PROCS processes)"
    run_client "$VENV/bin/python" "$HERE/bench_privacyidea.py" keystone --provision \
        --config "$OS_KEYSTONE_CONFIG_FILES" --procs "$PROVISION_PROCS" \
        --verify-pool "$KS_VERIFY_POOL" --login-pool "$KS_LOGIN_POOL" \
        --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
        --state-out "$DATA/pools.json" 2>>"$DATA/provision.log" \
      || { tail -20 "$DATA/provision.log" >&2; exit 1; }
    grep -E "^(provisioned|WARNING)" "$DATA/provision.log" | sed 's/^/[bench_privacyidea] Keystone: /' >&2 || true
  else
    LABEL="gunicorn $GUNICORN_VERSION, $KS_WORKERS sync workers"
  fi
  # oslo.config parses sys.argv at import time and chokes on gunicorn's own
  # arguments, so load keystone.wsgi.api through a shim that hides them.
  cat > "$DATA/ks_wsgi_shim.py" <<'EOF'
import sys
_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    from keystone.wsgi.api import application  # noqa: F401
finally:
    sys.argv = _argv
EOF
  "$VENV/bin/gunicorn" -w "$WORKERS" -b "127.0.0.1:$PORT" --keep-alive 30 --log-level warning \
      --pythonpath "$DATA" ks_wsgi_shim:application >"$DATA/server.log" 2>&1 &
  SERVER_PID=$!
  log "Keystone server ($LABEL) pid $SERVER_PID on 127.0.0.1:$PORT"
  wait_http "$PORT" /v3 "$DATA/server.log"

  log "load before measuring: $(uptime)"
  if [ "$MODE" = load ]; then
    mkdir -p "$LOAD_OUT"
    run_client "$VENV/bin/python" "$HERE/bench_privacyidea.py" keystone --load \
        --port "$PORT" --admin admin --admin-password "$ADMIN_PW" --server-pid "$SERVER_PID" \
        --pools "$DATA/pools.json" --db-dir "$DATA" \
        --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
        --clients "$CLIENTS" --seconds "$LOAD_SECONDS" --warmup-seconds "$LOAD_WARMUP" \
        --workers "$WORKERS" \
        --server-log "$DATA/keystone.log" --server-log "$DATA/server.log" \
        --out "$LOAD_OUT/load-keystone.json" \
        --label "Keystone $KS_VERSION ($LABEL, sqlite, bcrypt cost ${KS_BCRYPT_ROUNDS:-12})" \
        --short-label "Keystone $KS_VERSION ${WORKERS}w sqlite"
  else
    "$VENV/bin/python" "$HERE/bench_privacyidea.py" keystone \
        --port "$PORT" --admin admin --admin-password "$ADMIN_PW" \
        --users "$PI_USERS" --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
        -n "$N" --warmup "$WARMUP" \
        --label "Keystone $KS_VERSION ($LABEL, sqlite, bcrypt cost ${KS_BCRYPT_ROUNDS:-12})"
  fi
  log "load after measuring: $(uptime)"
  stop_server
}

case "$TARGET" in
  privacyidea) bench_privacyidea ;;
  keystone) bench_keystone ;;
  all) bench_privacyidea; bench_keystone ;;
esac
if [ "$MODE" = load ]; then log "load mode ($TARGET) took $SECONDS s in all; results in $LOAD_OUT"; fi
