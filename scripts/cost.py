#!/usr/bin/env python3
"""Cost model: what 1 million TOTP logins and 1 million SMS logins cost on AWS, next to Cognito.

  python3 scripts/cost.py [target/bench/coldwork.json]   # prints the Markdown tables

Inputs, each stated where it is used:
  - request counts: counted by tests/inproc/budget.rs (DynamoDB requests per step) and the item
    sizes read from a table after a login (every item < 1 KB: 1 WRU per write, 2 in a
    transaction; strongly consistent reads of < 4 KB: 1 RRU per item);
  - CPU per step: warm CPU ms per request of the release `authenticate` binary, measured by
    scripts/coldstart.py (from coldwork.json when given, else the figures of 2026-12-05 below);
  - AWS latency per request (an assumption: AWS quotes single-digit ms for DynamoDB) — the
    Lambda is billed for its wall time, which is CPU plus waiting on DynamoDB and SNS;
  - list prices, us-east-1, arm64, on-demand (aws.amazon.com/*/pricing, read 2026-12).
Nothing is asserted; it prints figures.
"""
import json
import os
import sys

PRICE = {
    "lambda_gb_s": 0.0000133334,       # arm64, first 7.5 bn GB-s per month
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,    # first 300 M per month
    "ddb_wru": 0.625 / 1e6,            # on-demand, standard table class
    "ddb_rru": 0.125 / 1e6,
    "kms_request": 0.03 / 1e4,
    "logs_gb": 0.50,                   # CloudWatch Logs ingestion (standard)
    "sms_us": 0.00581 + 0.00302,       # SNS SMS to a US number: base price + carrier fee
}
COGNITO = {  # per monthly active user (MAU) above the 10,000 free ones
    "Lite": [(90_000, 0.0055), (900_000, 0.0046)],
    "Essentials": [(float("inf"), 0.015)],
}
MEMORY_GB = 1.769                      # authenticate's MemorySize (template.yaml)
AWS_MS = {"get": 4, "update": 5, "batch_get": 5, "query": 5, "transact": 10, "sns_publish": 40}
# Default CPU ms per step (scripts/coldstart.py, 2026-12-05, this 2-core machine, release build).
CPU_MS = {"password_otp": 17.5, "password_sms": 18.8, "passcode": 0.94}
LOG_BYTES_PER_STEP = 1100              # platform START/END/REPORT + one audit event + one EMF line
COLD_SHARE = 0.01                      # share of invocations that are cold (each: 1 KMS Decrypt)

# DynamoDB requests per step: (kind, WRU, RRU). Items are < 1 KB (measured after a login).
STEPS = {
    "password step → OTP challenge": {
        "cpu": "password_otp",
        "requests": [("update", 1, 0),          # NAME#: guessing count, returns the user id
                     ("batch_get", 0, 2),       # user + domain, strongly consistent
                     ("transact", 4, 0)],       # session put + count cleared
    },
    "password step → SMS challenge": {
        "cpu": "password_sms",
        "requests": [("update", 1, 0), ("batch_get", 0, 2),
                     ("update", 1, 0), ("update", 1, 0),   # send-limit claims: number, phone
                     ("sns_publish", 0, 0),
                     ("transact", 4, 0)],
    },
    "passcode step (TOTP)": {
        "cpu": "passcode",
        "requests": [("query", 0, 1),           # user partition: user, devices, codes, session
                     ("update", 1, 0),          # attempt reservation
                     ("transact", 8, 0)],       # session delete, device step, user reset, token put
    },
    "passcode step (SMS)": {
        "cpu": "passcode",
        "requests": [("query", 0, 1), ("update", 1, 0),
                     ("transact", 6, 0)],       # session delete, user reset, token put
    },
}
LOGINS = {
    "TOTP": ["password step → OTP challenge", "passcode step (TOTP)"],
    "SMS": ["password step → SMS challenge", "passcode step (SMS)"],
}


def cpu_from(path):
    cpu = dict(CPU_MS)
    if path and os.path.exists(path):
        rows = {r["row"]: r for r in json.load(open(path))["rows"]}
        for key, row in (("password_otp", "authenticate: password -> OTP challenge"),
                         ("password_sms", "authenticate: password -> SMS challenge"),
                         ("passcode", "authenticate: passcode (TOTP)")):
            if row in rows and rows[row].get("warm_cpu_ms_per_req"):
                cpu[key] = rows[row]["warm_cpu_ms_per_req"]
    return cpu


def step_cost(step, cpu):
    wall = cpu[step["cpu"]] + sum(AWS_MS[k] for k, _, _ in step["requests"])
    billed_ms = int(wall) + 1  # Lambda bills per started millisecond
    wru = sum(w for _, w, _ in step["requests"])
    rru = sum(r for _, _, r in step["requests"])
    sms = sum(1 for k, _, _ in step["requests"] if k == "sns_publish")
    return {
        "wall_ms": wall,
        "lambda": billed_ms / 1000 * MEMORY_GB * PRICE["lambda_gb_s"] + PRICE["lambda_request"],
        "http_api": PRICE["http_api_request"],
        "dynamodb": wru * PRICE["ddb_wru"] + rru * PRICE["ddb_rru"],
        "kms": COLD_SHARE * PRICE["kms_request"],
        "logs": LOG_BYTES_PER_STEP / 1e9 * PRICE["logs_gb"],
        "sns": sms * PRICE["sms_us"],
        "wru": wru, "rru": rru,
    }


def cognito(mau, tier):
    left, total = max(0, mau - 10_000), 0.0
    for band, price in COGNITO[tier]:
        take = min(left, band)
        total += take * price
        left -= take
    return total


# Memory per function (template.yaml) and DynamoDB/SNS requests of its usual success path
# (docs/data-model.md), for the GB-seconds per request at that size.
SIZES = {"authenticate: password -> OTP challenge": (1769, 3), "authenticate: passcode (TOTP)": (1769, 3),
         "create-user": (1769, 3), "add-otp-device": (512, 3), "send-phone-code": (512, 6), "add-phone": (512, 3),
         "fallback": (128, 0)}
DEFAULT_SIZE = 256
REQUESTS = {"get-user": 2, "validate-token": 2, "list-phones": 2, "get-phone": 2, "list-credentials": 2,
            "get-api-key": 2, "list-otp-devices": 3, "get-otp-device": 3, "get-domain": 3, "revoke-token": 3,
            "add-role-to-user": 3, "delete-phone": 3, "reset-api-key": 3, "delete-api-key": 3,
            "generate-bypass-codes": 3, "update-mfa-settings": 3, "verify-phone": 4, "delete-otp-device": 4,
            "update-domain-enforcement": 4, "delete-mfa": 4, "verify-otp-device": 5}


def sizing(path):
    """Per function: the size, modelled CPU time and billed GB-s per warm request at that size."""
    rows = json.load(open(path))["rows"]
    print("| function (row) | MemorySize | CPU at 1,769 MB | CPU at its size | modelled duration | GB-s per request |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if r["row"].startswith("authenticate") and r["row"] not in SIZES:
            continue
        size, n = SIZES.get(r["row"], (DEFAULT_SIZE, REQUESTS.get(r["function"], 2)))
        cpu = r["warm_cpu_ms_per_req"]
        at = cpu * 1769 / min(size, 1769)
        wall = at + n * AWS_MS["update"]
        print(f"| {r['row']} | {size} MB | {cpu:.1f} ms | {at:.1f} ms | {wall:.0f} ms | {size / 1024 * wall / 1000:.4f} |")
    print()


def main():
    cpu = cpu_from(sys.argv[1] if len(sys.argv) > 1 else None)
    if len(sys.argv) > 1 and os.path.exists(sys.argv[1]):
        sizing(sys.argv[1])
    n = 1_000_000
    cols = ["lambda", "http_api", "dynamodb", "kms", "logs", "sns"]
    print("| 1,000,000 logins | Lambda (GB-s + requests) | HTTP API | DynamoDB | KMS | CloudWatch Logs | SNS SMS | **total** |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    totals = {}
    for login, steps in LOGINS.items():
        costs = [step_cost(STEPS[s], cpu) for s in steps]
        per = {c: sum(x[c] for x in costs) * n for c in cols}
        totals[login] = sum(per.values())
        print(f"| {login} | " + " | ".join(f"${per[c]:,.2f}" for c in cols) + f" | **${totals[login]:,.2f}** |")
    print()
    print("| step | modelled wall time on Lambda (CPU + AWS round trips) | WRU | RRU |")
    print("|---|---:|---:|---:|")
    for name, step in STEPS.items():
        c = step_cost(step, cpu)
        print(f"| {name} | {c['wall_ms']:.1f} ms ({cpu[step['cpu']]:.1f} ms CPU) | {c['wru']} | {c['rru']} |")
    print()
    print("| Cognito user pool, the same 1,000,000 logins | Lite | Essentials |")
    print("|---|---:|---:|")
    for mau in (100_000, 1_000_000):
        sms = n * PRICE["sms_us"]
        print(f"| TOTP, {mau:,} MAU ({n // mau} logins each) | ${cognito(mau, 'Lite'):,.2f} | ${cognito(mau, 'Essentials'):,.2f} |")
        print(f"| SMS, {mau:,} MAU (+ the same SNS SMS) | ${cognito(mau, 'Lite') + sms:,.2f} | ${cognito(mau, 'Essentials') + sms:,.2f} |")


if __name__ == "__main__":
    main()
