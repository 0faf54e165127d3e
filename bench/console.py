#!/usr/bin/env python3
"""How fast the control panel loads and signs a person in, in headless Chromium, on a running
local stack (scripts/run-local.sh). Prints figures; asserts nothing about time.

    .venv-browser/bin/python bench/console.py --api http://localhost:9000 \
        --admin admin --password "$ADMIN_PASSWORD" [--runs 20]

Each run opens a fresh browser context (empty cache) and measures:
  load      navigation start -> the sign-in form is usable (textbox "Username" visible)
  sign-in   click "Sign in" -> the security page's status line is shown (password-only user)
  mfa       click "Sign in" -> passcode form, then "Verify" -> status line (TOTP user; the
            passcode is typed at once, so the figure is the service's and the page's time)
"""
import argparse
import base64
import hashlib
import hmac
import shutil
import statistics
import struct
import time
import uuid

import requests
from playwright.sync_api import sync_playwright


def totp(secret, t=None):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", int((t or time.time()) // 30)), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, token=None):
        h = {"Content-Type": "application/json"}
        if token:
            h["X-Auth-Token"] = token
        return requests.request(method, self.base + path, json=body, headers=h, timeout=30)

    def token(self, user, password):
        r = self.call("POST", "/v2.0/tokens", {"auth": {"passwordCredentials": {"username": user, "password": password}}})
        r.raise_for_status()
        return r.json()["access"]["token"]["id"], r.json()["access"]["user"]["id"]

    def create(self, token, name, password):
        r = self.call("POST", "/v2.0/users", {"user": {"username": name, "email": f"{name}@example.com", "OS-KSADM:password": password}}, token)
        r.raise_for_status()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    api = Api(a.api)
    pw = "Bench-" + uuid.uuid4().hex[:10]
    sa, _ = api.token(a.admin, a.password)
    sfx = uuid.uuid4().hex[:6]
    api.create(sa, "cbadm" + sfx, pw)
    adm, _ = api.token("cbadm" + sfx, pw)
    plain, mfa = "cbplain" + sfx, "cbmfa" + sfx
    api.create(adm, plain, pw)
    api.create(adm, mfa, pw)
    tok, uid = api.token(mfa, pw)
    mf = f"/v2.0/users/{uid}/RAX-AUTH/multi-factor"
    # Five devices: each takes one code per 30 s step, so five MFA sign-ins per step.
    secrets = []
    verified_at = []  # (step, device): the verification spent that step's code
    for n in range(5):
        dev = api.call("POST", mf + "/otp-devices", {"RAX-AUTH:otpDevice": {"name": f"bench{n}"}}, tok).json()["RAX-AUTH:otpDevice"]
        secret = dev["keyUri"].split("secret=")[1].split("&")[0]
        api.call("POST", f"{mf}/otp-devices/{dev['id']}/verify", {"RAX-AUTH:verificationCode": {"code": totp(secret)}}, tok).raise_for_status()
        secrets.append(secret)
        verified_at.append((int(time.time() // 30), n))
    api.call("PUT", mf, {"RAX-AUTH:multiFactor": {"enabled": True}}, tok).raise_for_status()

    load, sign_in, mfa_ms = [], [], []
    used = set(verified_at)  # (step, device) pairs already spent
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        for _ in range(a.runs):
            ctx = browser.new_context()
            page = ctx.new_page()
            t0 = time.perf_counter()
            page.goto(a.api + "/console")
            page.get_by_role("textbox", name="Username", exact=True).wait_for()
            load.append((time.perf_counter() - t0) * 1000)
            page.get_by_role("textbox", name="Username", exact=True).fill(plain)
            page.get_by_role("textbox", name="Password", exact=True).fill(pw)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.get_by_text("Multi-factor authentication is disabled").wait_for()
            sign_in.append((time.perf_counter() - t0) * 1000)
            ctx.close()

            # A device accepts each 30 s step once: take an unused device, or wait for the next step
            # (and keep 2 s away from a step's end, so the code typed is still current).
            while True:
                step = int(time.time() // 30)
                free = [d for d in range(len(secrets)) if (step, d) not in used]
                if free and time.time() % 30 < 28:
                    break
                time.sleep(30 - time.time() % 30 + 0.2)
            device = free[0]
            used.add((step, device))
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(a.api + "/console")
            page.get_by_role("textbox", name="Username", exact=True).fill(mfa)
            page.get_by_role("textbox", name="Password", exact=True).fill(pw)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.get_by_role("textbox", name="Passcode", exact=True).fill(totp(secrets[device]))
            page.get_by_role("button", name="Verify", exact=True).click()
            page.get_by_text("Multi-factor authentication is enabled").wait_for()
            mfa_ms.append((time.perf_counter() - t0) * 1000)
            ctx.close()
        browser.close()

    for name, xs in (("page load to sign-in form", load), ("password sign-in to security page", sign_in),
                     ("password + TOTP sign-in to security page", mfa_ms)):
        print(f"{name:42} n={len(xs):3}  p50 {statistics.median(xs):7.1f} ms  p95 {pct(xs, 95):7.1f} ms  max {max(xs):7.1f} ms")


if __name__ == "__main__":
    main()
