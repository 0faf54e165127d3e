#!/usr/bin/env bash
# Reproducible comparison harness: end-to-end two-step (challenge/response)
# TOTP login against a local privacyIDEA server and, optionally, a local
# OpenStack Keystone (password -> auth receipt -> TOTP).
#
#   scripts/bench_privacyidea.sh [privacyidea|keystone|all]   (default privacyidea)
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
set -euo pipefail

TARGET=${1:-${BENCH_TARGET:-privacyidea}}
case "$TARGET" in privacyidea|keystone|all) ;; *) echo "usage: $0 [privacyidea|keystone|all]" >&2; exit 2 ;; esac

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
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

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
  log "privacyIDEA: config/DB setup took $((SECONDS - t0)) s"

  local PORT LABEL
  PORT=$(free_port)
  case "$PI_SERVER" in
    gunicorn)
      LABEL="gunicorn $GUNICORN_VERSION, $PI_WORKERS sync workers"
      "$VENV/bin/gunicorn" -w "$PI_WORKERS" -b "127.0.0.1:$PORT" --keep-alive 30 --log-level warning \
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
  "$VENV/bin/python" "$HERE/bench_privacyidea.py" privacyidea \
      --port "$PORT" --admin admin --admin-password "$ADMIN_PW" \
      --users "$PI_USERS" --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
      --realm bench -n "$N" --warmup "$WARMUP" \
      --label "privacyIDEA $PI_VERSION ($LABEL, sqlite)"
  log "load after measuring: $(uptime)"
  stop_server
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

  LABEL="gunicorn $GUNICORN_VERSION, $KS_WORKERS sync workers"
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
  "$VENV/bin/gunicorn" -w "$KS_WORKERS" -b "127.0.0.1:$PORT" --keep-alive 30 --log-level warning \
      --pythonpath "$DATA" ks_wsgi_shim:application >"$DATA/server.log" 2>&1 &
  SERVER_PID=$!
  log "Keystone server ($LABEL) pid $SERVER_PID on 127.0.0.1:$PORT"
  wait_http "$PORT" /v3 "$DATA/server.log"

  log "load before measuring: $(uptime)"
  "$VENV/bin/python" "$HERE/bench_privacyidea.py" keystone \
      --port "$PORT" --admin admin --admin-password "$ADMIN_PW" \
      --users "$PI_USERS" --user-password-prefix "$USER_PW_PREFIX" --seed-prefix "$SEED_PREFIX" \
      -n "$N" --warmup "$WARMUP" \
      --label "Keystone $KS_VERSION ($LABEL, sqlite, bcrypt cost ${KS_BCRYPT_ROUNDS:-12})"
  log "load after measuring: $(uptime)"
  stop_server
}

case "$TARGET" in
  privacyidea) bench_privacyidea ;;
  keystone) bench_keystone ;;
  all) bench_privacyidea; bench_keystone ;;
esac
