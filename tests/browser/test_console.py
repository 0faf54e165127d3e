"""The control panel (contract §9.1) in headless Chromium, element by role and accessible name.

(a) first sign-in of a user who must use MFA: SETUP-MFA scope, authenticator app from the QR
    code on screen, MFA on (tokens revoked, back to sign-in), password + TOTP;
(b) the same with a phone: SMS PIN and SMS login passcode read back from moto;
(c) bypass codes generated on the security page, one used at the Passcode step;
(d) a locked sub-user shown as locked on its user-admin's Users page, unlocked there, signs in;
(e) API errors in role `alert`; plus keyboard-only sign-in, the page's headers, storage,
    sign-out revocation, and the return to sign-in on a 401.
Every screen is checked with axe-core and screenshotted at 1280 and 360 px (conftest.Panel.capture).
"""
from __future__ import annotations

import io
import re
import time

import requests
import zxingcpp
from PIL import Image, ImageOps
from playwright.sync_api import expect

import identity
from conftest import CONSOLE_URL, Panel
from identity import INVALID_PASSCODE_MESSAGE, WRONG_PASSWORD_MESSAGE, Totp, validate

# What the panel says when turning MFA on revoked every token (§9.1: "the panel says so").
REVOKED_NOTICE = re.compile(r"revoked|signed out|sign in again", re.I)


# ------------------------------------------------------------------------------ helpers


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot (a white margin added as a quiet zone)."""
    img = ImageOps.expand(Image.open(io.BytesIO(png)).convert("RGB"), border=24, fill="white")
    found = zxingcpp.read_barcodes(img)
    qrs = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(qrs) == 1, f"expected one QR code in the screenshot, found {[(b.format, b.text) for b in found]}"
    return qrs[0]


def api_error_shown(p: Panel, action) -> str:
    """Runs `action`, which must make the page get an API error; that error's message must
    then be shown in an element with role `alert`. Returns the message."""
    with p.page.expect_response(lambda r: "/v2.0/" in r.url and r.status >= 400) as info:
        action()
    resp = info.value
    body = resp.json()
    message = next(iter(body.values()))["message"]
    expect(p.alert(message).first).to_be_visible()
    return message


def token_response(p: Panel, action):
    """Runs `action` (a click that posts to /v2.0/tokens); returns that response."""
    with p.page.expect_response(
            lambda r: r.url.endswith("/v2.0/tokens") and r.request.method == "POST") as info:
        action()
    return info.value


def authenticated_by(token: str) -> list[str]:
    r = validate(token)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()["access"]["token"]["RAX-AUTH:authenticatedBy"]


def newest_token(p: Panel) -> str:
    assert p.tokens, "the page sent no X-Auth-Token"
    return p.tokens[-1]


def focus_by_tab(p: Panel, target, max_tabs: int, key: str = "Tab") -> int:
    """Presses Tab (or `key`, e.g. Shift+Tab) until `target` has the focus (0 presses if it
    has it already); returns the number of presses."""
    for n in range(max_tabs + 1):
        if target.evaluate("el => el === document.activeElement"):
            return n
        if n < max_tabs:
            p.page.keyboard.press(key)
    raise AssertionError(f"{target} not reached with {max_tabs} {key} presses; focus is on "
                         + p.page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 200)"))


def sign_out_and_check_revoked(p: Panel) -> None:
    tokens = list(p.tokens)
    p.button("Sign out").click()
    p.expect_signed_out()
    for t in tokens:
        r = validate(t)
        assert r.status_code == 401, f"token still valid after Sign out: {r.status_code} {r.text}"


def expect_factor_radios(p: Panel, checked: str, enabled: set[str]) -> None:
    group = p.role("radiogroup", "Second factor")
    expect(group).to_be_visible()
    for name in ("Authenticator app", "Text message", "Passkey"):
        radio = group.get_by_role("radio", name=name, exact=True)
        if name in enabled:
            expect(radio).to_be_enabled()
        else:
            expect(radio).to_be_disabled()
    expect(group.get_by_role("radio", name=checked, exact=True)).to_be_checked()


# ------------------------------------------------------------------------------ the page itself


def test_console_headers():
    r = requests.get(CONSOLE_URL, timeout=30)
    assert r.status_code == 200, r.status_code
    assert r.headers.get("Content-Type", "").startswith("text/html"), r.headers.get("Content-Type")
    csp = r.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    assert "default-src 'self'" in csp and directives.get("default-src") == ["'self'"], csp
    assert directives.get("frame-ancestors") == ["'none'"], csp
    assert "'unsafe-inline'" not in csp, csp
    assert r.headers.get("X-Content-Type-Options", "").lower() == "nosniff", r.headers
    assert r.headers.get("Referrer-Policy", "").lower() == "no-referrer", r.headers


def test_console_assets_and_markup():
    """The page's own files: content-hashed, long-cached, nosniff, right types; and no inline
    script or style in the page (the CSP forbids them, so they could only be broken)."""
    html = requests.get(CONSOLE_URL, timeout=30).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), "inline <script> in /console"
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.I), "inline style or event handler in /console"
    assets = re.findall(r'(?:src|href)="(console/[^"]+)"', html)
    assert assets, "no console/ assets referenced"
    types = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
    for a in sorted(set(assets)):
        r = requests.get(f"{CONSOLE_URL}/{a.split('/', 1)[1]}", timeout=30)
        assert r.status_code == 200, (a, r.status_code)
        assert r.headers.get("X-Content-Type-Options", "").lower() == "nosniff", (a, r.headers)
        ext = a.rsplit(".", 1)[1]
        assert r.headers.get("Content-Type", "").startswith(types.get(ext, "?")), (a, r.headers.get("Content-Type"))
        assert re.search(r"\.[0-9a-f]{8,}\.", a), f"{a}: no content hash in the name"
        m = re.search(r"max-age=(\d+)", r.headers.get("Cache-Control", ""))
        assert m and int(m.group(1)) >= 86400 * 30, (a, r.headers.get("Cache-Control"))


# ------------------------------------------------------------------------------ (a)


def test_a_required_user_sets_up_authenticator_app_from_the_qr_code(panels):
    u = identity.new_user_admin("bqr", required=True)
    r = identity.password_login(u.username, u.password)
    assert r.status_code == 403 and identity.MUST_SETUP_MESSAGE in r.text, (r.status_code, r.text)

    p = panels("required-user")
    p.capture("sign-in")
    p.sign_in(u.username, u.password)

    # Signed in with the SETUP-MFA scope and taken straight to set-up.
    p.expect_mfa(enabled=False)
    assert any(b.get("auth", {}).get("RAX-AUTH:scope") == "SETUP-MFA" for b in p.token_logins), p.token_logins
    expect(p.page.get_by_text(re.compile(r"must set ?up|set up multi-factor|required", re.I)).first).to_be_visible()
    setup_token = newest_token(p)
    v = validate(setup_token)
    assert v.status_code == 200 and v.json()["access"]["token"].get("RAX-AUTH:scope") == "SETUP-MFA", v.text
    p.storage_is_clean()
    p.capture("security-setup")

    p.button("Add authenticator app").click()
    p.textbox("Device name").fill("Phone app")
    p.button("Continue").click()
    qr = p.role("img", "QR code")
    expect(qr).to_be_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/"), qr.get_attribute("src")[:80]
    uri = decode_qr(qr.screenshot())
    assert uri.startswith("otpauth://totp/"), uri
    totp = Totp(uri)
    # The secret is also shown as text (for apps without a camera).
    shown = re.sub(r"\s", "", p.page.inner_text("body"))
    assert totp.otp.secret in shown, "the secret of the QR code is not shown as text"
    p.capture("authenticator-qr")

    p.textbox("Verification code").fill(totp.code())
    p.button("Verify device").click()
    # Verified: its kind can now be chosen as the second factor (only verified kinds can).
    expect(p.role("radio", "Authenticator app")).to_be_enabled()
    turn_on = p.button("Turn on multi-factor authentication")
    expect(turn_on).to_be_enabled()
    turn_on.click()

    # Every token revoked: the panel says so and returns to sign-in.
    p.expect_signed_out()
    expect(p.page.get_by_text(REVOKED_NOTICE).first).to_be_visible()
    assert validate(setup_token).status_code == 401

    p.sign_in(u.username, u.password)
    expect(p.textbox("Passcode")).to_be_visible()
    assert re.search(r"authenticator", p.page.inner_text("body"), re.I), "the Passcode step does not say an authenticator code is wanted"
    p.capture("passcode")
    p.enter_passcode(totp.code())
    p.expect_mfa(enabled=True)
    expect_factor_radios(p, checked="Authenticator app", enabled={"Authenticator app"})
    p.storage_is_clean()
    assert authenticated_by(newest_token(p)) == ["OTPPASSCODE", "PASSWORD"]
    p.capture("security-enabled")
    sign_out_and_check_revoked(p)


# ------------------------------------------------------------------------------ (b)


def test_b_required_user_sets_up_a_phone(panels):
    u = identity.new_user_admin("bsms", required=True)
    display, e164 = identity.fresh_phone()

    p = panels("phone-user")
    p.sign_in(u.username, u.password)
    p.expect_mfa(enabled=False)

    p.button("Add phone").click()
    p.textbox("Phone number").fill(display)
    p.button("Send code").click()
    pin = identity.code_in(identity.wait_sms(e164, 1)[-1], 6)
    expect(p.textbox("Verification code")).to_be_visible()
    p.capture("phone-verify")
    p.textbox("Verification code").fill(pin)
    p.button("Verify phone").click()
    expect(p.role("radio", "Text message")).to_be_enabled()
    turn_on = p.button("Turn on multi-factor authentication")
    expect(turn_on).to_be_enabled()
    turn_on.click()
    p.expect_signed_out()
    expect(p.page.get_by_text(REVOKED_NOTICE).first).to_be_visible()

    # The test stack spaces two SMS to one number by SMS_MIN_INTERVAL_SECONDS.
    time.sleep(identity.SMS_MIN_INTERVAL_SECONDS + 0.5)
    p.sign_in(u.username, u.password)
    expect(p.textbox("Passcode")).to_be_visible()
    passcode = identity.code_in(identity.wait_sms(e164, 2)[-1], 7)
    assert re.search(r"text message|SMS", p.page.inner_text("body"), re.I), "the Passcode step does not say an SMS was sent"
    p.enter_passcode(passcode)
    p.expect_mfa(enabled=True)
    expect_factor_radios(p, checked="Text message", enabled={"Text message"})
    assert authenticated_by(newest_token(p)) == ["PASSCODE", "PASSWORD"]
    sign_out_and_check_revoked(p)


# ------------------------------------------------------------------------------ (c)


def test_c_bypass_code_signs_in_once(panels):
    u = identity.new_user_admin("bbyp")
    totp = identity.enable_otp(u)

    p = panels("bypass-user")
    p.sign_in(u.username, u.password)
    p.enter_passcode(totp.code())
    p.expect_mfa(enabled=True)

    p.button("Generate bypass codes").click()
    codes_list = p.role("list", "Bypass codes")
    expect(codes_list).to_be_visible()
    items = codes_list.get_by_role("listitem")
    expect(items.first).to_be_visible()
    codes = [re.sub(r"\D", "", t) for t in items.all_inner_texts()]
    assert codes and all(len(c) == 9 for c in codes), codes
    p.capture("bypass-codes")

    p.button("Sign out").click()
    p.expect_signed_out()
    p.sign_in(u.username, u.password)
    p.enter_passcode(codes[0])
    p.expect_mfa(enabled=True)
    assert authenticated_by(newest_token(p)) == ["BYPASS", "PASSWORD"]

    # Single use: the same code again is an API error, shown in an alert.
    p.button("Sign out").click()
    p.expect_signed_out()
    p.sign_in(u.username, u.password)
    expect(p.textbox("Passcode")).to_be_visible()
    p.textbox("Passcode").fill(codes[0])
    msg = api_error_shown(p, lambda: p.button("Verify").click())
    assert msg == INVALID_PASSCODE_MESSAGE


# ------------------------------------------------------------------------------ (d)


def test_d_locked_user_is_unlocked_on_the_users_page(panels):
    ua = identity.new_user_admin("bowner")
    ua.token = identity.login(ua.username, ua.password)
    sub = identity.new_sub_user(ua, "bsubuser")
    totp = identity.enable_otp(sub)

    # Three wrong passcodes through the page, each an alert with the API's message.
    ps = panels("locked-user")
    ps.sign_in(sub.username, sub.password)
    expect(ps.textbox("Passcode")).to_be_visible()
    for _ in range(3):
        ps.textbox("Passcode").fill(totp.wrong())
        msg = api_error_shown(ps, lambda: ps.button("Verify").click())
        assert msg == INVALID_PASSCODE_MESSAGE
    # On to the lockout cap through the API, so the lock outlasts the test stack's short
    # LOCKOUT_SECONDS while the administrator looks at it.
    identity.lock_for_good(sub, failures_so_far=3)

    # Locked at the password step: a message in an alert.
    ps.open()
    resp = token_response(ps, lambda: ps.sign_in(sub.username, sub.password))
    assert resp.status == 403, resp.status
    expect(ps.alert(re.compile(r"locked", re.I)).first).to_be_visible()
    ps.capture("sign-in-locked")

    pa = panels("user-admin")
    pa.sign_in(ua.username, ua.password)
    pa.expect_signed_in()
    pa.nav("Users").click()
    expect(pa.role("heading", "Users")).to_be_visible()
    # The list loads: a table, or an error (which must not happen here).
    expect(pa.page.get_by_role("table").or_(pa.alert()).first).to_be_visible()
    assert pa.alert().count() == 0, "the Users page shows an error: " + " / ".join(pa.alert().all_inner_texts())
    for name in (ua.username, sub.username):
        expect(pa.page.get_by_role("row").filter(has_text=name), f"one table row for {name}").to_have_count(1)
    row = pa.page.get_by_role("row").filter(has_text=sub.username)
    locked_cell = row.get_by_role("cell", name=re.compile(r"\blocked\b", re.I))
    expect(locked_cell, "the locked user's row says Locked").to_have_count(1)
    pa.capture("users")

    row.get_by_role("button", name="Unlock", exact=True).click()
    expect(locked_cell).to_have_count(0)
    state = identity.get_user(sub, ua.token)
    assert state.get("RAX-AUTH:multiFactorState") == "ACTIVE", state

    pa.nav("My security").click()
    pa.expect_security_page()

    ps.open()
    ps.sign_in(sub.username, sub.password)
    ps.enter_passcode(totp.code())
    ps.expect_mfa(enabled=True)
    assert authenticated_by(newest_token(ps)) == ["OTPPASSCODE", "PASSWORD"]


# ------------------------------------------------------------------------------ (e)


def test_e_api_errors_are_alerts(panels):
    u = identity.new_user_admin("berr")
    p = panels("errors")

    # Wrong password, unknown user: the contract's message.
    assert api_error_shown(p, lambda: p.sign_in(u.username, u.password + "x")) == WRONG_PASSWORD_MESSAGE
    p.capture("sign-in-error")
    assert api_error_shown(p, lambda: p.sign_in("nobody" + u.username, u.password)) == WRONG_PASSWORD_MESSAGE

    p.sign_in(u.username, u.password)
    p.expect_mfa(enabled=False)

    # A phone number libphonenumber rejects (the docs' own example, one digit short).
    p.button("Add phone").click()
    p.textbox("Phone number").fill("+1 235-435-623")
    api_error_shown(p, lambda: p.button("Send code").click())

    # A wrong code for a new authenticator app.
    p.button("Add authenticator app").click()
    p.textbox("Device name").fill("Wrong code")
    p.button("Continue").click()
    qr = p.role("img", "QR code")
    expect(qr).to_be_visible()
    p.textbox("Verification code").fill(Totp(decode_qr(qr.screenshot())).wrong())
    api_error_shown(p, lambda: p.button("Verify device").click())
    p.capture("authenticator-error")


def test_factor_choice_and_turn_off(panels):
    """A user with a verified phone and an authenticator app switches the second factor to
    Text message with the radio group, then turns MFA off."""
    u = identity.new_user_admin("bfac")
    identity.add_verified_phone(u)
    totp = identity.enable_otp(u)
    p = panels("factor-user")
    p.sign_in(u.username, u.password)
    p.enter_passcode(totp.code())
    p.expect_mfa(enabled=True)
    expect_factor_radios(p, checked="Authenticator app", enabled={"Authenticator app", "Text message"})
    token = newest_token(p)

    with p.page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/RAX-AUTH/multi-factor")) as info:
        p.role("radio", "Text message").check()
    assert info.value.status == 204, info.value.status
    expect(p.role("radio", "Text message")).to_be_checked()
    assert identity.get_user(u, token).get("RAX-AUTH:factorType") == "SMS"

    p.button("Turn off multi-factor authentication").click()
    p.expect_mfa(enabled=False)
    expect(p.button("Turn on multi-factor authentication")).to_be_visible()
    assert identity.get_user(u, token)["RAX-AUTH:multiFactorEnabled"] is False
    sign_out_and_check_revoked(p)


# ------------------------------------------------------------------------------ keyboard, session


def test_keyboard_only_sign_in_with_passcode_and_sign_out(panels):
    u = identity.new_user_admin("bkey")
    totp = identity.enable_otp(u)
    p = panels("keyboard")
    kb = p.page.keyboard

    tabs = {"Username": focus_by_tab(p, p.textbox("Username"), 8)}
    kb.type(u.username)
    kb.press("Tab")
    assert p.textbox("Password").evaluate("el => el === document.activeElement"), "Tab from Username does not reach Password"
    kb.type(u.password)
    kb.press("Enter")

    expect(p.textbox("Passcode")).to_be_visible()
    tabs["Passcode"] = focus_by_tab(p, p.textbox("Passcode"), 12)
    kb.type(totp.code())
    kb.press("Enter")
    p.expect_mfa(enabled=True)
    p.storage_is_clean()
    token = newest_token(p)
    assert authenticated_by(token) == ["OTPPASSCODE", "PASSWORD"]

    # Sign out sits in the header, before the page's content: backwards from where focus is.
    tabs["Sign out"] = focus_by_tab(p, p.button("Sign out"), 40, key="Shift+Tab")
    kb.press("Enter")
    p.expect_signed_out()
    assert validate(token).status_code == 401
    print(f"Tab presses needed: {tabs}")


def test_a_401_returns_to_sign_in(panels):
    u = identity.new_user_admin("brev")
    p = panels("revoked-elsewhere")
    p.sign_in(u.username, u.password)
    p.expect_mfa(enabled=False)
    token = newest_token(p)
    assert identity.call("DELETE", "/v2.0/tokens", token=token).status_code == 204

    # The next call the page makes gets 401: back to sign-in.
    p.button("Add authenticator app").click()
    p.textbox("Device name").fill("After revoke")
    p.button("Continue").click()
    p.expect_signed_out()
