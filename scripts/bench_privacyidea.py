#!/usr/bin/env python3
"""Measure an end-to-end two-step TOTP login against a local MFA server.

Normally run by scripts/bench_privacyidea.sh, which installs, configures and
starts the server. Stdlib only. Only loopback traffic; all loops bounded.

privacyIDEA (target `privacyidea`), challenge/response with policy
`otppin=userstore, challenge_response=totp`, passthru off:
  1. POST /validate/check  user, realm, pass=<userstore password>
       -> result.value false + detail.transaction_id (TOTP challenge)
  2. POST /validate/check  user, realm, transaction_id, pass=<TOTP code>
       -> result.value true

Keystone (target `keystone`), user option multi_factor_auth_rules
[["password","totp"]] with a TOTP credential:
  1. POST /v3/auth/tokens  methods ["password"]
       -> 401 + Openstack-Auth-Receipt header (auth receipt)
  2. POST /v3/auth/tokens  methods ["totp"] + Openstack-Auth-Receipt
       -> 201 + X-Subject-Token (unscoped token)

Both calls of a login are timed together, over one keep-alive http.client
connection. Each login uses a different user/token, so no TOTP code is
replayed within its 30 s step (privacyIDEA rejects counters <= the last one
used for a token).

With --load (scripts/bench_privacyidea.sh load ...) it instead provisions user
pools and measures throughput under concurrent load with scripts/loadgen.py;
see the "load mode" section below.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import statistics
import struct
import sys
import threading
import time
import urllib.parse

STEP = 30


def totp(key: bytes, t: float, digits: int = 6, step: int = STEP) -> str:
    counter = int(t // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


class Client:
    """One keep-alive HTTP/1.1 connection to a loopback server."""

    def __init__(self, host, port, timeout=60):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("refusing to send traffic to a non-loopback host")
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, form=True):
        h = {"Connection": "keep-alive"}
        if body is not None:
            if form:
                body = urllib.parse.urlencode(body)
                h["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body = json.dumps(body)
                h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError, http.client.CannotSendRequest):
                # Server closed the keep-alive socket; reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt:
                    raise
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return resp.status, resp, js, data

    def ok(self, method, path, body=None, headers=None, form=True, expect=(200, 201)):
        st, resp, js, raw = self.request(method, path, body, headers, form)
        if st not in expect:
            raise RuntimeError(f"{method} {path}: HTTP {st}: {raw[:500]!r}")
        return resp, js


# ---------------------------------------------------------------- privacyIDEA
class PrivacyIDEA:
    def __init__(self, c, a, users, seeds):
        self.c, self.a, self.users, self.seeds = c, a, users, seeds

    def enrol(self):
        c, a = self.c, self.a
        _, r = c.ok("POST", "/auth", {"username": a.admin, "password": a.admin_password})
        auth = {"Authorization": r["result"]["value"]["token"]}
        for u in self.users:
            _, r = c.ok("POST", "/token/init", {
                "type": "totp", "otpkey": self.seeds[u].hex(), "genkey": 0,
                "serial": "TOTP-" + u, "user": u, "realm": a.realm,
                "otplen": 6, "hashlib": "sha1", "timeStep": STEP,
            }, auth)
            if not r["result"]["status"] or not r["result"]["value"]:
                raise RuntimeError(f"token/init failed for {u}: {r}")

    def step1(self, u):
        _, r = self.c.ok("POST", "/validate/check", {
            "user": u, "realm": self.a.realm, "pass": self.a.user_password_prefix + u})
        tid = (r.get("detail") or {}).get("transaction_id")
        if not r["result"].get("status") or r["result"].get("value") or not tid:
            raise RuntimeError(f"step 1 did not return a challenge for {u}: {r}")
        return tid

    def step2(self, u, tid, code):
        _, r = self.c.ok("POST", "/validate/check", {
            "user": u, "realm": self.a.realm, "transaction_id": tid, "pass": code})
        if r["result"].get("value") is not True:
            raise RuntimeError(f"step 2 rejected for {u}: {r}")


# ---------------------------------------------------------------- Keystone
class Keystone:
    DOMAIN = {"id": "default"}

    def __init__(self, c, a, users, seeds):
        self.c, self.a, self.users, self.seeds = c, a, users, seeds

    def enrol(self):
        c, a = self.c, self.a
        resp, _ = c.ok("POST", "/v3/auth/tokens", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": a.admin, "domain": self.DOMAIN, "password": a.admin_password}}},
            "scope": {"project": {"name": "admin", "domain": self.DOMAIN}}}}, form=False)
        auth = {"X-Auth-Token": resp.getheader("X-Subject-Token")}
        for u in self.users:
            _, r = c.ok("POST", "/v3/users", {"user": {
                "name": u, "domain_id": "default", "enabled": True,
                "password": a.user_password_prefix + u,
                "options": {"multi_factor_auth_enabled": True,
                            "multi_factor_auth_rules": [["password", "totp"]]}}},
                auth, form=False)
            uid = r["user"]["id"]
            blob = base64.b32encode(self.seeds[u]).decode()
            c.ok("POST", "/v3/credentials", {"credential": {
                "type": "totp", "user_id": uid, "blob": blob}}, auth, form=False)

    def step1(self, u):
        st, resp, js, raw = self.c.request("POST", "/v3/auth/tokens", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": u, "domain": self.DOMAIN,
                "password": self.a.user_password_prefix + u}}}}}, form=False)
        receipt = resp.getheader("Openstack-Auth-Receipt")
        if st != 401 or not receipt:
            raise RuntimeError(f"step 1 did not return an auth receipt for {u}: {st} {raw[:300]!r}")
        return receipt

    def step2(self, u, receipt, code):
        resp, _ = self.c.ok("POST", "/v3/auth/tokens", {"auth": {
            "identity": {"methods": ["totp"], "totp": {"user": {
                "name": u, "domain": self.DOMAIN, "passcode": code}}}}},
            {"Openstack-Auth-Receipt": receipt}, form=False, expect=(201,))
        if not resp.getheader("X-Subject-Token"):
            raise RuntimeError(f"step 2 returned no token for {u}")


def pct(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target", choices=["privacyidea", "keystone"])
    ap.add_argument("--load", action="store_true",
                    help="load mode (see load_main); the options below marked [load] apply")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--admin", default="admin")
    ap.add_argument("--admin-password")
    ap.add_argument("--realm", default="bench")
    ap.add_argument("--users", type=int, default=55)
    ap.add_argument("--user-password-prefix", default="pw-")
    ap.add_argument("--seed-prefix", default="bench-totp-seed-")
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--label", default=None)
    ap.add_argument("--skip-enrol", action="store_true")
    ap.add_argument("--server-pid", type=int, help="[load] gunicorn master pid (CPU accounting)")
    ap.add_argument("--verify-pool", type=int, default=500, help="[load] users for `verify`")
    ap.add_argument("--login-pool", type=int, default=300, help="[load] users for `login`")
    ap.add_argument("--verify-realm", default="verify", help="[load] privacyIDEA realm for `verify`")
    ap.add_argument("--shard", type=int, default=200,
                    help="[load] privacyIDEA users per realm: realm <base>NN holds users NN*shard..")
    ap.add_argument("--clients", default="1 16", help="[load] client counts, one run each")
    ap.add_argument("--seconds", type=float, default=15, help="[load] measured seconds per run")
    ap.add_argument("--warmup-seconds", type=float, default=3, help="[load] warm-up per run")
    ap.add_argument("--provision", action="store_true",
                    help="[load] provision the pools in-process (server venv, server stopped)")
    ap.add_argument("--config", help="[provision] server config file")
    ap.add_argument("--procs", type=int, default=2, help="[provision] parallel processes")
    ap.add_argument("--slice", help=argparse.SUPPRESS)
    ap.add_argument("--provision-timeout", type=float, default=900, help="[provision] seconds")
    ap.add_argument("--state-out", help="[provision] JSON file with the provisioned pools")
    ap.add_argument("--pools", help="[load] JSON file written by --provision")
    ap.add_argument("--db-dir", help="[load] directory of the server's SQLite file (commit latency)")
    ap.add_argument("--workers", type=int, default=0, help="[load] gunicorn workers (for notes)")
    ap.add_argument("--server-log", action="append", default=[],
                    help="[load] server log file scanned for errors per run (repeatable)")
    ap.add_argument("--out", help="[load] JSON result file")
    ap.add_argument("--short-label", help="[load] server column of the printed rows")
    a = ap.parse_args()
    if a.provision:
        if not (a.config and a.state_out):
            ap.error("--provision needs --config and --state-out")
        return provision_main(a)
    if a.port is None:
        ap.error("--port is required")
    if a.load:
        if not (a.server_pid and a.pools):
            ap.error("--load needs --server-pid and --pools")
        return load_main(a)
    if a.admin_password is None:
        ap.error("--admin-password is required")
    if a.n < 1:
        sys.exit("-n must be >= 1")

    users = [f"bench{i:04d}" for i in range(a.users)]
    # 20-byte seeds derived from a known prefix: reproducible, distinct per user.
    seeds = {u: (a.seed_prefix + u).encode()[:20].ljust(20, b"\0") for u in users}
    c = Client(a.host, a.port)
    srv = (PrivacyIDEA if a.target == "privacyidea" else Keystone)(c, a, users, seeds)

    if not a.skip_enrol:
        t0 = time.perf_counter()
        srv.enrol()
        print(f"enrolled {len(users)} users + TOTP tokens in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)

    last_step = {}  # user -> TOTP step last used (avoid replay rejection)
    rr = [0]

    def pick_user():
        # Bounded: at most 2 passes over the users, waiting at most one step.
        for _ in range(2):
            step = int(time.time() // STEP)
            for _ in range(len(users)):
                u = users[rr[0] % len(users)]
                rr[0] += 1
                if last_step.get(u, -1) < step:
                    return u
            time.sleep(STEP - time.time() % STEP + 0.05)
        raise RuntimeError("no unused user/token available")

    def login():
        u = pick_user()
        t0 = time.perf_counter()
        handle = srv.step1(u)
        t1 = time.perf_counter()
        now = time.time()
        srv.step2(u, handle, totp(seeds[u], now))
        t2 = time.perf_counter()
        last_step[u] = int(now // STEP)
        return (t2 - t0) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000

    for _ in range(a.warmup):
        login()

    totals, s1, s2 = [], [], []
    w0 = time.perf_counter()
    for _ in range(a.n):
        t, x, y = login()
        totals.append(t)
        s1.append(x)
        s2.append(y)
    wall = time.perf_counter() - w0

    label = a.label or a.target
    print(f"{label}: logins={a.n} warmup={a.warmup} "
          f"step1 p50={pct(s1, 50):.1f} ms, step2 p50={pct(s2, 50):.1f} ms, "
          f"min={min(totals):.1f} ms, max={max(totals):.1f} ms")
    print("| server | flow | p50 | p99 | mean | logins/s (1 client, sequential) |")
    print("|---|---|---|---|---|---|")
    print(f"| {label} | two-step TOTP login | "
          f"p50 {pct(totals, 50):.1f} ms | p99 {pct(totals, 99):.1f} ms | "
          f"mean {statistics.fmean(totals):.1f} ms | {a.n / wall:.1f} |")


# ================================================================ load mode
#
# scripts/bench_privacyidea.sh load [...] starts the server with gunicorn's
# recommended 2 x cores + 1 sync workers and runs `bench_privacyidea.py <target>
# --load`, after `--provision` (below) filled two user pools: for each scenario
# and client count a warm-up and a measured closed-loop run with scripts/loadgen.py.
#
#   verify  one request that checks a TOTP code and grants the login, with no
#           password hashing in it:
#           privacyIDEA  POST /validate/check user, realm=verifyNN, pass=<OTP>
#                        (token without PIN, realm without an authentication
#                        policy: otppin=tokenpin with an empty PIN, so the OTP
#                        alone is the whole credential) -> result.value true.
#                        Cheaper than the alternative, the transaction_id step
#                        after a challenge made beforehand (in-process, 40 each:
#                        median 27.5 vs 31.1 ms), and needs no challenge that
#                        expires.
#           Keystone     POST /v3/auth/tokens methods ["totp"] for a user with
#                        no MFA rules and no password -> 201 + X-Subject-Token
#   login   the sequential mode's two-step login (password -> challenge /
#           receipt -> TOTP), both requests inside the timed operation.
#
# TOTP discipline: a pool user is handed to a run only if its last TOTP use
# (the time its code was computed) is >= 31 s before the run starts, so no
# code is ever reused. Runs that need more users than are eligible stop
# early and are flagged pool_exhausted.

REUSE_GAP = 31.0


def load_seed(prefix, u):
    """20-byte TOTP seed, distinct per user (the sequential mode's truncated prefix is not)."""
    return hashlib.sha1((prefix + u).encode()).digest()


class Pool:
    """The users of one scenario and the wall-clock time each one's TOTP was last used."""

    def __init__(self, name, users):
        self.name, self.users = name, list(users)
        self.last = dict.fromkeys(self.users, 0.0)

    def mark(self, u):
        t = time.time()
        self.last[u] = t  # one dict store: atomic under the GIL
        return t

    def eligible(self):
        """Users unused for >= REUSE_GAP s, least recently used first."""
        cutoff = time.time() - REUSE_GAP
        return sorted((u for u in self.users if self.last[u] <= cutoff), key=self.last.__getitem__)


class ErrorKinds:
    """Why operations failed (thread-safe counter), for the JSON rows and notes."""

    def __init__(self):
        import collections
        self.c, self.lock = collections.Counter(), threading.Lock()

    def add(self, kind):
        with self.lock:
            self.c[kind[:160]] += 1

    def take(self):
        with self.lock:
            d = dict(self.c)
            self.c.clear()
        return d

    @staticmethod
    def describe(r):
        """`N errors: {kinds}`; the kinds also count a failure that ended after the window,
        which loadgen leaves out of `errors`."""
        kinds = r["error_kinds"]
        late = " (kinds include failures that ended after the window)" \
            if sum(kinds.values()) != r["errors"] else ""
        return f"{r['errors']} errors: {kinds}{late}"


class PrivacyIDEALoad:
    def __init__(self, a, errs, users):
        self.a, self.errs = a, errs
        self.seeds = {u: load_seed(a.seed_prefix, u) for u in users}

    def verify(self, pool):
        a, errs = self.a, self.errs

        def op(conn, u):
            now = pool.mark(u)
            st, _, r = conn.form("POST", "/validate/check", {
                "user": u, "realm": pi_realm(a, u), "pass": totp(self.seeds[u], now)})
            return pi_granted(errs, "verify", st, r)
        return op

    def login(self, pool):
        a, errs = self.a, self.errs

        def op(conn, u):
            realm = pi_realm(a, u)
            st, _, r = conn.form("POST", "/validate/check", {
                "user": u, "realm": realm, "pass": a.user_password_prefix + u})
            res = (r or {}).get("result") or {}
            tid = ((r or {}).get("detail") or {}).get("transaction_id")
            if st != 200 or res.get("value") is not False or not tid:
                errs.add(f"login step 1: HTTP {st} value={res.get('value')!r} no challenge "
                         f"{(res.get('error') or {}).get('message') or ''}")
                return False
            now = pool.mark(u)
            st, _, r = conn.form("POST", "/validate/check", {
                "user": u, "realm": realm, "transaction_id": tid,
                "pass": totp(self.seeds[u], now)})
            return pi_granted(errs, "login step 2", st, r)
        return op


class KeystoneLoad:
    DOMAIN = {"id": "default"}

    def __init__(self, a, errs, users):
        self.a, self.errs = a, errs
        self.seeds = {u: load_seed(a.seed_prefix, u) for u in users}

    def verify(self, pool):
        errs = self.errs

        def op(conn, u):
            now = pool.mark(u)
            st, h, r = conn.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
                "methods": ["totp"], "totp": {"user": {
                    "name": u, "domain": self.DOMAIN, "passcode": totp(self.seeds[u], now)}}}}})
            if st == 201 and h.get("x-subject-token"):
                return True
            errs.add(f"verify: HTTP {st} {((r or {}).get('error') or {}).get('message')}")
            return False
        return op

    def login(self, pool):
        a, errs = self.a, self.errs

        def op(conn, u):
            st, h, r = conn.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
                "methods": ["password"], "password": {"user": {
                    "name": u, "domain": self.DOMAIN, "password": a.user_password_prefix + u}}}}})
            receipt = h.get("openstack-auth-receipt")
            if st != 401 or not receipt:
                errs.add(f"login step 1: HTTP {st} no receipt "
                         f"{((r or {}).get('error') or {}).get('message')}")
                return False
            now = pool.mark(u)
            st, h, r = conn.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
                "methods": ["totp"], "totp": {"user": {
                    "name": u, "domain": self.DOMAIN, "passcode": totp(self.seeds[u], now)}}}}},
                {"Openstack-Auth-Receipt": receipt})
            if st == 201 and h.get("x-subject-token"):
                return True
            errs.add(f"login step 2: HTTP {st} {((r or {}).get('error') or {}).get('message')}")
            return False
        return op


# ---------------------------------------------------------------- load mode: provisioning
#
# Runs with the server's venv python (`--provision`), before the server starts, the way
# `pi-manage token import` and `keystone-manage bootstrap` do: the server's own library,
# in-process, against the same SQLite database. Over HTTP it is far slower on this machine:
# privacyIDEA's /token/init makes ~13 SQLite commits (one fsync each, ~15 ms here) and
# enrolled ~4 tokens/s with 8 threads; Keystone validates the admin token on every request
# (~65 ms CPU) and created ~6.5 users+credentials/s. Only these provisioning processes turn
# SQLite's fsync off (PRAGMA synchronous=OFF, untimed setup); the server itself runs with
# its defaults. The login pool's passwords are still hashed as the server does (Keystone:
# bcrypt at create_user; privacyIDEA: sha512_crypt in the passwd file written by the shell).
# The work is split over --procs processes (bcrypt and SQLAlchemy are CPU-bound).

def pi_granted(errs, what, st, r):
    """True when /validate/check granted the login; otherwise records why, as an error kind."""
    res = (r or {}).get("result") or {}
    if st == 200 and res.get("status") is True and res.get("value") is True:
        return True
    errs.add(f"{what}: HTTP {st} value={res.get('value')!r} "
             f"{res.get('authentication') or (res.get('error') or {}).get('message')}")
    return False


def pi_realm(a, u):
    """privacyIDEA realm of a pool user (the shell shards the pools, see pi_users_load)."""
    base = a.verify_realm if u.startswith("vfy") else a.realm
    return f"{base}{int(u[3:]) // a.shard:02d}"


def pool_users(a):
    return ([f"vfy{i:05d}" for i in range(a.verify_pool)],
            [f"lgn{i:05d}" for i in range(a.login_pool)])


def _pi_provision(a, items):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _no_fsync(dbapi_conn, _record):  # provisioning process only
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    from privacyidea.app import create_app
    from privacyidea.lib.token import init_token
    from privacyidea.lib.user import User
    from privacyidea.models import db

    app = create_app(config_name="production", config_file=a.config, silent=True)
    ok, failed = [], []
    with app.app_context():
        for u, _scenario in items:
            realm = pi_realm(a, u)
            err = None
            for attempt in range(5):  # SQLite may be locked by a sibling process
                try:
                    init_token({"type": "totp", "otpkey": load_seed(a.seed_prefix, u).hex(),
                                "genkey": 0, "serial": "TOTP-" + u, "otplen": 6,
                                "hashlib": "sha1", "timeStep": STEP},
                               user=User(u, realm=realm))  # no PIN: empty pin_hash
                    err = None
                    break
                except Exception as e:  # noqa: BLE001 - retried, then reported
                    err = e
                    db.session.rollback()
                    time.sleep(0.2 * (attempt + 1))
            if err is None:
                ok.append(u)
            else:
                failed.append([u, repr(err)[:300]])
    return ok, failed


def _ks_provision(a, items):
    import uuid

    import keystone.conf
    from keystone import exception
    from keystone.common import provider_api, sql
    from keystone.server import backends

    conf = keystone.conf.CONF
    keystone.conf.configure()
    sql.initialize()
    keystone.conf.set_default_for_default_log_levels()
    conf(args=[], project="keystone", default_config_files=[a.config])
    conf.set_override("sqlite_synchronous", False, group="database")  # this process only
    keystone.conf.setup_logging()
    backends.load_backends()
    api = provider_api.ProviderAPIs

    ok, failed = [], []
    for u, scenario in items:
        user = {"name": u, "domain_id": "default", "enabled": True}
        if scenario == "login":
            # Password (bcrypt) + MFA rule password AND totp: the sequential mode's user.
            user["password"] = a.user_password_prefix + u
            user["options"] = {"multi_factor_auth_enabled": True,
                               "multi_factor_auth_rules": [["password", "totp"]]}
        # verify: no password (no bcrypt at creation) and no MFA rules, so the
        # totp method alone authenticates the user.
        err = None
        for attempt in range(5):
            try:
                try:
                    uid = api.identity_api.create_user(dict(user))["id"]
                except exception.Conflict:  # a retry after a partial success
                    uid = api.identity_api.get_user_by_name(u, "default")["id"]
                    if api.credential_api.list_credentials_for_user(uid, type="totp"):
                        err = None
                        break
                cid = uuid.uuid4().hex
                api.credential_api.create_credential(cid, {
                    "id": cid, "type": "totp", "user_id": uid,
                    "blob": base64.b32encode(load_seed(a.seed_prefix, u)).decode()})
                err = None
                break
            except Exception as e:  # noqa: BLE001 - retried, then reported
                err = e
                time.sleep(0.2 * (attempt + 1))
        if err is None:
            ok.append(u)
        else:
            failed.append([u, repr(err)[:300]])
    return ok, failed


def provision_main(a):
    verify_users, login_users = pool_users(a)
    items = [(u, "verify") for u in verify_users] + [(u, "login") for u in login_users]
    if a.slice:  # a child: provision every k-th item, report JSON on stdout
        k, n = (int(x) for x in a.slice.split("/"))
        fn = _pi_provision if a.target == "privacyidea" else _ks_provision
        ok, failed = fn(a, items[k::n])
        sys.stdout.write("\nPROVISION-RESULT " + json.dumps({"ok": ok, "failed": failed}) + "\n")
        return

    import signal
    import subprocess

    def die_with_parent():  # children never outlive this process
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    t0 = time.perf_counter()
    procs = max(1, a.procs)
    args = [x for x in sys.argv[1:] if x != "--provision"]
    children = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--provision",
                                  *args, "--slice", f"{k}/{procs}"],
                                 stdout=subprocess.PIPE, preexec_fn=die_with_parent)
                for k in range(procs)]

    def stop(signum, _frame):
        for ch in children:
            ch.kill()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)

    ok, failed = set(), []
    for ch in children:
        try:
            out, _ = ch.communicate(timeout=a.provision_timeout)
        except subprocess.TimeoutExpired:
            for c in children:
                c.kill()
            raise SystemExit(f"provisioning took longer than {a.provision_timeout} s")
        line = [ln for ln in out.decode().splitlines() if ln.startswith("PROVISION-RESULT ")]
        if ch.returncode != 0 or not line:
            raise SystemExit(f"a provisioning process failed (rc {ch.returncode})")
        r = json.loads(line[-1].split(" ", 1)[1])
        ok.update(r["ok"])
        failed += r["failed"]
    secs = time.perf_counter() - t0
    state = {"verify": [u for u in verify_users if u in ok],
             "login": [u for u in login_users if u in ok],
             "failed": failed, "seconds": round(secs, 1), "procs": procs}
    with open(a.state_out, "w") as f:
        json.dump(state, f)
    n = len(verify_users) + len(login_users)
    print(f"provisioned {len(state['verify'])} verify + {len(state['login'])} login users/TOTP "
          f"tokens in {secs:.1f} s ({n / secs:.1f}/s, {procs} processes, in-process)",
          file=sys.stderr)
    if failed:
        print(f"WARNING: {len(failed)} failed, first: {failed[0]}", file=sys.stderr)
        if len(failed) > 0.05 * n:
            raise SystemExit("more than 5 % of the provisioning failed")


def sqlite_commit_ms(directory, n=20):
    """Mean latency of a one-row SQLite commit (default journal, synchronous=FULL) in `directory`."""
    import sqlite3
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".sqlite", dir=directory)
    os.close(fd)
    try:
        c = sqlite3.connect(path)
        c.execute("CREATE TABLE t (x)")
        c.commit()
        t0 = time.perf_counter()
        for i in range(n):
            c.execute("INSERT INTO t VALUES (?)", (i,))
            c.commit()
        ms = (time.perf_counter() - t0) * 1000 / n
        c.close()
        return ms
    finally:
        for suffix in ("", "-journal"):
            try:
                os.remove(path + suffix)
            except OSError:
                pass


def machine_busy_s():
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def log_sizes(paths):
    out = {}
    for p in paths:
        try:
            out[p] = os.path.getsize(p)
        except OSError:
            out[p] = 0
    return out


def log_scan(before):
    """Counts in what the server logs gained since `before` (file -> size)."""
    locked = errors = 0
    for p, size in before.items():
        try:
            with open(p, "rb") as f:
                f.seek(size)
                text = f.read(50_000_000).decode("utf-8", "replace")
        except OSError:
            continue
        locked += text.count("database is locked")
        errors += sum(1 for ln in text.splitlines()
                      if "[ERROR]" in ln or " ERROR " in ln or ln.startswith("Traceback"))
    return locked, errors


def clean(v):
    """Figures rounded for the JSON. NaN (p50/p99 of a run without a successful op) is kept,
    as scripts/loadbench.py writes it and scripts/loadtable.py formats it."""
    if isinstance(v, float):
        return v if v != v else round(v, 3)
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    return v


def load_main(a):
    import datetime
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import loadgen

    if a.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("refusing to send traffic to a non-loopback host")
    clients = [int(x) for x in a.clients.split()]
    cpus = os.cpu_count()
    label = a.label or a.target
    short = a.short_label or label
    errs = ErrorKinds()
    connect = lambda: loadgen.Conn(a.host, a.port)  # noqa: E731
    with open("/proc/loadavg") as f:
        loadavg_before = f.read().split()[:3]
    machine = {"cpus": cpus, "date": datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec="seconds"), "loadavg_before": " ".join(loadavg_before)}
    notes = []

    # ------------------------------------------------------------ pools (see provision_main)
    with open(a.pools) as f:
        state = json.load(f)
    verify_users, login_users = state["verify"], state["login"]
    n = len(verify_users) + len(login_users) + len(state["failed"])
    notes.append(f"provisioning: {len(verify_users)} verify + {len(login_users)} login users with "
                 f"TOTP tokens in {state['seconds']} s ({n / max(state['seconds'], 0.1):.1f}/s, "
                 f"{state['procs']} processes, in-process through the server's library before "
                 f"it started, SQLite fsync off in those processes only)")
    if state["failed"]:
        notes.append(f"provisioning failed for {len(state['failed'])} users, left out of the "
                     f"pools; first: {state['failed'][0]}")
    srv = (PrivacyIDEALoad if a.target == "privacyidea" else KeystoneLoad)(
        a, errs, verify_users + login_users)
    pools = {"verify": Pool("verify", verify_users), "login": Pool("login", login_users)}
    ops = {"verify": srv.verify(pools["verify"]), "login": srv.login(pools["login"])}

    # ------------------------------------------------------------ runs
    rows = []

    def measure(scenario, c, seconds, commit_probe=False):
        pool = pools[scenario]
        commit_ms = sqlite_commit_ms(a.db_dir) if (commit_probe and a.db_dir) else None
        items = pool.eligible()
        logs0 = log_sizes(a.server_log)
        errs.take()
        m0 = machine_busy_s()
        r = loadgen.run(connect, ops[scenario], items, c, seconds, server_pids=[a.server_pid])
        m1 = machine_busy_s()
        locked, log_errors = log_scan(logs0)
        r.update({
            "pool_size": len(pool.users), "pool_eligible": len(items),
            "error_kinds": errs.take(), "server_log_db_locked": locked,
            "server_log_errors": log_errors, "machine_busy_cpu_s": m1 - m0,
            "other_cpu_s": max(0.0, (m1 - m0) - r["server_cpu_s"] - r["client_cpu_s"]),
            "sqlite_commit_ms_before": commit_ms,
        })
        return r

    for scenario in ("verify", "login"):
        for c in clients:
            if a.warmup_seconds > 0:
                w = measure(scenario, c, a.warmup_seconds)
                if w["errors"] or w["pool_exhausted"]:
                    notes.append(f"{scenario} c={c} warm-up: {ErrorKinds.describe(w)}, "
                                 f"pool exhausted: {w['pool_exhausted']}")
            r = measure(scenario, c, a.seconds, commit_probe=True)
            r = {"scenario": scenario, **r}
            rows.append(r)
            print(loadgen.line(short, scenario, r), flush=True)

    # ------------------------------------------------------------ notes
    for r in rows:
        tag = f"{r['scenario']} c={r['clients']}"
        sec = r["seconds"] or a.seconds
        if r["errors"]:
            notes.append(f"{tag}: {ErrorKinds.describe(r)}")
        if r["server_log_db_locked"]:
            notes.append(f"{tag}: {r['server_log_db_locked']} 'database is locked' in the server "
                         f"log (SQLite allows one writer at a time)")
        elif r["server_log_errors"]:
            notes.append(f"{tag}: {r['server_log_errors']} ERROR/Traceback lines in the server log")
        if r["pool_exhausted"]:
            notes.append(f"{tag}: pool exhausted ({r['pool_eligible']} eligible of "
                         f"{r['pool_size']}); the run stopped early, raise "
                         f"{r['scenario'].upper()}_POOL")
        if r["client_cpu_s"] / sec > 0.75:
            notes.append(f"{tag}: client CPU {100 * r['client_cpu_s'] / sec:.0f} % of one core "
                         f"(one Python process, GIL): the client may limit the figure")
        if r["server_cpu_s"] / sec > 0.85 * cpus:
            notes.append(f"{tag}: server CPU {r['server_cpu_s'] / sec:.2f} of {cpus} cores: "
                         f"CPU-bound on this machine")
        busy = (r["server_cpu_s"] + r["client_cpu_s"] + r["other_cpu_s"]) / sec
        if r["clients"] > 1 and busy < 0.8 * cpus:
            notes.append(f"{tag}: the machine was not CPU-saturated ({busy:.2f} of {cpus} cores "
                         f"busy): the server waited rather than computed (SQLite's single writer "
                         f"lock and fsync, or too few workers)")
        if r["other_cpu_s"] / sec > 0.25:
            notes.append(f"{tag}: other processes used ~{r['other_cpu_s'] / sec:.2f} cores during "
                         f"the run (shared machine): figures are noisy/low")
    probes = [r["sqlite_commit_ms_before"] for r in rows if r["sqlite_commit_ms_before"]]
    if probes:
        notes.append(f"one SQLite commit (fsync) took {min(probes):.1f}-{max(probes):.1f} ms on the "
                     f"disk holding the database, probed before each run (row field "
                     f"sqlite_commit_ms_before); figures of servers that commit in every request "
                     f"move with it")
    for scenario, pool in pools.items():
        peak = max((r["ops_per_s"] for r in rows if r["scenario"] == scenario), default=0)
        if peak and len(pool.users) < 30 * peak:
            notes.append(f"{scenario} pool {len(pool.users)} < 30 x peak {peak:.1f} ops/s; "
                         f"raise {scenario.upper()}_POOL")
    notes.append(f"pools: verify {len(pools['verify'].users)}, login {len(pools['login'].users)} "
                 f"users, each user reused only >= {REUSE_GAP:.0f} s after its last TOTP code")
    notes.append(f"gunicorn sync workers ({a.workers}) close the connection after each response, "
                 f"so every request opens a new loopback TCP connection (no keep-alive)")
    notes.append("SQLite in its default rollback-journal mode: every commit waits for fsync, "
                 "and one writer at a time across all workers")
    if a.target == "privacyidea":
        notes.append("verify = POST /validate/check user+realm+pass=<OTP> for a token without PIN "
                     "in a realm without an authentication policy (otppin=tokenpin, empty PIN: no "
                     "password hashing); every request still writes the token counter, an audit "
                     "row (RSA-signed) and metrics to SQLite")
        notes.append(f"privacyIDEA's passwd-file resolver re-reads the realm's flat file on every "
                     f"request (request-local cache; ~6 ms for 1500 users): the pools are sharded "
                     f"into realms of <= {a.shard} users (~1 ms) to keep that cost constant")
        notes.append("login = /validate/check with the userstore password (sha512_crypt, 5000 "
                     "rounds) -> TOTP challenge, then /validate/check transaction_id + OTP")
    else:
        notes.append("verify = POST /v3/auth/tokens method totp only, for users with no MFA rules "
                     "and no password -> unscoped Fernet token; no password hashing")
        notes.append("login = password (bcrypt) -> 401 + auth receipt, then totp + receipt -> token")
        notes.append("Keystone does not reject a TOTP code used before within its window; the pool "
                     "discipline is applied anyway, as for privacyIDEA")

    out = {"server": label, "machine": machine, "rows": [clean(r) for r in rows], "notes": notes,
           "pools": {"verify": len(pools["verify"].users), "login": len(pools["login"].users),
                     "provisioning_s": state["seconds"]}}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        print(f"wrote {a.out}", file=sys.stderr)
    for n_ in notes:
        print(f"  note: {n_}", file=sys.stderr)


if __name__ == "__main__":
    main()
