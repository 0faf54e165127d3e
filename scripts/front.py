#!/usr/bin/env python3
"""The local stack's front door (stdlib only): what API Gateway does before `cargo lambda watch`.

Every request is passed to the `cargo lambda watch` router unchanged, except one with a method
the router has no routes for (TRACE, ...), which goes to the fallback function as API Gateway's
`$default` route sends it, and one whose body is not valid UTF-8: the router cannot put such a body in a text event and answers its own `500`
before any function runs, while API Gateway (HTTP API, payload 2.0) hands the function the body
base64-encoded with `isBase64Encoded: true`. For those, this front builds that very event and
invokes the operation's function through the router's Lambda invoke API, so a user of the run
command sees what production answers (`400 badRequest`).

  front.py --listen PORT --upstream PORT   (routes from shared/src/routes.rs)
"""
import argparse, base64, http.client, json, os, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The methods the router has routes for (Cargo.toml); any other (TRACE, say) goes to the
# function directly, as API Gateway's $default route sends it to the fallback (405/404).
ROUTED_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


def load_routes():
    src = open(os.path.join(ROOT, "shared", "src", "routes.rs")).read()
    routes = []
    for m, p, op in re.findall(r'route!\(\s*"(\w+)",\s*"([^"]+)",\s*"([\w-]+)",?\s*\)', src):
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) + "/?$"
        routes.append((m, re.compile(pattern), op))
    return routes


def operation(routes, method, path):
    for m, rx, op in routes:
        if m == method and rx.match(path):
            return op
    return "fallback"  # 404 itemNotFound / 405 badMethod, as the router would


class Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write and the body in another: without
    # TCP_NODELAY, Nagle holds the body until the client's delayed ACK (40 ms on every
    # kept-alive request).
    disable_nagle_algorithm = True
    upstream = 0
    routes = []
    local = threading.local()

    def log_message(self, *args):
        pass

    def conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
            self.local.conn = c
        return c

    def send(self, method, path, body, headers):
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            try:
                c = self.conn()
                c.request(method, path, body, headers)
                r = c.getresponse()
                return r.status, r.getheaders(), r.read()
            except (http.client.HTTPException, OSError):
                self.local.conn = None
                if attempt == 2:
                    raise

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        try:
            body.decode("utf-8")
            text = True
        except UnicodeDecodeError:
            text = False
        try:
            if text and self.command in ROUTED_METHODS:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                status, rheaders, rbody = self.send(self.command, self.path, body or None, headers)
            else:
                status, rheaders, rbody = self.invoke(body)
        except Exception as e:  # the router is gone (stopping): say so in the contract's shape
            status, rheaders = 503, [("content-type", "application/json")]
            rbody = json.dumps({"serviceUnavailable": {"code": 503, "message": f"local router: {type(e).__name__}"}}).encode()
        self.send_response_only(status)
        for k, v in rheaders:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(rbody)

    def invoke(self, body):
        url = urlsplit(self.path)
        op = operation(self.routes, self.command, url.path)
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in HOP}
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": url.path, "rawQueryString": url.query,
            "headers": headers,
            "requestContext": {
                "accountId": "local", "apiId": "local", "domainName": headers.get("host", "127.0.0.1"),
                "domainPrefix": "local", "requestId": f"front-{time.time_ns()}", "routeKey": "$default",
                "stage": "$default", "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                "timeEpoch": int(time.time() * 1000),
                "http": {"method": self.command, "path": url.path, "protocol": "HTTP/1.1",
                         "sourceIp": self.client_address[0], "userAgent": headers.get("user-agent", "")},
            },
            "body": base64.b64encode(body).decode(), "isBase64Encoded": True,
        }
        status, _, raw = self.send("POST", f"/2015-03-31/functions/{op}/invocations",
                                   json.dumps(event).encode(), {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"invoke {op}: {status}")
        out = json.loads(raw)
        rbody = out.get("body") or ""
        rbody = base64.b64decode(rbody) if out.get("isBase64Encoded") else rbody.encode()
        return out.get("statusCode", 500), list((out.get("headers") or {}).items()), rbody

    def __getattr__(self, name):
        # `do_<METHOD>` for every method, known or not.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    a = ap.parse_args()
    Front.upstream, Front.routes = a.upstream, load_routes()
    # A burst of connections must queue, not be reset: the default backlog is 5 (§9.3).
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", a.listen), Front)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
