#!/usr/bin/env python3
"""Memory soak (stdlib only): thousands of password steps and user creations against the local
stack, printing the resident size (RSS) of every `authenticate` and `create-user` instance at
the start and at the end. Flat is the bar: Argon2id needs 19 MiB per hash, and before the
working memory was reused an instance grew by gigabytes over a few thousand hashes.

  soak.py --api URL --user ADMIN --password P [--logins 3000] [--creates 1000] [--clients 4]

Prints figures, asserts nothing (a benchmark, not a test); bounded in count, local only.
"""
import argparse, http.client, json, os, secrets, sys, threading, time
from urllib.parse import urlparse


def request(api, method, path, body=None, token=None):
    u = urlparse(api)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = {"Content-Type": "application/json"}
    if token:
        h["X-Auth-Token"] = token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)


def login(api, user, password):
    return request(api, "POST", "/v2.0/tokens",
                   {"auth": {"passwordCredentials": {"username": user, "password": password}}})


def instances(names):
    """pid -> (function, rss KiB) of the release binaries of `names` now running."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            name = os.path.basename(exe)
            if name not in names or "/release/" not in exe:
                continue
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            out[int(pid)] = (name, rss)
        except (OSError, StopIteration, ValueError):
            continue
    return out


def run_parallel(clients, total, fn):
    lock, done, errors = threading.Lock(), [0], [0]

    def worker():
        while True:
            with lock:
                if done[0] >= total:
                    return
                done[0] += 1
            try:
                fn()
            except Exception:
                with lock:
                    errors[0] += 1

    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--logins", type=int, default=3000)
    ap.add_argument("--creates", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args()

    st, body = login(a.api, a.user, a.password)
    assert st == 200, (st, body)
    admin = body["access"]["token"]["id"]
    # One user whose password steps the soak drives; the admin creates the others (admins:
    # no domain, so no per-domain user limit).
    pw = "Soak" + secrets.token_hex(8) + "9"
    st, ua = request(a.api, "POST", "/v2.0/users",
                     {"user": {"username": "soakua" + secrets.token_hex(4), "email": "s@example.com",
                               "OS-KSADM:password": pw}}, admin)
    assert st == 201, (st, ua)
    ua_name = ua["user"]["username"]

    names = {"authenticate", "create-user"}
    start = instances(names)
    t0 = time.time()
    err_login = run_parallel(a.clients, a.logins, lambda: login(a.api, ua_name, pw))
    t_login = time.time() - t0
    mid = instances(names)

    def create():
        request(a.api, "POST", "/v2.0/users",
                {"user": {"username": "soak" + secrets.token_hex(6), "email": "s@example.com",
                          "OS-KSADM:password": pw}}, admin)

    t0 = time.time()
    err_create = run_parallel(a.clients, a.creates, create)
    t_create = time.time() - t0
    end = instances(names)

    print(f"{a.logins} password steps in {t_login:.1f} s ({a.logins / t_login:.1f}/s, {err_login} errors); "
          f"{a.creates} user creations in {t_create:.1f} s ({a.creates / t_create:.1f}/s, {err_create} errors); "
          f"{a.clients} clients")
    print(f"{'function':<14} {'pid':>8} {'RSS start':>10} {'after logins':>13} {'RSS end':>10}")
    for pid in sorted(set(start) | set(mid) | set(end), key=lambda p: (end.get(p) or mid.get(p) or start.get(p))[0]):
        name = (end.get(pid) or mid.get(pid) or start.get(pid))[0]
        fmt = lambda d: f"{d[pid][1] / 1024:.1f} MiB" if pid in d else "-"
        print(f"{name:<14} {pid:>8} {fmt(start):>10} {fmt(mid):>13} {fmt(end):>10}")
    # Machine-readable copy for docs/performance.md.
    os.makedirs("target/bench", exist_ok=True)
    with open("target/bench/soak.json", "w") as f:
        json.dump({"logins": a.logins, "creates": a.creates, "clients": a.clients,
                   "start": start, "mid": mid, "end": end}, f)


if __name__ == "__main__":
    sys.exit(main())
