"""Closed-loop load generator shared by the side-by-side benchmarks (stdlib only).

`run()` starts N client threads, each with its own keep-alive connection, that take work items
(a user, a session, ...) from one shared pool and run one operation per item until the time is
up or the pool is empty. It measures what happened inside the window: operations completed,
errors, latency percentiles, and the CPU seconds spent by the server's processes (read from
/proc for the given pids and all their descendants) and by this client process.

Nothing here asserts a figure: callers print them.
"""
import http.client
import json
import os
import queue
import resource
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Conn:
    """One keep-alive HTTP/1.1 connection; `call` returns (status, headers, json-or-None)."""

    def __init__(self, host, port, timeout=60):
        self.host, self.port, self.timeout = host, port, timeout
        self.c = http.client.HTTPConnection(host, port, timeout=timeout)

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        h.update(headers or {})
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        try:
            self.c.request(method, path, body=data, headers=h)
            r = self.c.getresponse()
            raw = r.read()
        except (http.client.HTTPException, OSError):
            # The server closed the keep-alive connection: one retry on a fresh one.
            self.c.close()
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.c.request(method, path, body=data, headers=h)
            r = self.c.getresponse()
            raw = r.read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload

    def form(self, method, path, fields, headers=None):
        """A form-encoded request (privacyIDEA's API)."""
        from urllib.parse import urlencode
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.call(method, path, urlencode(fields), h)


def descendants(pids):
    """The given pids and every live descendant (one pass over /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = set(), [int(p) for p in pids]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids, expand=True):
    """utime + stime of the given processes (and, with `expand`, their descendants), in seconds."""
    total = 0
    for p in descendants(pids) if expand else pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            continue
    return total / CLK_TCK


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def run(connect, op, items, clients, seconds, server_pids=(), pid_source=None, other_cpu=None):
    """Closed loop: `clients` threads, each `connect()`s once and runs `op(conn, item)` on items
    from the iterable `items` until `seconds` have passed or the items run out.

    `op` returns True when the operation succeeded as expected. `pid_source`, if given, is
    called at the start and the end for the server pids (function instances come and go).
    `other_cpu` maps a name to a callable returning pids (exactly those, not their descendants)
    whose CPU is reported apart, as `cpu_s_<name>` (e.g. the local emulators that stand in for
    managed AWS services).
    Returns a dict of figures.
    """
    work = queue.SimpleQueue()
    for it in items:
        work.put(it)
    lat, errors, lock = [], [0], threading.Lock()
    exhausted = threading.Event()
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker():
        conn = connect()
        start_gate.wait()
        mine, bad = [], 0
        while time.perf_counter() < deadline[0]:
            try:
                item = work.get_nowait()
            except queue.Empty:
                exhausted.set()
                break
            t0 = time.perf_counter()
            try:
                ok = op(conn, item)
            except Exception:  # noqa: BLE001 - a broken request is an error, not a crash
                ok = False
            t1 = time.perf_counter()
            if t1 > deadline[0]:
                break
            if ok:
                mine.append((t1 - t0) * 1000)
            else:
                bad += 1
        with lock:
            lat.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    pids = set(server_pids) | set(pid_source() if pid_source else ())
    others = {k: set(f()) for k, f in (other_cpu or {}).items()}
    o0 = {k: cpu_seconds(v, expand=False) for k, v in others.items()}
    s0, c0, w0 = cpu_seconds(pids), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    deadline[0] = w0 + seconds
    start_gate.wait()
    for t in threads:
        t.join()
    w1 = time.perf_counter()
    pids |= set(pid_source() if pid_source else ())
    s1, c1 = cpu_seconds(pids), resource.getrusage(resource.RUSAGE_SELF)
    other = {}
    for k, f in (other_cpu or {}).items():
        others[k] |= set(f())
        other[f"cpu_s_{k}"] = cpu_seconds(others[k], expand=False) - o0[k]
    wall = min(w1, deadline[0]) - w0
    return other | {
        "clients": clients, "seconds": round(wall, 2), "ops": len(lat), "errors": errors[0],
        "ops_per_s": len(lat) / wall if wall > 0 else 0.0,
        "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
        "server_cpu_s": s1 - s0,
        "client_cpu_s": (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime),
        "pool_exhausted": exhausted.is_set(),
    }


def line(server, scenario, r):
    """One printed row."""
    flag = "  POOL EXHAUSTED" if r.get("pool_exhausted") else ""
    return (f"{server:38} {scenario:7} c={r['clients']:<3} {r['ops_per_s']:8.1f} ops/s  "
            f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']:<4} "
            f"server CPU {r['server_cpu_s']:6.1f} s  client CPU {r['client_cpu_s']:5.1f} s{flag}")
