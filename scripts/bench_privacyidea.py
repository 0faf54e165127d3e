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
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import statistics
import struct
import sys
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
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--admin", default="admin")
    ap.add_argument("--admin-password", required=True)
    ap.add_argument("--realm", default="bench")
    ap.add_argument("--users", type=int, default=55)
    ap.add_argument("--user-password-prefix", default="pw-")
    ap.add_argument("--seed-prefix", default="bench-totp-seed-")
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--label", default=None)
    ap.add_argument("--skip-enrol", action="store_true")
    a = ap.parse_args()
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


if __name__ == "__main__":
    main()
