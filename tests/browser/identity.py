"""Scenario set-up through the public API (requests), SMS read back from moto, TOTP codes.

Nothing here touches the page: the browser tests use it to create users in the state a test
needs and to check, behind the page's back, what the page did (tokens, MFA state)."""
from __future__ import annotations

import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import pyotp
import requests

API = os.environ["API_URL"].rstrip("/")
MOTO = os.environ.get("MOTO_URL", "").rstrip("/")
ADMIN_USERNAME = os.environ.get("ADMIN_USERNAME", "admin")
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
LOCKOUT_SECONDS = int(os.environ.get("LOCKOUT_SECONDS", "600"))
LOCKOUT_CAP = int(os.environ.get("LOCKOUT_CAP", "100"))
SMS_MIN_INTERVAL_SECONDS = int(os.environ.get("SMS_MIN_INTERVAL_SECONDS", "0"))

WRONG_PASSWORD_MESSAGE = "Unable to authenticate user with credentials provided."
LOCKED_MESSAGE = "User is locked out of multi-factor authentication."
INVALID_PASSCODE_MESSAGE = "Invalid passcode"
MUST_SETUP_MESSAGE = "User must setup multi-factor"

_http = requests.Session()


def call(method: str, path: str, body=None, token: str | None = None, headers=None) -> requests.Response:
    h = {"Accept": "application/json", **(headers or {})}
    if token:
        h["X-Auth-Token"] = token
    return _http.request(method, API + path, json=body, headers=h, timeout=60)


def expect(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else {}


def password_login(username: str, password: str, scope: str | None = None) -> requests.Response:
    auth: dict = {"passwordCredentials": {"username": username, "password": password}}
    if scope:
        auth["RAX-AUTH:scope"] = scope
    return call("POST", "/v2.0/tokens", {"auth": auth})


def login(username: str, password: str) -> str:
    return expect(password_login(username, password), 200)["access"]["token"]["id"]


def challenge(username: str, password: str) -> str:
    """The password step of an MFA user: the OS-MF session id."""
    r = password_login(username, password)
    assert r.status_code == 401, (r.status_code, r.text)
    m = re.search(r"sessionId='([^']+)'", r.headers.get("WWW-Authenticate", ""))
    assert m, r.headers
    return m.group(1)


def passcode_login(session_id: str, passcode: str) -> requests.Response:
    return call("POST", "/v2.0/tokens",
                {"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": passcode}}},
                headers={"X-SessionId": session_id})


def validate(token: str) -> requests.Response:
    """GET /v2.0/tokens/{token} with the token itself: 200 while valid, 401 once revoked."""
    return call("GET", f"/v2.0/tokens/{token}", token=token)


def mf(user_id: str) -> str:
    return f"/v2.0/users/{user_id}/RAX-AUTH/multi-factor"


# ------------------------------------------------------------------------------ TOTP


class Totp:
    """Codes for one device, never the same time step twice (the service refuses a replayed
    step), and always within the ±1 step the service accepts."""

    def __init__(self, uri_or_secret: str):
        if uri_or_secret.startswith("otpauth://"):
            self.otp = pyotp.parse_uri(uri_or_secret)
        else:
            self.otp = pyotp.TOTP(uri_or_secret)
        self.last: int | None = None

    def code(self) -> str:
        period = self.otp.interval
        now = int(time.time() // period)
        step = now if self.last is None else max(self.last + 1, now)
        if step > now + 1:  # both neighbours used: wait for the clock
            time.sleep((step - 1) * period - time.time() + 0.2)
        self.last = step
        return self.otp.at(step * period)

    def wrong(self) -> str:
        """A 6-digit code that no step around now accepts."""
        now = time.time()
        valid = {self.otp.at(now + d * self.otp.interval) for d in (-2, -1, 0, 1, 2)}
        while True:
            c = f"{secrets.randbelow(10**6):06d}"
            if c not in valid:
                return c


# ------------------------------------------------------------------------------ users


@dataclass
class User:
    id: str
    username: str
    password: str
    domain_id: str | None
    token: str | None = None
    totp: Totp | None = None
    extra: dict = field(default_factory=dict)


_lock = threading.Lock()
_identity_admin: User | None = None


def _create(creator_token: str, prefix: str) -> User:
    username = prefix + secrets.token_hex(5)
    password = "Br0wser-" + secrets.token_hex(8)
    body = expect(call("POST", "/v2.0/users", {"user": {
        "username": username, "email": username + "@example.com",
        "OS-KSADM:password": password}}, creator_token), 201)["user"]
    return User(body["id"], username, password, body.get("RAX-AUTH:domainId"))


def identity_admin() -> User:
    """One identity:admin for the whole run, created by the seeded service-admin."""
    global _identity_admin
    with _lock:
        if _identity_admin is None:
            a = _create(login(ADMIN_USERNAME, ADMIN_PASSWORD), "bradm")
            a.token = login(a.username, a.password)
            _identity_admin = a
        return _identity_admin


def new_user_admin(prefix: str = "bua", required: bool = False) -> User:
    """A user-admin in a new (OPTIONAL) domain; `required`: its own enforcement level is set to
    REQUIRED by the identity:admin (§2.12), so its password alone no longer signs it in."""
    admin = identity_admin()
    u = _create(admin.token, prefix)
    if required:
        expect(call("PUT", mf(u.id), {"RAX-AUTH:multiFactor": {
            "userMultiFactorEnforcementLevel": "REQUIRED"}}, admin.token), 204)
    return u


def new_sub_user(parent: User, prefix: str = "bsub") -> User:
    tok = parent.token or login(parent.username, parent.password)
    return _create(tok, prefix)


def enable_otp(u: User, name: str = "api") -> Totp:
    """Adds and verifies an OTP device through the API and turns MFA on (factor OTP)."""
    tok = login(u.username, u.password)
    dev = expect(call("POST", mf(u.id) + "/otp-devices",
                      {"RAX-AUTH:otpDevice": {"name": name}}, tok), 201)["RAX-AUTH:otpDevice"]
    totp = Totp(dev["keyUri"])
    expect(call("POST", f"{mf(u.id)}/otp-devices/{dev['id']}/verify",
                {"RAX-AUTH:verificationCode": {"code": totp.code()}}, tok), 204)
    expect(call("PUT", mf(u.id), {"RAX-AUTH:multiFactor": {"enabled": True, "factorType": "OTP"}}, tok), 204)
    u.totp = totp
    return totp


def add_verified_phone(u: User) -> tuple[str, str]:
    """Adds a fresh phone through the API and verifies it with the PIN read from moto (while
    the user's MFA is off: no step-up needed). Returns (display, E.164)."""
    tok = login(u.username, u.password)
    display, e164 = fresh_phone()
    phone = expect(call("POST", mf(u.id) + "/mobile-phones",
                        {"RAX-AUTH:mobilePhone": {"number": display}}, tok), 201)["RAX-AUTH:mobilePhone"]
    expect(call("POST", f"{mf(u.id)}/mobile-phones/{phone['id']}/verificationcode", token=tok), 202)
    pin = code_in(wait_sms(e164, 1)[-1], 6)
    expect(call("POST", f"{mf(u.id)}/mobile-phones/{phone['id']}/verify",
                {"RAX-AUTH:verificationCode": {"code": pin}}, tok), 204)
    return display, e164


def get_user(u: User, token: str) -> dict:
    return expect(call("GET", f"/v2.0/users/{u.id}", token=token), 200)["user"]


def fail_passcode(u: User) -> int:
    """One wrong passcode after a fresh password step; returns the step-2 status."""
    r = password_login(u.username, u.password)
    if r.status_code == 403:
        return 403
    assert r.status_code == 401, (r.status_code, r.text)
    sid = re.search(r"sessionId='([^']+)'", r.headers["WWW-Authenticate"]).group(1)
    return passcode_login(sid, u.totp.wrong()).status_code


def lock_for_good(u: User, failures_so_far: int = 0) -> None:
    """Wrong passcodes until the consecutive count reaches LOCKOUT_CAP, after which the lock no
    longer expires by itself (§3.4): a lock that lasts while the test looks at it. Between
    failures past the threshold it waits LOCKOUT_SECONDS for the short lock to lapse."""
    n = failures_so_far
    while n < 3:
        assert fail_passcode(u) == 401
        n += 1
    while n < LOCKOUT_CAP:
        assert LOCKOUT_SECONDS <= 30, f"run the stack with short LOCKOUT_SECONDS (got {LOCKOUT_SECONDS})"
        time.sleep(LOCKOUT_SECONDS + 0.5)
        assert fail_passcode(u) == 401
        n += 1
    r = password_login(u.username, u.password)
    assert r.status_code == 403 and LOCKED_MESSAGE in r.text, (r.status_code, r.text)


# ------------------------------------------------------------------------------ SMS (moto)


def all_sms() -> list[tuple[str, str]]:
    data = _http.get(MOTO + "/moto-api/data.json", timeout=30).json()
    return [(m.get("phone_number", ""), m.get("message", "")) for m in data.get("sns", {}).get("SMS", [])]


def sms_to(e164: str) -> list[str]:
    return [m for to, m in all_sms() if to == e164]


def wait_sms(e164: str, count: int, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        msgs = sms_to(e164)
        if len(msgs) >= count or time.monotonic() > deadline:
            assert len(msgs) >= count, f"expected {count} SMS to {e164}, moto has {msgs}"
            return msgs
        time.sleep(0.2)


def code_in(message: str, digits: int) -> str:
    codes = [r for r in re.findall(r"\d+", message) if len(r) == digits]
    assert len(codes) == 1, f"expected one {digits}-digit code in {message!r}"
    return codes[0]


def fresh_phone() -> tuple[str, str]:
    """(display, E.164) of a +1 210-555-01xx number no SMS went to yet in this moto (never
    xx99: moto treats numbers ending in 99 as opted out). 555-01xx is the fictional range;
    libphonenumber accepts it as a US fixed-line-or-mobile number."""
    used = {to for to, _ in all_sms()}
    for _ in range(200):
        xx = secrets.randbelow(99)
        e164 = f"+121055501{xx:02d}"
        if e164 not in used:
            return f"+1 210-555-01{xx:02d}", e164
    raise AssertionError("no unused +1 210-555-01xx number left in this moto")
