"""Helpers shared by the client-library tests (stdlib only): talk to the local stack directly
to set up users, and check that a token a client library obtained validates for that user."""
import base64, hashlib, hmac, http.client, json, os, secrets, struct, time
from urllib.parse import urlparse

API = os.environ["API_URL"].rstrip("/")
ADMIN_USER = os.environ.get("ADMIN_USERNAME", "admin")
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]


def call(method, path, body=None, token=None, headers=None):
    u = urlparse(API)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Content-Type": "application/json", **(headers or {})}
    if token:
        h["X-Auth-Token"] = token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), (json.loads(data) if data else None)


def login(username, password):
    st, _, body = call("POST", "/v2.0/tokens",
                       {"auth": {"passwordCredentials": {"username": username, "password": password}}})
    assert st == 200, (st, body)
    return body["access"]["token"]["id"]


def new_user_admin():
    """A fresh user-admin (with a domain, so tokens carry a tenant), created by a fresh
    identity:admin: (id, username, password, api key, token)."""

    def create(creator_token, prefix):
        username = prefix + secrets.token_hex(5)
        password = "Cl1ent-" + secrets.token_hex(8)
        st, _, body = call("POST", "/v2.0/users", {"user": {
            "username": username, "email": username + "@example.com",
            "OS-KSADM:password": password}}, creator_token)
        assert st == 201, (st, body)
        return body["user"]["id"], username, password, login(username, password)

    _, _, _, admin = create(login(ADMIN_USER, ADMIN_PASSWORD), "clientadm")
    uid, username, password, token = create(admin, "client")
    st, _, body = call("GET", f"/v2.0/users/{uid}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
                       token=token)
    assert st == 200, (st, body)
    return uid, username, password, body["RAX-KSKEY:apiKeyCredentials"]["apiKey"], token


def validates_for(token, user_id, methods=None):
    """The token is valid and belongs to `user_id` (GET /v2.0/tokens/{token} with itself)."""
    st, _, body = call("GET", f"/v2.0/tokens/{token}", token=token)
    assert st == 200, (st, body)
    access = body["access"]
    assert access["user"]["id"] == user_id, access["user"]
    if methods is not None:
        assert access["token"]["RAX-AUTH:authenticatedBy"] == methods, access["token"]
    return access


def totp(secret_b32, t=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s), computed here independently of the service."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((t or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def enable_otp_mfa(uid, token):
    """Adds and verifies an OTP device, enables MFA with it; returns the base32 secret."""
    mf = f"/v2.0/users/{uid}/RAX-AUTH/multi-factor"
    st, _, body = call("POST", mf + "/otp-devices", {"RAX-AUTH:otpDevice": {"name": "client"}}, token)
    assert st == 201, (st, body)
    dev = body["RAX-AUTH:otpDevice"]
    secret = dev["keyUri"].split("secret=")[1].split("&")[0]
    st, _, body = call("POST", f"{mf}/otp-devices/{dev['id']}/verify",
                       {"RAX-AUTH:verificationCode": {"code": totp(secret, time.time() - 30)}}, token)
    assert st == 204, (st, body)
    st, _, body = call("PUT", mf, {"RAX-AUTH:multiFactor": {"enabled": True, "factorType": "OTP"}}, token)
    assert st == 204, (st, body)
    return secret


class Results:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def run(self, name, fn):
        try:
            fn()
            self.passed += 1
            print(f"ok   {name}", flush=True)
        except Exception as e:  # report every client, then fail the run
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
