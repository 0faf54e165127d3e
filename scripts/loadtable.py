#!/usr/bin/env python3
"""Prints the side-by-side load table from target/bench/load-*.json (scripts/bench_load.sh)
and writes it as Markdown to target/bench/load.md. Ratio = this service's ops/s over the best
peer's in the same cell."""
import json
import os
import sys

out_dir = sys.argv[1] if len(sys.argv) > 1 else "target/bench"
servers = []
for name in ("identity", "privacyidea", "keystone"):
    p = os.path.join(out_dir, f"load-{name}.json")
    if os.path.exists(p):
        servers.append((name, json.load(open(p))))
if not servers:
    sys.exit("no load-*.json in " + out_dir)

cells = {}
for name, data in servers:
    for r in data["rows"]:
        cells[(r["scenario"], r["clients"], name)] = r

md = ["| scenario | clients | server | ops/s | p50 | p99 | errors | server CPU s/op | client CPU |",
      "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
ratios = []
for scenario in ("verify", "login"):
    for clients in sorted({k[1] for k in cells if k[0] == scenario}):
        best_peer = None
        for name, data in servers:
            r = cells.get((scenario, clients, name))
            if not r:
                continue
            cpu = r["server_cpu_s"] + r.get("cpu_s_emulators", 0) + r.get("cpu_s_router", 0)
            per_op = cpu / r["ops"] * 1000 if r["ops"] else float("nan")
            extra = ""
            if "cpu_s_emulators" in r:
                extra = f" (functions {r['server_cpu_s'] / max(r['ops'], 1) * 1000:.1f} ms)"
            md.append(f"| {scenario} | {clients} | {data['server']} | {r['ops_per_s']:.1f} | {r['p50_ms']:.1f} ms | "
                      f"{r['p99_ms']:.1f} ms | {r['errors']} | {per_op:.1f} ms{extra} | {r['client_cpu_s']:.1f} s |")
            if name != "identity" and (best_peer is None or r["ops_per_s"] > best_peer[1]["ops_per_s"]):
                best_peer = (data["server"], r)
        ours = cells.get((scenario, clients, "identity"))
        if ours and best_peer:
            ratios.append(f"- {scenario}, {clients} client(s): {ours['ops_per_s']:.1f} vs {best_peer[1]['ops_per_s']:.1f} "
                          f"ops/s ({best_peer[0]}) = **{ours['ops_per_s'] / best_peer[1]['ops_per_s']:.1f}×**")
text = "\n".join(md + [""] + ratios) + "\n"
print(text)
with open(os.path.join(out_dir, "load.md"), "w") as f:
    f.write(text)
