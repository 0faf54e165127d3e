#!/usr/bin/env python3
"""Cold start that includes the real work, and warm CPU per request, per function (stdlib only).
Prints figures, asserts no timing; it does check that every answer has the expected status.

  coldstart.py --api URL --user ADMIN --password PW --env-file STACK_DIR/functions.env \\
               [--bin-dir target/release] [--runs 10] [--warm 20] [--only authenticate,get-user]

  (instead of --env-file: --dynamodb URL --moto URL --table NAME --kms-key-id ID)

Against a running local stack (scripts/run-local.sh; scripts/bench_coldstart.sh starts one):

* For every function of the route table (and several kinds of `POST /v2.0/tokens`), one row:
  R times, a fresh process of the release binary (`<bin-dir>/<op>`) gets, from a local Lambda
  Runtime API served here, one request that does the function's real job (valid token, real
  ids, a body that succeeds: it reads and writes DynamoDB Local and opens or seals through KMS
  in moto where the operation does). Cold start = process start -> that response, split into
  init (process start -> its first poll of /invocation/next) and first invoke (poll -> response).
* In the first --warm-runs of those processes, K more such requests follow; the process's CPU
  time over them (utime+stime from /proc/<pid>/stat, and the exact per-thread
  sum_exec_runtime from /proc/<pid>/task/*/schedstat) / K is the warm CPU per request.
* Max RSS = VmHWM from /proc/<pid>/status just before the process is killed.
* Fixtures (users, domains, phones, devices, sessions, tokens) are made beforehand through the
  stack's HTTP API, untimed; one per request wherever the request consumes or changes something
  that would make a second identical request fail or do less work.

Process environment: the function environment of the stack (the env file run-local.sh writes,
or the flags), plus the variables Lambda sets (bench.py's LAMBDA_ENV, the function name, the
log level and format of template.yaml's LoggingConfig) and PATH; nothing else of this shell.

Writes target/bench/coldwork.json. Also a model for memory sizing: Lambda gives a function
M/1769 of one vCPU at M MB, so CPU work of c ms takes c * 1769 / M ms of wall-clock at M < 1769
(this ignores Graviton vs this machine's core, CPU bursts, and everything that is not CPU).
"""
import argparse, http.client, itertools, json, os, queue, random, re, shutil, socket, statistics, subprocess, sys
import tempfile, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import LAMBDA_ENV, ROOT, Api, event, machine, pct, routes, save, totp  # noqa: E402

SIZES = (128, 256, 512, 1024, 1769)
VCPU_MB = 1769
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ local Lambda Runtime API

class LambdaApi:
    """A Lambda Runtime API for one process: hands out queued events one at a time (HTTP/1.1,
    keep-alive, as Lambda's) and records when the process polls and when each response arrives."""

    def __init__(self, function):
        self.q = queue.Queue()
        self.cv = threading.Condition()
        self.res = {}
        self.polls = []
        self.closed = False
        self.init_error = None
        self.arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function}"
        self.ids = itertools.count(1)
        rt = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Without this, Nagle + delayed ACK add ~3 ms to every exchange on loopback.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *a):
                pass

            def reply(self, code, body=b"", headers=()):
                self.send_response(code)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
                self.flush_headers()

            def read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    out = b""
                    while True:
                        n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if n == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(n)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                with rt.cv:
                    rt.polls.append(time.perf_counter())
                while True:
                    try:
                        rid, body = rt.q.get(timeout=0.25)
                        break
                    except queue.Empty:
                        if rt.closed:
                            self.close_connection = True
                            return
                with rt.cv:
                    rt.res[rid]["t_handed"] = time.perf_counter()
                self.reply(200, body, [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", rid),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000)),
                    ("Lambda-Runtime-Invoked-Function-Arn", rt.arn),
                    ("Lambda-Runtime-Trace-Id", f"Root=1-00000000-{rid:0>24};Sampled=0"),
                ])

            def do_POST(self):
                body = self.read_body()
                t = time.perf_counter()
                m = re.search(r"/runtime/invocation/([^/]+)/(response|error)$", self.path)
                with rt.cv:
                    if m and m.group(1) in rt.res:
                        rt.res[m.group(1)].update(t_resp=t, kind=m.group(2), raw=body)
                    elif self.path.endswith("/runtime/init/error"):
                        rt.init_error = body.decode("utf-8", "replace")
                    rt.cv.notify_all()
                self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the process was killed mid-poll: expected

        self.server = Server(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, ev):
        """Queues one event; returns its request id (the send time is recorded now)."""
        rid = f"cw{next(self.ids):06d}"
        body = json.dumps(dict(ev, requestContext=dict(ev["requestContext"], requestId=rid))).encode()
        with self.cv:
            self.res[rid] = {"t_put": time.perf_counter()}
        self.q.put((rid, body))
        return rid

    def wait(self, rid, proc, timeout=15.0):
        end = time.monotonic() + timeout
        with self.cv:
            while "t_resp" not in self.res[rid]:
                if proc.poll() is not None:
                    raise RuntimeError(f"process exited ({proc.returncode}) before answering"
                                       + (f"; init error: {self.init_error}" if self.init_error else ""))
                if self.init_error:
                    raise RuntimeError(f"init error: {self.init_error}")
                if time.monotonic() > end:
                    raise RuntimeError(f"no response within {timeout:.0f} s")
                self.cv.wait(0.05)
            return self.res[rid]

    def close(self):
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


def parse_response(r):
    """statusCode, lower-cased headers and JSON body of a lambda_http response."""
    if r.get("kind") != "response":
        return "error", {}, r.get("raw", b"")[:300].decode("utf-8", "replace")
    try:
        doc = json.loads(r["raw"])
    except ValueError:
        return "bad-json", {}, r["raw"][:300].decode("utf-8", "replace")
    headers = {k.lower(): v for k, v in (doc.get("headers") or {}).items()}
    for k, vs in (doc.get("multiValueHeaders") or {}).items():
        headers.setdefault(k.lower(), vs[0] if vs else "")
    body = doc.get("body")
    if doc.get("isBase64Encoded") and body:
        import base64
        body = base64.b64decode(body).decode("utf-8", "replace")
    try:
        body = json.loads(body) if body else None
    except ValueError:
        pass
    return doc.get("statusCode"), headers, body


# ------------------------------------------------------------------ /proc

def cpu_stat_ms(pid):
    """utime + stime of the whole process (threads that ended included), in ms (clock ticks)."""
    rest = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) * 1000 / CLK_TCK


def cpu_sched_ns(pid):
    """{tid: ns on CPU} of the live threads (exact; a thread that ended is gone from here)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out[tid] = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def status_kb(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


# ------------------------------------------------------------------ fixtures via the stack's API

class FixtureError(Exception):
    pass


US_AREAS = ("210", "212", "312", "415", "512", "617", "713", "206", "303")
PW = "Cold-Work-" + os.urandom(4).hex()


class Stack:
    """The running stack, driven through its HTTP API (untimed)."""

    DOMAIN_CAP = 90  # DOMAIN_USER_LIMIT is 100 by default; roll over to a new domain well before

    def __init__(self, api_url, admin, password, moto_url):
        self.url = api_url
        self.api = Api(api_url)
        self.moto = moto_url.rstrip("/")
        self.rnd = os.urandom(3).hex()
        self.seq = itertools.count()
        self.calls = 0
        self.domain = None
        self.numbers = {n for n, _ in self.sms()}
        self.sa, _ = self.login(admin, password)
        # An identity:admin (Rackspace) with OTP MFA on: it may set any domain's level, which
        # update-domain-enforcement requires of its caller (MFA on), whatever the stack's
        # NEW_DOMAIN_ENFORCEMENT_LEVEL; fixture domains are set to OPTIONAL so their users get
        # full tokens from a password.
        name = self.name("cwra")
        ra_id = self.create_user(name, self.sa)
        tok, _ = self.login(name, PW)
        dev, secret = self.add_device(ra_id, tok)
        self.verify_device(ra_id, dev, secret, tok)
        self.call("PUT", self.mf(ra_id), {"RAX-AUTH:multiFactor": {"enabled": True, "factorType": "OTP"}}, tok,
                  expect=204)
        self.ra = self.mfa_login(name, secret)

    # -- plumbing
    def name(self, prefix):
        return f"{prefix}{self.rnd}n{next(self.seq)}"

    @staticmethod
    def mf(uid):
        return f"/v2.0/users/{uid}/RAX-AUTH/multi-factor"

    def call(self, method, path, body=None, token=None, headers=None, expect=None):
        self.calls += 1
        try:
            s, h, b, _ = self.api.call(method, path, body, token, headers)
        except (http.client.HTTPException, OSError):
            self.api = Api(self.url)  # the connection dropped: reconnect once
            s, h, b, _ = self.api.call(method, path, body, token, headers)
        h = {k.lower(): v for k, v in h.items()}
        if expect is not None and s != expect:
            raise FixtureError(f"fixture {method} {path} -> {s}, expected {expect}: {json.dumps(b)[:300]}")
        return s, h, b

    def login(self, username, password, scope=None):
        auth = {"passwordCredentials": {"username": username, "password": password}}
        if scope:
            auth["RAX-AUTH:scope"] = scope
        _, _, b = self.call("POST", "/v2.0/tokens", {"auth": auth}, expect=200)
        return b["access"]["token"]["id"], b["access"]["user"]["id"]

    def password_step(self, username):
        """The password step of an MFA user: the session id of its OS-MF challenge."""
        _, h, _ = self.call("POST", "/v2.0/tokens",
                            {"auth": {"passwordCredentials": {"username": username, "password": PW}}}, expect=401)
        m = re.search(r"sessionId='([^']+)'", h.get("www-authenticate", ""))
        if not m:
            raise FixtureError(f"no OS-MF challenge: {h}")
        return m.group(1)

    def mfa_login(self, username, secret):
        sid = self.password_step(username)
        _, _, b = self.call("POST", "/v2.0/tokens",
                            {"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": totp(secret)}}},
                            headers={"X-SessionId": sid}, expect=200)
        return b["access"]["token"]["id"]

    def create_user(self, username, token):
        _, _, b = self.call("POST", "/v2.0/users", {"user": {"username": username, "email": "cw@example.com",
                                                             "OS-KSADM:password": PW}}, token, expect=201)
        return b["user"]["id"]

    # -- domains and users
    def new_domain(self):
        """A user-admin (so a new domain, set to OPTIONAL) and its full token."""
        name = self.name("cwua")
        _, _, b = self.call("POST", "/v2.0/users", {"user": {"username": name, "email": "cw@example.com",
                                                             "OS-KSADM:password": PW}}, self.ra, expect=201)
        did = b["user"]["RAX-AUTH:domainId"]
        self.call("PUT", f"/v2.0/RAX-AUTH/domains/{did}/multi-factor",
                  {"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": "OPTIONAL"}}, self.ra,
                  expect=204)
        tok, uid = self.login(name, PW)
        return {"id": did, "ua": tok, "ua_id": uid, "ua_name": name, "users": 1}

    def reserve(self):
        """The current fixture domain, with room for one more user."""
        if self.domain is None or self.domain["users"] >= self.DOMAIN_CAP:
            self.domain = self.new_domain()
        self.domain["users"] += 1
        return self.domain

    def user(self, login=False):
        """A fresh identity:default sub-user; `ua` is its user-admin's token, `token` its own."""
        d = self.reserve()
        name = self.name("cwu")
        uid = self.create_user(name, d["ua"])
        u = {"id": uid, "name": name, "ua": d["ua"], "domain": d["id"], "token": None}
        if login:
            u["token"], _ = self.login(name, PW)
        return u

    # -- devices
    def add_device(self, uid, token):
        _, _, b = self.call("POST", f"{self.mf(uid)}/otp-devices", {"RAX-AUTH:otpDevice": {"name": "cold"}}, token,
                            expect=201)
        d = b["RAX-AUTH:otpDevice"]
        return d["id"], re.search(r"secret=([A-Z2-7]+)", d["keyUri"]).group(1)

    def verify_device(self, uid, dev, secret, token):
        """Verifies with the previous step's code, so the current and next steps stay free for a
        login (each step is accepted once per device)."""
        if time.time() % 30 > 28.5:
            time.sleep(30 - time.time() % 30 + 0.2)
        code = totp(secret, time.time() - 30)
        self.call("POST", f"{self.mf(uid)}/otp-devices/{dev}/verify", {"RAX-AUTH:verificationCode": {"code": code}},
                  token, expect=204)

    def otp_mfa_user(self, login=False):
        u = self.user(login=False)
        dev, secret = self.add_device(u["id"], u["ua"])
        self.verify_device(u["id"], dev, secret, u["ua"])
        self.call("PUT", self.mf(u["id"]), {"RAX-AUTH:multiFactor": {"enabled": True, "factorType": "OTP"}}, u["ua"],
                  expect=204)
        u.update(device=dev, secret=secret)
        return u

    # -- phones and SMS
    def sms(self):
        """(E.164, message) of every SMS moto has recorded."""
        with urllib.request.urlopen(f"{self.moto}/moto-api/data.json", timeout=30) as r:
            data = json.load(r)
        return [(m.get("phone_number", ""), m.get("message", "")) for m in data.get("sns", {}).get("SMS", [])]

    def fresh_number(self):
        """A random US number (area codes the API tests use) never seen by this moto; not ending
        in 99 (moto reports those as opted out of SMS)."""
        while True:
            area = random.choice(US_AREAS)
            exchange = f"{random.randint(2, 9)}{random.randint(0, 99):02d}"
            line = f"{random.randint(0, 9999):04d}"
            if exchange.endswith("11") or exchange == "555" or line.endswith("99"):
                continue
            e164 = f"+1{area}{exchange}{line}"
            if e164 not in self.numbers:
                self.numbers.add(e164)
                return f"+1 {area}-{exchange}-{line}", e164

    def add_phone(self, uid, token):
        for _ in range(5):
            display, e164 = self.fresh_number()
            s, _, b = self.call("POST", f"{self.mf(uid)}/mobile-phones", {"RAX-AUTH:mobilePhone": {"number": display}},
                                token)
            if s == 201:
                return b["RAX-AUTH:mobilePhone"]["id"], e164
            if s != 400:
                break
        raise FixtureError(f"add phone -> {s}: {json.dumps(b)[:300]}")

    def read_code(self, e164, digits, count=1):
        """The last `digits`-digit code in the count-th SMS to e164 (waits up to 10 s)."""
        for _ in range(50):
            msgs = [m for n, m in self.sms() if n == e164]
            if len(msgs) >= count:
                codes = re.findall(rf"(?<!\d)\d{{{digits}}}(?!\d)", msgs[count - 1])
                if codes:
                    return codes[0]
            time.sleep(0.2)
        raise FixtureError(f"no SMS with a {digits}-digit code to {e164}")

    def phone_user(self, pin=False, verified=False):
        """A fresh sub-user (own token) with a phone; optionally a PIN sent; optionally verified."""
        u = self.user(login=True)
        u["phone"], u["e164"] = self.add_phone(u["id"], u["token"])
        if pin or verified:
            base = f"{self.mf(u['id'])}/mobile-phones/{u['phone']}"
            self.call("POST", f"{base}/verificationcode", token=u["token"], expect=202)
            u["sms_at"] = time.time()
            u["pin"] = self.read_code(u["e164"], 6)
            if verified:
                self.call("POST", f"{base}/verify", {"RAX-AUTH:verificationCode": {"code": u["pin"]}}, u["token"],
                          expect=204)
        return u

    def sms_mfa_user(self):
        u = self.phone_user(verified=True)
        self.call("PUT", self.mf(u["id"]), {"RAX-AUTH:multiFactor": {"enabled": True, "factorType": "SMS"}}, u["ua"],
                  expect=204)
        # SMS_MIN_INTERVAL_SECONDS (30 by default) per number and per phone: the login's SMS may go
        # no sooner than that after the verification PIN.
        u["ready_at"] = u["sms_at"] + 31
        return u


# ------------------------------------------------------------------ what each row requests

class Row:
    """One measured request kind: `fixture(stack)` makes what one request needs (called once and
    shared when `shared`), `request(fx)` gives (path, body, headers) at send time, `check`
    looks at a response beyond its status (returns a complaint or None)."""

    def __init__(self, label, op, method, expect, what, fixture, request, shared=False, check=None, early=False):
        self.label, self.op, self.method, self.expect, self.what = label, op, method, expect, what
        self.fixture, self.request, self.shared, self.check, self.early = fixture, request, shared, check, early


def auth(tok, **extra):
    h = {"x-auth-token": tok}
    h.update(extra)
    return h


def has(path_fn):
    """check: the body has a value at this path (a callable over the body)."""
    def check(status, headers, body):
        try:
            ok = path_fn(body)
        except Exception:
            ok = False
        return None if ok else f"unexpected body: {json.dumps(body)[:200]}"
    return check


def challenge(status, headers, body):
    return None if "OS-MF sessionId=" in headers.get("www-authenticate", "") else \
        f"401 without an OS-MF challenge: {json.dumps(body)[:200]}"


def methods(*want):
    return has(lambda b: set(want) <= set(b["access"]["token"]["RAX-AUTH:authenticatedBy"]))


def once(fn):
    """A fixture made on first use and then shared (by several rows)."""
    cache = []

    def get(stack):
        if not cache:
            cache.append(fn(stack))
        return cache[0]
    return get


def rows():
    mf = Stack.mf
    creds = "OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials"
    plain_user = once(lambda s: s.user(login=True))  # read-only rows share this one
    pw_login = lambda u: {"auth": {"passwordCredentials": {"username": u["name"], "password": PW}}}

    def with_key(s):
        u = s.user()
        _, _, b = s.call("GET", f"/v2.0/users/{u['id']}/{creds}", token=u["ua"], expect=200)
        u["key"] = b["RAX-KSKEY:apiKeyCredentials"]["apiKey"]
        return u

    def with_devices(n):
        def make(s):
            u = s.user()
            u["devices"] = [s.add_device(u["id"], u["ua"]) for _ in range(n)]
            u["device"], u["secret"] = u["devices"][0]
            return u
        return make

    def phone_of(s):
        u = s.user()
        u["phone"], u["e164"] = s.add_phone(u["id"], u["ua"])
        return u

    def session(s):
        u = s.otp_mfa_user()
        u["session"] = s.password_step(u["name"])
        return u

    def mfa_full(s):
        u = s.user()
        s.add_device(u["id"], u["ua"])
        s.add_phone(u["id"], u["ua"])
        return u

    def verified_device(s):
        u = with_devices(1)(s)
        s.verify_device(u["id"], u["device"], u["secret"], u["ua"])
        return u

    def new_username(s):
        d = s.reserve()
        return {"ua": d["ua"], "name": s.name("cwnew")}

    def fresh_token(s):
        u = plain_user(s)
        tok, _ = s.login(u["name"], PW)
        return dict(u, token=tok)

    def own_domain(s):
        d = s.new_domain()
        d["n"] = 0
        return d

    def toggle(d):
        d["n"] += 1
        level = "REQUIRED" if d["n"] % 2 else "OPTIONAL"
        return (f"/v2.0/RAX-AUTH/domains/{d['id']}/multi-factor",
                {"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": level}}, auth(d["ra"]))

    return [
        Row("add-otp-device", "add-otp-device", "POST", 201,
            "user-admin adds a device to a fresh sub-user (seals a new seed, QR code)",
            lambda s: s.user(),
            lambda u: (f"{mf(u['id'])}/otp-devices", {"RAX-AUTH:otpDevice": {"name": "phone"}}, auth(u["ua"])),
            check=has(lambda b: b["RAX-AUTH:otpDevice"]["keyUri"].startswith("otpauth://"))),
        Row("add-phone", "add-phone", "POST", 201,
            "user-admin adds a phone to a fresh sub-user (seals the number)",
            lambda s: dict(s.user(), number=s.fresh_number()[0]),
            lambda u: (f"{mf(u['id'])}/mobile-phones", {"RAX-AUTH:mobilePhone": {"number": u["number"]}},
                       auth(u["ua"]))),
        Row("add-role-to-user", "add-role-to-user", "PUT", 200,
            "user-admin grants identity:user-manage to a fresh sub-user",
            lambda s: s.user(),
            lambda u: (f"/v2.0/users/{u['id']}/roles/OS-KSADM/7", None, auth(u["ua"])),
            check=has(lambda b: b["role"]["name"] == "identity:user-manage")),
        Row("authenticate: password", "authenticate", "POST", 200,
            "password login, no MFA (Argon2id verify, token issued)",
            plain_user, lambda u: ("/v2.0/tokens", pw_login(u), {}), shared=True, check=methods("PASSWORD")),
        Row("authenticate: API key", "authenticate", "POST", 200,
            "API-key login (opens the sealed key, token issued)",
            once(with_key),
            lambda u: ("/v2.0/tokens", {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": u["name"],
                                                                                 "apiKey": u["key"]}}}, {}),
            shared=True, check=methods("APIKEY")),
        Row("authenticate: token", "authenticate", "POST", 200,
            "token credentials (the same token's access object)",
            plain_user, lambda u: ("/v2.0/tokens", {"auth": {"token": {"id": u["token"]}}}, {}), shared=True,
            check=has(lambda b: b["access"]["token"]["id"])),
        Row("authenticate: password -> OTP challenge", "authenticate", "POST", 401,
            "password step of an OTP-MFA user: 401 OS-MF, session stored",
            once(lambda s: s.otp_mfa_user()), lambda u: ("/v2.0/tokens", pw_login(u), {}), shared=True,
            check=challenge),
        Row("authenticate: password -> SMS challenge", "authenticate", "POST", 401,
            "password step of a fresh SMS-MFA user: opens the phone, SNS Publish, 401 OS-MF",
            lambda s: s.sms_mfa_user(), lambda u: ("/v2.0/tokens", pw_login(u), {}), check=challenge, early=True),
        Row("authenticate: passcode (TOTP)", "authenticate", "POST", 200,
            "passcode step with the current TOTP code: fresh OTP-MFA user and session (opens the seed)",
            session,
            lambda u: ("/v2.0/tokens", {"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": totp(u["secret"])}}},
                       {"x-sessionid": u["session"]}),
            check=methods("OTPPASSCODE", "PASSWORD")),
        Row("create-user", "create-user", "POST", 201,
            "user-admin creates a sub-user with a password (Argon2id hash, sealed API key)",
            new_username,
            lambda f: ("/v2.0/users", {"user": {"username": f["name"], "email": "cw@example.com",
                                                "OS-KSADM:password": PW}}, auth(f["ua"]))),
        Row("delete-api-key", "delete-api-key", "DELETE", 204,
            "user-admin deletes a fresh sub-user's API key (opens it first)",
            lambda s: s.user(), lambda u: (f"/v2.0/users/{u['id']}/{creds}", None, auth(u["ua"]))),
        Row("delete-mfa", "delete-mfa", "DELETE", 204,
            "user-admin deletes MFA of a fresh sub-user with a phone and an OTP device",
            mfa_full, lambda u: (mf(u["id"]), None, auth(u["ua"]))),
        Row("delete-otp-device", "delete-otp-device", "DELETE", 204,
            "user-admin deletes a fresh sub-user's device",
            with_devices(1), lambda u: (f"{mf(u['id'])}/otp-devices/{u['device']}", None, auth(u["ua"]))),
        Row("delete-phone", "delete-phone", "DELETE", 204,
            "a fresh sub-user deletes its phone (own token)",
            lambda s: s.phone_user(), lambda u: (f"{mf(u['id'])}/mobile-phones/{u['phone']}", None, auth(u["token"]))),
        Row("fallback", "fallback", "GET", 404,
            "unrouted path: the contract's 404 (its real job)",
            lambda s: None, lambda _: ("/v2.0/nowhere", None, {}), shared=True,
            check=has(lambda b: b["itemNotFound"]["code"] == 404)),
        Row("generate-bypass-codes", "generate-bypass-codes", "POST", 200,
            "user-admin generates 1 bypass code for an OTP-MFA sub-user (keyed hash, replaces the set)",
            once(lambda s: s.otp_mfa_user()),
            lambda u: (f"{mf(u['id'])}/bypass-codes",
                       {"RAX-AUTH:bypassCodes": {"validityDuration": "PT30M", "numberOfCodes": 1}}, auth(u["ua"])),
            shared=True, check=has(lambda b: len(b["RAX-AUTH:bypassCodes"]["codes"]) == 1)),
        Row("get-api-key", "get-api-key", "GET", 200,
            "user-admin reads a sub-user's API key (opens it)",
            plain_user, lambda u: (f"/v2.0/users/{u['id']}/{creds}", None, auth(u["ua"])), shared=True,
            check=has(lambda b: len(b["RAX-KSKEY:apiKeyCredentials"]["apiKey"]) == 32)),
        Row("get-domain", "get-domain", "GET", 200,
            "user-admin reads its domain",
            plain_user, lambda u: (f"/v2.0/RAX-AUTH/domains/{u['domain']}", None, auth(u["ua"])), shared=True),
        Row("get-otp-device", "get-otp-device", "GET", 200,
            "user-admin reads a sub-user's device",
            once(with_devices(2)), lambda u: (f"{mf(u['id'])}/otp-devices/{u['device']}", None, auth(u["ua"])),
            shared=True),
        Row("get-phone", "get-phone", "GET", 200,
            "user-admin reads a sub-user's phone (opens the number)",
            once(phone_of), lambda u: (f"{mf(u['id'])}/mobile-phones/{u['phone']}", None, auth(u["ua"])), shared=True,
            check=has(lambda b: b["RAX-AUTH:mobilePhone"]["number"].startswith("+1"))),
        Row("get-user", "get-user", "GET", 200,
            "user-admin reads a sub-user",
            plain_user, lambda u: (f"/v2.0/users/{u['id']}", None, auth(u["ua"])), shared=True),
        Row("list-credentials", "list-credentials", "GET", 200,
            "user-admin lists a sub-user's credentials (opens the API key)",
            plain_user, lambda u: (f"/v2.0/users/{u['id']}/OS-KSADM/credentials", None, auth(u["ua"])), shared=True,
            check=has(lambda b: len(b["credentials"]) == 1)),
        Row("list-otp-devices", "list-otp-devices", "GET", 200,
            "user-admin lists a sub-user's 2 devices",
            once(with_devices(2)), lambda u: (f"{mf(u['id'])}/otp-devices", None, auth(u["ua"])), shared=True,
            check=has(lambda b: len(b["RAX-AUTH:otpDevices"]) == 2)),
        Row("list-phones", "list-phones", "GET", 200,
            "user-admin lists a sub-user's phones (opens the number)",
            once(phone_of), lambda u: (f"{mf(u['id'])}/mobile-phones", None, auth(u["ua"])), shared=True,
            check=has(lambda b: len(b["RAX-AUTH:mobilePhones"]) == 1)),
        Row("reset-api-key", "reset-api-key", "POST", 200,
            "user-admin resets a sub-user's API key (seals a new one; repeatable, same work each time)",
            once(lambda s: s.user()),
            lambda u: (f"/v2.0/users/{u['id']}/{creds}/RAX-AUTH/reset", None, auth(u["ua"])), shared=True),
        Row("revoke-token", "revoke-token", "DELETE", 204,
            "a user revokes its own fresh token (DELETE /v2.0/tokens)",
            fresh_token, lambda u: ("/v2.0/tokens", None, auth(u["token"]))),
        Row("send-phone-code", "send-phone-code", "POST", 202,
            "a fresh sub-user asks for its phone's PIN (opens the number, SMS claims, SNS opt-out + Publish)",
            lambda s: s.phone_user(),
            lambda u: (f"{mf(u['id'])}/mobile-phones/{u['phone']}/verificationcode", None, auth(u["token"]))),
        Row("update-domain-enforcement", "update-domain-enforcement", "PUT", 204,
            "MFA identity:admin sets a domain REQUIRED / OPTIONAL in turn",
            lambda s: dict(own_domain(s), ra=s.ra), toggle, shared=True),
        Row("update-mfa-settings", "update-mfa-settings", "PUT", 204,
            "user-admin enables OTP MFA on a fresh sub-user with a verified device",
            verified_device,
            lambda u: (mf(u["id"]), {"RAX-AUTH:multiFactor": {"enabled": True, "factorType": "OTP"}}, auth(u["ua"]))),
        Row("validate-token", "validate-token", "GET", 200,
            "user-admin validates a sub-user's token",
            plain_user, lambda u: (f"/v2.0/tokens/{u['token']}", None, auth(u["ua"])), shared=True,
            check=has(lambda b: b["access"]["token"]["id"])),
        Row("verify-otp-device", "verify-otp-device", "POST", 204,
            "user-admin verifies a fresh device with its current TOTP code (opens the seed)",
            with_devices(1),
            lambda u: (f"{mf(u['id'])}/otp-devices/{u['device']}/verify",
                       {"RAX-AUTH:verificationCode": {"code": totp(u["secret"])}}, auth(u["ua"]))),
        Row("verify-phone", "verify-phone", "POST", 204,
            "a fresh sub-user verifies its phone with the PIN it was sent (keyed-hash check)",
            lambda s: s.phone_user(pin=True),
            lambda u: (f"{mf(u['id'])}/mobile-phones/{u['phone']}/verify",
                       {"RAX-AUTH:verificationCode": {"code": u["pin"]}}, auth(u["token"]))),
    ]


# ------------------------------------------------------------------ measuring

def lambda_event(method, path, body, headers):
    ev = event(method, path)
    ev["headers"].update({k.lower(): v for k, v in headers.items()})
    ev["body"] = json.dumps(body) if body is not None else None
    return ev


class Measure:
    def __init__(self, args, base_env, stack):
        self.args, self.base_env, self.stack = args, base_env, stack
        self.logdir = tempfile.mkdtemp(prefix="coldwork-")
        self.problems = []

    def env(self, op, rt):
        e = dict(self.base_env)
        e.update(LAMBDA_ENV)
        e.update({"AWS_LAMBDA_FUNCTION_NAME": op, "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{op}",
                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.args.memory),
                  "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": self.args.log_level,
                  "AWS_LAMBDA_RUNTIME_API": rt.addr})
        return e

    def complain(self, row, what):
        msg = f"!! {row.label}: {what}"
        print(msg, file=sys.stderr, flush=True)
        self.problems.append(msg)

    def judge(self, row, r, seen, logpath):
        status, headers, body = parse_response(r)
        seen[str(status)] = seen.get(str(status), 0) + 1
        bad = None
        if status != row.expect:
            bad = f"status {status}, expected {row.expect}: {json.dumps(body)[:300]}"
        elif row.check:
            bad = row.check(status, headers, body)
        if bad:
            tail = ""
            try:
                tail = open(logpath, errors="replace").read()[-1200:]
            except OSError:
                pass
            self.complain(row, bad + (f"\n   process log tail:\n{tail}" if tail else ""))
        return bad is None

    def row(self, row, fixtures):
        a = self.args
        binary = os.path.join(a.bin_dir, row.op)
        out = {"row": row.label, "function": row.op, "method": row.method, "request": row.what, "shared": row.shared,
               "expected": row.expect, "seen": {}, "runs": a.runs, "warm_k": a.warm, "ok": 0, "bad": 0}
        cold, init, first, cold_cpu, cold_cpu_stat, hwm_cold, hwm_max, warm_wall = [], [], [], [], [], [], [], []
        warm_stat_ms = warm_sched_ns = 0.0
        warm_n = 0
        sched_exact = True
        threads = []
        for run in range(a.runs):
            warm_here = a.warm if run < a.warm_runs else 0
            fx = ready(next(fixtures))
            rt = LambdaApi(row.op)
            logpath = os.path.join(self.logdir, re.sub(r"[^\w-]+", "_", row.label) + f".{run}.log")
            log = open(logpath, "wb")
            path, body, headers = row.request(fx)
            ev = lambda_event(row.method, path, body, headers)
            rid = rt.invoke(ev)
            t0 = time.perf_counter()
            proc = subprocess.Popen([binary], env=self.env(row.op, rt), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
            try:
                r = rt.wait(rid, proc)
                c_stat = cpu_stat_ms(proc.pid)
                c_sched = cpu_sched_ns(proc.pid)
                hwm_cold.append(status_kb(proc.pid, "VmHWM"))
                cold.append((r["t_resp"] - t0) * 1000)
                init.append((rt.polls[0] - t0) * 1000)
                first.append((r["t_resp"] - rt.polls[0]) * 1000)
                cold_cpu.append(sum(c_sched.values()) / 1e6)
                cold_cpu_stat.append(c_stat)
                ok = self.judge(row, r, out["seen"], logpath)
                out["ok" if ok else "bad"] += 1
                if warm_here:
                    for _ in range(warm_here):
                        wfx = ready(next(fixtures))
                        path, body, headers = row.request(wfx)
                        wr = rt.wait(rt.invoke(lambda_event(row.method, path, body, headers)), proc)
                        warm_wall.append((wr["t_resp"] - wr["t_put"]) * 1000)
                        ok = self.judge(row, wr, out["seen"], logpath)
                        out["ok" if ok else "bad"] += 1
                    s_after = cpu_sched_ns(proc.pid)
                    warm_stat_ms += cpu_stat_ms(proc.pid) - c_stat
                    if not set(c_sched) <= set(s_after):
                        sched_exact = False  # a thread ended in between: its time is lost here
                    warm_sched_ns += sum(s_after.values()) - sum(c_sched[t] for t in c_sched if t in s_after)
                    warm_n += warm_here
                threads.append(len(os.listdir(f"/proc/{proc.pid}/task")))
                hwm_max.append(status_kb(proc.pid, "VmHWM"))
            except RuntimeError as e:
                out["bad"] += 1
                out["seen"]["no answer"] = out["seen"].get("no answer", 0) + 1
                log.flush()
                self.complain(row, f"{e}\n   process log tail:\n{open(logpath, errors='replace').read()[-1200:]}")
            finally:
                proc.kill()
                proc.wait()
                log.close()
                rt.close()
        if cold:
            out.update({
                "cold_p50_ms": statistics.median(cold), "cold_p95_ms": pct(cold, 95), "cold_max_ms": max(cold),
                "init_p50_ms": statistics.median(init), "first_invoke_p50_ms": statistics.median(first),
                "cold_cpu_p50_ms": statistics.median(cold_cpu), "cold_cpu_stat_p50_ms": statistics.median(cold_cpu_stat),
                "vmhwm_cold_kb": max(hwm_cold),
                "vmhwm_max_kb": max(hwm_max) if hwm_max else None, "threads": max(threads) if threads else None,
                "cold_ms": cold, "init_ms": init, "first_invoke_ms": first, "cold_cpu_ms": cold_cpu,
            })
        if warm_n:
            cpu = warm_sched_ns / 1e6 / warm_n if sched_exact else warm_stat_ms / warm_n
            out.update({
                "warm_n": warm_n, "warm_p50_ms": statistics.median(warm_wall), "warm_p95_ms": pct(warm_wall, 95),
                "warm_cpu_stat_ms_per_req": warm_stat_ms / warm_n,
                "warm_cpu_sched_ms_per_req": warm_sched_ns / 1e6 / warm_n, "warm_cpu_sched_exact": sched_exact,
                "warm_cpu_ms_per_req": cpu,
                # Model only: CPU work c ms at M MB (M/1769 of one vCPU) takes c*1769/M ms.
                "model_warm_cpu_ms": {str(m): cpu * VCPU_MB / min(m, VCPU_MB) for m in SIZES},
            })
        if cold:
            c, w = statistics.median(cold_cpu), statistics.median(cold)
            # Model only: the cold start's non-CPU part as measured, its CPU part scaled.
            out["model_cold_ms"] = {str(m): max(w - c, 0) + c * VCPU_MB / min(m, VCPU_MB) for m in SIZES}
        return out


def ready(fx):
    """Waits until a fixture may be used (an SMS user's send interval)."""
    wait = (fx or {}).get("ready_at", 0) - time.time() if isinstance(fx, dict) else 0
    if wait > 0:
        time.sleep(wait)
    return fx


def fixture_stream(row, stack, n):
    """n fixtures for the row, made now (untimed), handed out in order."""
    if row.shared:
        fx = row.fixture(stack)
        return itertools.repeat(fx, n)
    return iter([row.fixture(stack) for _ in range(n)])


def fmt(v, unit=""):
    return "—" if v is None else f"{v:.1f}{unit}"


def print_tables(results):
    h = (f"{'row':42} {'expect':>6} {'seen':>12} {'cold p50':>9} {'p95':>8} {'init':>6} {'1st inv':>8} "
         f"{'cold CPU':>9} {'warm p50':>9} {'CPU/req':>8} {'stat/req':>8} {'RSS cold':>9} {'RSS max':>8}")
    m = machine()
    print(f"\nCold start with the real work (ms), warm requests in the same process, memory (MiB); "
          f"{m['cpus']} cores, load {' '.join(m['load'])}, {m['date']}")
    print(h)
    print("-" * len(h))
    for r in results:
        seen = ",".join(f"{k}x{v}" for k, v in sorted(r["seen"].items()))
        mib = lambda kb: None if kb is None else kb / 1024
        print(f"{r['row']:42} {r['expected']:>6} {seen:>12} {fmt(r.get('cold_p50_ms')):>9} "
              f"{fmt(r.get('cold_p95_ms')):>8} {fmt(r.get('init_p50_ms')):>6} {fmt(r.get('first_invoke_p50_ms')):>8} "
              f"{fmt(r.get('cold_cpu_p50_ms')):>9} {fmt(r.get('warm_p50_ms')):>9} "
              f"{fmt(r.get('warm_cpu_ms_per_req')):>8} {fmt(r.get('warm_cpu_stat_ms_per_req')):>8} "
              f"{fmt(mib(r.get('vmhwm_cold_kb'))):>9} {fmt(mib(r.get('vmhwm_max_kb'))):>8}")
    print("cold = process start -> first response (p50, p95 over the runs); init = start -> first poll of "
          "/invocation/next; 1st inv = that poll -> response; cold CPU = the process's CPU time at its first response; "
          "CPU/req = warm CPU per request from /proc/<pid>/task/*/schedstat (ns), stat/req = the same from "
          "utime+stime in /proc/<pid>/stat (10 ms ticks, so +-10/K ms); RSS = VmHWM after the first response / "
          "before the kill")
    print("\nModel (not a measurement): CPU ms x 1769 / M at M MB. Warm CPU per request, then the cold "
          "start with its CPU part scaled (non-CPU part as measured here)")
    h2 = f"{'row':42} " + " ".join(f"{'w@' + str(m):>8}" for m in SIZES) + " " + \
        " ".join(f"{'cold@' + str(m):>10}" for m in SIZES)
    print(h2)
    print("-" * len(h2))
    for r in results:
        w = r.get("model_warm_cpu_ms") or {}
        c = r.get("model_cold_ms") or {}
        print(f"{r['row']:42} " + " ".join(f"{fmt(w.get(str(m))):>8}" for m in SIZES) + " " +
              " ".join(f"{fmt(c.get(str(m))):>10}" for m in SIZES))


def print_legend(results):
    print("\nWhat each row's requests do (one fresh fixture per request unless marked shared)")
    for r in results:
        print(f"  {r['row']:42} {r['method']:6} {r['expected']}  {r['request']}{'  [shared]' if r.get('shared') else ''}")


def read_env_file(path):
    env = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
            v = v[1:-1]
        env[k.strip()] = v
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True, help="the stack's API, e.g. http://127.0.0.1:9000")
    ap.add_argument("--user", default="admin", help="service-admin username")
    ap.add_argument("--password", required=True, help="service-admin password")
    ap.add_argument("--env-file", help="the function env file run-local.sh writes (LOCAL_STACK_DIR/functions.env)")
    ap.add_argument("--dynamodb", help="DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB)")
    ap.add_argument("--moto", help="moto endpoint for SNS and KMS (AWS_ENDPOINT_URL_SNS/KMS)")
    ap.add_argument("--table", help="TABLE_NAME")
    ap.add_argument("--kms-key-id", help="KMS_KEY_ID")
    ap.add_argument("--bin-dir", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                      "release"))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("COLD_RUNS", 10)), help="cold starts per row (R)")
    ap.add_argument("--warm", type=int, default=int(os.environ.get("COLD_WARM", 20)),
                    help="warm requests after the cold one (K)")
    ap.add_argument("--warm-runs", type=int, default=1, help="how many of the R processes get the K warm requests")
    ap.add_argument("--memory", type=int, default=256, help="AWS_LAMBDA_FUNCTION_MEMORY_SIZE given to the process")
    ap.add_argument("--log-level", default="INFO", help="AWS_LAMBDA_LOG_LEVEL (template.yaml's default: INFO)")
    ap.add_argument("--only", help="comma-separated functions or row labels to run")
    ap.add_argument("--out", default="coldwork", help="name of the JSON under target/bench/")
    a = ap.parse_args()
    a.warm_runs = min(a.warm_runs, a.runs)

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if a.env_file:
        env.update(read_env_file(a.env_file))
    else:
        env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    for flag, keys in ((a.dynamodb, ["AWS_ENDPOINT_URL_DYNAMODB"]), (a.moto, ["AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_KMS"]),
                       (a.table, ["TABLE_NAME"]), (a.kms_key_id, ["KMS_KEY_ID"])):
        for k in keys:
            if flag:
                env[k] = flag
    missing = [k for k in ("TABLE_NAME", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_KMS")
               if not env.get(k)]
    if missing or not (env.get("KMS_KEY_ID") or env.get("SEED_KEYS")):
        ap.error(f"function environment incomplete ({', '.join(missing) or 'KMS_KEY_ID'}): give --env-file or the flags")

    all_rows = rows()
    if a.only:
        want = {w.strip() for w in a.only.split(",")}
        all_rows = [r for r in all_rows if r.op in want or r.label in want]
    have = set(routes())
    for r in all_rows:
        if not os.path.exists(os.path.join(a.bin_dir, r.op)):
            sys.exit(f"missing binary {os.path.join(a.bin_dir, r.op)} (cargo build --release --bins)")
    uncovered = have - {r.op for r in rows()}
    if uncovered:
        print(f"!! functions of the route table without a row: {sorted(uncovered)}", file=sys.stderr)

    t_start = time.time()
    print(f"fixtures: setting up through {a.api} ...", flush=True)
    stack = Stack(a.api, a.user, a.password, env["AWS_ENDPOINT_URL_SNS"])
    m = Measure(a, env, stack)
    per_row = a.runs + a.warm * a.warm_runs
    streams = {}
    # Rows whose fixtures must age (SMS send interval) get them first.
    for r in all_rows:
        if r.early:
            try:
                streams[r.label] = fixture_stream(r, stack, per_row)
            except FixtureError as e:
                streams[r.label] = e
    results = []
    for r in all_rows:
        try:
            t = time.time()
            fx = streams.pop(r.label, None) or fixture_stream(r, stack, per_row)
            if isinstance(fx, FixtureError):
                raise fx
            t_fx = time.time() - t
            res = m.row(r, fx)
        except FixtureError as e:
            m.complain(r, str(e))
            res = {"row": r.label, "function": r.op, "method": r.method, "request": r.what, "expected": r.expect,
                   "seen": {"fixture failed": 1}, "runs": 0, "ok": 0, "bad": 1, "error": str(e)}
            t_fx = 0
        results.append(res)
        print(f"{r.label:42} expect {r.expect}  seen {res['seen']}  cold p50 {fmt(res.get('cold_p50_ms'), ' ms')}  "
              f"warm CPU {fmt(res.get('warm_cpu_ms_per_req'), ' ms')}/req  (fixtures {t_fx:.1f} s)", flush=True)
    print_tables(results)
    print_legend(results)
    data = {"rows": results, "machine": machine(), "runs": a.runs, "warm": a.warm, "warm_runs": a.warm_runs,
            "memory_env": a.memory, "log_level": a.log_level, "bin_dir": os.path.abspath(a.bin_dir),
            "fixture_api_calls": stack.calls, "seconds": round(time.time() - t_start, 1),
            "model": "compute ms at M MB = CPU ms x 1769 / min(M, 1769); cold = (wall - CPU) + CPU x 1769 / M; "
                     "a CPU-share model only (no bursts, x86 vs Graviton, I/O not scaled)",
            "problems": m.problems}
    save(a.out, data)
    print(f"\nwrote target/bench/{a.out}.json ({stack.calls} fixture API calls, {data['seconds']} s)")
    if m.problems:
        print(f"\n!! {len(m.problems)} PROBLEMS (responses not as expected):", file=sys.stderr)
        for p in m.problems:
            print("   " + p.splitlines()[0], file=sys.stderr)
        print(f"   the functions' logs are in {m.logdir}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(m.logdir, ignore_errors=True)
    print("every response had its expected status")


if __name__ == "__main__":
    main()
