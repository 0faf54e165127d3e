#!/usr/bin/env python3
"""Load benchmark of this service on the local stack (stdlib + scripts/loadgen.py).

  loadbench.py --api URL --users users.tsv --sessions sessions.tsv --password PW \
               --clients "1 16" --seconds 15 --root REPO --stack-dir DIR --out target/bench/load-identity.json

Scenarios, each at every client count:
  verify  the passcode step alone: POST /v2.0/tokens {RAX-AUTH:passcodeCredentials} with an
          X-SessionId opened beforehand (bench_pool sessions), TOTP code computed here -> 200;
  login   the whole two-step login: password -> 401 OS-MF sessionId -> passcode -> 200.
Each operation uses a user whose previous use was at least a pool's length earlier (round robin,
continued across runs), so no TOTP code is ever replayed if the pool holds >= 31 s of operations.
CPU is read from /proc: the function processes (release binaries under cargo lambda watch), the
local emulators (DynamoDB Local, moto) and the router (cargo lambda watch + front.py) apart.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import re
import struct
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadgen  # noqa: E402

SID = re.compile(r"sessionId='([^']+)'")


def totp(secret_b32, t=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", int((t or time.time()) // 30)), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def read_tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def processes():
    """(pid, exe, cmdline) of every live process."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{d}/exe")
            cmd = open(f"/proc/{d}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out.append((int(d), exe, cmd))
    return out


class Stack:
    def __init__(self, root, stack_dir):
        self.bin_dir = os.path.realpath(os.path.join(root, "target", "release"))
        self.leaders = {}
        with open(os.path.join(stack_dir, "pids")) as f:
            for line in f:
                name, pid = line.split()
                self.leaders[name] = int(pid)

    def functions(self):
        return [p for p, exe, _ in processes() if os.path.dirname(exe) == self.bin_dir]

    def instances(self):
        counts = {}
        for _, exe, _ in processes():
            if os.path.dirname(exe) == self.bin_dir:
                counts[os.path.basename(exe)] = counts.get(os.path.basename(exe), 0) + 1
        return counts

    def emulators(self):
        return list(loadgen.descendants(self.leaders.values()))

    def router(self):
        return [p for p, _, cmd in processes() if "cargo-lambda" in cmd or "cargo lambda" in cmd or "front.py" in cmd]


class Pool:
    """Work items in order, continued across runs: round robin over reusable users, or once
    through single-use items (open sessions)."""

    def __init__(self, rows, single_use=False):
        self.rows, self.pos, self.single_use = rows, 0, single_use

    def take(self):
        if self.single_use:
            return self.rows[self.pos:]
        n = len(self.rows)
        return [self.rows[(self.pos + i) % n] for i in range(n)]

    def advance(self, used):
        if self.single_use:
            self.pos = min(len(self.rows), self.pos + used)
        else:
            self.pos = (self.pos + used) % len(self.rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--users", required=True, help="bench_pool users output (login pool)")
    ap.add_argument("--sessions", required=True, help="bench_pool sessions output (verify pool)")
    ap.add_argument("--password", required=True)
    ap.add_argument("--clients", default="1 16")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--root", required=True)
    ap.add_argument("--stack-dir", required=True)
    ap.add_argument("--label", default="this service")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    u = urlparse(a.api)
    stack = Stack(a.root, a.stack_dir)
    login_pool = Pool(read_tsv(a.users))
    sessions = read_tsv(a.sessions)
    verify_pool = Pool(sessions, single_use=True)

    def connect():
        return loadgen.Conn(u.hostname, u.port)

    def passcode(conn, sid, seed):
        st, _, body = conn.call("POST", "/v2.0/tokens",
                                {"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": totp(seed)}}},
                                {"X-SessionId": sid})
        return st == 200 and bool(body["access"]["token"]["id"])

    def verify(conn, row):
        return passcode(conn, row[3], row[2])

    def login(conn, row):
        st, h, _ = conn.call("POST", "/v2.0/tokens",
                             {"auth": {"passwordCredentials": {"username": row[0], "password": a.password}}})
        m = SID.search(h.get("www-authenticate", ""))
        return st == 401 and m is not None and passcode(conn, m.group(1), row[2])

    # Warm-up (untimed): logins at the highest client count start every function instance the
    # runs will use and let DynamoDB Local's JIT settle.
    most = max(int(c) for c in a.clients.split())
    w = loadgen.run(connect, login, login_pool.take(), most, a.warmup)
    login_pool.advance(w["ops"] + w["errors"] + most)
    print(f"warm-up: {w['ops']} logins at {most} clients in {a.warmup:.0f} s, {w['errors']} errors", flush=True)

    rows = []
    for clients in [int(c) for c in a.clients.split()]:
        for scenario, fn, pool in (("verify", verify, verify_pool), ("login", login, login_pool)):
            items = pool.take()
            r = loadgen.run(connect, fn, items, clients, a.seconds, pid_source=stack.functions,
                            other_cpu={"emulators": stack.emulators, "router": stack.router})
            pool.advance(r["ops"] + r["errors"] + clients)
            r["scenario"] = scenario
            r["instances"] = stack.instances()
            rows.append(r)
            if not pool.single_use and len(pool.rows) < 31 * r["ops_per_s"]:
                print(f"WARNING: {len(pool.rows)} {scenario} users hold less than 31 s of operations at "
                      f"{r['ops_per_s']:.0f}/s, so a longer run would reuse TOTP codes: raise LOGIN_USERS", flush=True)
            print(loadgen.line(a.label, scenario, r) +
                  f"  emulators CPU {r['cpu_s_emulators']:5.1f} s  router CPU {r['cpu_s_router']:5.1f} s", flush=True)
            time.sleep(1)
    load = open("/proc/loadavg").read().split()[:3]
    out = {"server": a.label, "rows": rows,
           "pool": {"login_users": len(login_pool.rows), "verify_sessions": len(sessions)},
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load": load,
                       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
