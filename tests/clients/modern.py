#!/usr/bin/env python3
"""Real client libraries against the local stack: keystoneauth1 (v2.Password and a plugin that
answers the OS-MF challenge with a TOTP code), rackspaceauth (v2.APIKey in a keystoneauth1
Session), apache-libcloud (OpenStackIdentity_2_0_Connection, authenticate(auth_type="api_key"))
and python-keystoneclient's v2.0 users manager (list, get, update, delete) on a keystoneauth1
Session.
Run by scripts/test.sh with the pinned environment of tests/clients/requirements-modern.txt."""
import sys, time

from common import (API, Results, call, enable_otp_mfa, login, new_user_admin, totp,
                    validates_for)
from keystoneauth1 import access, session
from keystoneauth1.identity import v2

AUTH_URL = API + "/v2.0"


def keystoneauth_password():
    uid, user, pw, _, _ = new_user_admin()
    sess = session.Session(auth=v2.Password(auth_url=AUTH_URL, username=user, password=pw))
    token = sess.get_token()
    access_ = validates_for(token, uid, ["PASSWORD"])
    assert access_["token"]["tenant"]["id"], access_["token"]


def rackspaceauth_api_key():
    from rackspaceauth import v2 as rax
    uid, user, _, key, _ = new_user_admin()
    sess = session.Session(auth=rax.APIKey(username=user, api_key=key, auth_url=AUTH_URL))
    token = sess.get_token()
    validates_for(token, uid, ["APIKEY"])


def libcloud_api_key():
    from libcloud.common.openstack_identity import OpenStackIdentity_2_0_Connection
    uid, user, _, key, _ = new_user_admin()
    conn = OpenStackIdentity_2_0_Connection(auth_url=API, user_id=user, key=key)
    conn.authenticate(auth_type="api_key")
    validates_for(conn.auth_token, uid, ["APIKEY"])
    assert conn.auth_user_info["id"] == uid, conn.auth_user_info


class MfaPassword(v2.Password):
    """keystoneauth1's v2 password plugin, taught the OS-MF second step: on the 401 challenge
    it sends a TOTP code with the session id, as a Rackspace MFA user's tooling would."""

    def __init__(self, totp_secret, **kwargs):
        super().__init__(**kwargs)
        self.totp_secret = totp_secret

    def get_auth_ref(self, session, **kwargs):
        url = self.auth_url.rstrip("/") + "/tokens"
        body = {"auth": self.get_auth_data()}
        resp = session.post(url, json=body, authenticated=False, raise_exc=False, log=False)
        if resp.status_code == 401 and "OS-MF" in resp.headers.get("WWW-Authenticate", ""):
            challenge = resp.headers["WWW-Authenticate"]
            session_id = challenge.split("sessionId='")[1].split("'")[0]
            second = {"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": totp(self.totp_secret)}}}
            resp = session.post(url, json=second, headers={"X-SessionId": session_id},
                                authenticated=False, raise_exc=False, log=False)
        if resp.status_code != 200:
            raise RuntimeError(f"login failed: {resp.status_code} {resp.text}")
        return access.AccessInfoV2(resp.json())


def keystoneauth_two_step_mfa():
    uid, user, pw, _, token = new_user_admin()
    secret = enable_otp_mfa(uid, token)
    time.sleep(0.01)
    sess = session.Session(auth=MfaPassword(secret, auth_url=AUTH_URL, username=user, password=pw))
    token = sess.get_token()
    validates_for(token, uid, ["OTPPASSCODE", "PASSWORD"])


def keystoneclient_users():
    """keystoneclient v2.0 `users.list/get/update/delete`, as a user-admin manages its domain
    (update is the PUT keystoneclient sends; `name` is not the Rackspace key, `username` is)."""
    import secrets
    from keystoneclient.v2_0 import client as ksclient
    from keystoneclient import exceptions as ksexc
    uid, user, pw, _, token = new_user_admin()
    sub_name = "kcsub" + secrets.token_hex(5)
    st, _, body = call("POST", "/v2.0/users", {"user": {
        "username": sub_name, "email": sub_name + "@example.com",
        "OS-KSADM:password": "Cl1ent-" + secrets.token_hex(8)}}, token)
    assert st == 201, (st, body)
    sub_id = body["user"]["id"]
    sess = session.Session(auth=v2.Password(auth_url=AUTH_URL, username=user, password=pw))
    ks = ksclient.Client(session=sess, endpoint_override=AUTH_URL)

    # The by-domain index is eventually consistent: poll briefly for the new user.
    for _ in range(30):
        listed = {u.id: u for u in ks.users.list()}
        if sub_id in listed:
            break
        time.sleep(0.2)
    assert {uid, sub_id} <= set(listed), listed
    assert listed[sub_id].username == sub_name, listed[sub_id]._info
    assert listed[uid].username == user, listed[uid]._info

    updated = ks.users.update(sub_id, email="changed@example.com", username=sub_name + "x")
    assert updated.email == "changed@example.com", updated._info
    assert updated.username == sub_name + "x", updated._info
    off = ks.users.update(sub_id, enabled=False)
    assert off.enabled is False, off._info
    fetched = ks.users.get(sub_id)
    assert fetched.enabled is False and fetched.email == "changed@example.com", fetched._info
    try:
        ks.users.update(sub_id, name="ignored")  # nothing the API knows: a clear 400
        raise AssertionError("an update with nothing to change succeeded")
    except ksexc.BadRequest:
        pass

    ks.users.delete(sub_id)
    try:
        ks.users.get(sub_id)
        raise AssertionError("a deleted user is still readable")
    except ksexc.NotFound:
        pass
    try:
        ks.users.delete(uid)  # never self
        raise AssertionError("a user deleted itself")
    except ksexc.Forbidden:
        pass
    login(user, pw)


if __name__ == "__main__":
    r = Results()
    r.run("keystoneauth1 v2.Password", keystoneauth_password)
    r.run("rackspaceauth v2.APIKey in a keystoneauth1 Session", rackspaceauth_api_key)
    r.run("apache-libcloud OpenStackIdentity_2_0_Connection api_key", libcloud_api_key)
    r.run("keystoneauth1 plugin answering the OS-MF challenge with TOTP", keystoneauth_two_step_mfa)
    r.run("keystoneclient v2.0 users.list/get/update/delete", keystoneclient_users)
    sys.exit(r.finish())
