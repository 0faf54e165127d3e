"""Browser harness for the control panel (contract §9.1).

Headless Debian chromium driven by Playwright (never Playwright's own browser download). Every
element is found by ARIA role and accessible name only, with the names §9.1 fixes.

Each page a test opens is watched for the whole test: uncaught script errors, Content Security
Policy violations and requests to any origin other than the API's fail the test at teardown;
every `X-Auth-Token` the page sends is recorded (`Panel.tokens`).

`Panel.capture(name)` runs axe-core on the current screen (no `serious`/`critical` violation
allowed), checks that nothing scrolls sideways at 360 px, and screenshots the page at 1280 and
360 px wide: into docs/console/ with SCREENSHOTS=1, else into $BROWSER_ARTIFACTS (test.sh points
it at the stack's temp dir) or a temp dir.

Environment: API_URL (use http://localhost:PORT), MOTO_URL, ADMIN_USERNAME, ADMIN_PASSWORD,
LOCKOUT_SECONDS, LOCKOUT_CAP, SMS_MIN_INTERVAL_SECONDS (as scripts/test.sh exports them);
optional CHROMIUM (path), AXE_JS (path of axe.min.js), SCREENSHOTS=1, BROWSER_ARTIFACTS.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

import identity

ROOT = Path(__file__).resolve().parents[2]
API = identity.API
CONSOLE_URL = API + "/console"
ORIGIN = "{0.scheme}://{0.netloc}".format(urlparse(API))
WIDE, NARROW = 1280, 360
TIMEOUT_MS = 15_000

expect.set_options(timeout=TIMEOUT_MS)

ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or tempfile.mkdtemp(prefix="browser-tests."))
SHOTS = ROOT / "docs" / "console" if os.environ.get("SCREENSHOTS") == "1" else ARTIFACTS / "screenshots"
ARTIFACTS.mkdir(parents=True, exist_ok=True)
SHOTS.mkdir(parents=True, exist_ok=True)

AXE_RESULTS: dict[str, list[dict]] = {}  # screen name -> violations (every impact)
SEVERE = ("serious", "critical")


def _axe_source() -> str:
    path = Path(os.environ.get("AXE_JS") or ROOT / ".local/node/node_modules/axe-core/axe.min.js")
    assert path.is_file(), f"{path} missing: run scripts/setup.sh (installs axe-core)"
    return path.read_text()


AXE_JS = _axe_source()


# ------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser():
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is not installed (scripts/setup.sh installs it)"
    args = ["--disable-gpu", "--disable-dev-shm-usage"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=args)
        yield b
        b.close()


class Panel:
    """One browser context (its own memory, storage and cookies) on the control panel."""

    def __init__(self, browser, label: str):
        self.label = label
        self.context = browser.new_context(viewport={"width": WIDE, "height": 900}, locale="en-US")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.tokens: list[str] = []  # every X-Auth-Token the page sent, first use order
        self.token_logins: list[dict] = []  # bodies of the page's POST /v2.0/tokens
        self.problems: list[str] = []
        self.page.on("request", self._on_request)
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught error: {e}"))
        self.page.on("console", self._on_console)

    # -- watchers
    def _on_request(self, req):
        url = req.url
        if not url.startswith(("data:", "blob:")):
            u = urlparse(url)
            if f"{u.scheme}://{u.netloc}" != ORIGIN:
                self.problems.append(f"request to another origin: {req.method} {url}")
        tok = req.headers.get("x-auth-token")
        if tok and tok not in self.tokens:
            self.tokens.append(tok)
        if req.method == "POST" and urlparse(url).path == "/v2.0/tokens":
            try:
                self.token_logins.append(json.loads(req.post_data or "{}"))
            except ValueError:
                self.token_logins.append({"unparsed": req.post_data})

    def _on_console(self, msg):
        text = msg.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP violation: {text}")

    # -- finding things (role + accessible name only)
    def role(self, role: str, name: str | re.Pattern, **kw) -> Locator:
        if isinstance(name, str):
            return self.page.get_by_role(role, name=name, exact=True, **kw)
        return self.page.get_by_role(role, name=name, **kw)

    def button(self, name) -> Locator:
        return self.role("button", name)

    def textbox(self, name) -> Locator:
        return self.role("textbox", name)

    def nav(self, name: str) -> Locator:
        """Navigation to `My security` / `Users`: a link or a button (§9.1 leaves it open)."""
        return self.role("link", name).or_(self.role("button", name))

    def alert(self, text: str | re.Pattern | None = None) -> Locator:
        a = self.page.get_by_role("alert")
        return a.filter(has_text=text) if text is not None else a

    # -- steps
    def open(self) -> "Panel":
        r = self.page.goto(CONSOLE_URL)
        assert r is not None and r.status == 200, f"GET /console: {r and r.status}"
        expect(self.textbox("Username")).to_be_visible()
        return self

    def sign_in(self, username: str, password: str) -> None:
        self.textbox("Username").fill(username)
        self.textbox("Password").fill(password)
        self.button("Sign in").click()

    def enter_passcode(self, code: str) -> None:
        box = self.textbox("Passcode")
        expect(box).to_be_visible()
        box.fill(code)
        self.button("Verify").click()

    def expect_security_page(self) -> None:
        expect(self.role("heading", "Multi-factor authentication")).to_be_visible()

    def mfa_line(self, word: str) -> Locator:
        """The status line saying MFA is `word` (enabled/disabled): an element with role
        `status`, or the smallest element whose text has the word and `multi-factor`."""
        w = re.compile(rf"\b{word}\b", re.I)
        return self.page.get_by_role("status").filter(has_text=w).or_(
            self.page.get_by_text(w).filter(has_text=re.compile(r"multi-factor", re.I)))

    def expect_mfa(self, enabled: bool) -> None:
        self.expect_security_page()
        word, other = ("enabled", "disabled") if enabled else ("disabled", "enabled")
        expect(self.mfa_line(word).first).to_be_visible()
        expect(self.mfa_line(other)).to_have_count(0)

    def expect_signed_out(self) -> None:
        expect(self.textbox("Username")).to_be_visible()
        expect(self.textbox("Password")).to_be_visible()
        expect(self.button("Sign out")).to_have_count(0)

    def expect_signed_in(self) -> None:
        expect(self.button("Sign out")).to_be_visible()

    def storage_is_clean(self) -> None:
        """§9.1: the token lives in memory (or sessionStorage): no localStorage, no cookie."""
        n = self.page.evaluate("() => window.localStorage.length")
        assert n == 0, f"localStorage has {n} items: " + self.page.evaluate(
            "() => JSON.stringify(Object.keys(window.localStorage))")
        assert self.context.cookies() == [], self.context.cookies()
        assert self.page.evaluate("() => document.cookie") == ""

    # -- axe + screenshots
    def axe(self, screen: str) -> list[dict]:
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(AXE_JS)  # through the DevTools protocol: the page's CSP does not apply
        res = self.page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 8)})); }")
        AXE_RESULTS.setdefault(screen, [])
        for v in res:
            if v not in AXE_RESULTS[screen]:
                AXE_RESULTS[screen].append(v)
        return res

    def capture(self, screen: str) -> None:
        """axe-core at both widths (no serious/critical violation), no sideways scrolling at
        360 px, and a full-page screenshot at each width."""
        self.page.wait_for_load_state("networkidle")
        severe = []
        for width in (WIDE, NARROW):
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.wait_for_timeout(150)  # layout settles
            severe += [f"{screen}@{width}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                       for v in self.axe(f"{screen}@{width}") if v["impact"] in SEVERE]
            self.page.screenshot(path=str(SHOTS / f"{screen}-{width}.png"), full_page=True)
            if width == NARROW:
                sw = self.page.evaluate("() => document.documentElement.scrollWidth")
                if sw > NARROW:
                    severe.append(f"{screen}@360: the page is {sw} px wide (scrolls sideways)")
        self.page.set_viewport_size({"width": WIDE, "height": 900})
        assert not severe, "\n".join(severe)

    def close(self) -> list[str]:
        problems = list(self.problems)
        self.context.close()
        return problems


@pytest.fixture
def panels(browser):
    """open_panel(label) -> a new Panel on /console; all closed (and checked) at teardown."""
    opened: list[Panel] = []

    def open_panel(label: str = "user") -> Panel:
        p = Panel(browser, label)
        opened.append(p)
        return p.open()

    yield open_panel
    problems = []
    for p in opened:
        problems += [f"[{p.label}] {x}" for x in p.close()]
    assert not problems, "\n".join(problems)


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    if not AXE_RESULTS:
        return
    report = ARTIFACTS / "axe-report.json"
    report.write_text(json.dumps(AXE_RESULTS, indent=2))
    tr.section("axe-core (every screen, 1280 and 360 px)")
    for screen, vs in AXE_RESULTS.items():
        if not vs:
            tr.write_line(f"{screen}: no violations")
        for v in vs:
            tr.write_line(f"{screen}: {v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
    tr.write_line(f"screenshots in {SHOTS}; axe report {report}")
