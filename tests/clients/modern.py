#!/usr/bin/env python3
"""Real client libraries against the local stack: keystoneauth1 (v2.Password and a plugin that
answers the OS-MF challenge with a TOTP code), rackspaceauth (v2.APIKey in a keystoneauth1
Session) and apache-libcloud (OpenStackIdentity_2_0_Connection, authenticate(auth_type="api_key")).
Run by scripts/test.sh with the pinned environment of tests/clients/requirements-modern.txt."""
import sys, time

from common import API, Results, enable_otp_mfa, new_user_admin, totp, validates_for
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


if __name__ == "__main__":
    r = Results()
    r.run("keystoneauth1 v2.Password", keystoneauth_password)
    r.run("rackspaceauth v2.APIKey in a keystoneauth1 Session", rackspaceauth_api_key)
    r.run("apache-libcloud OpenStackIdentity_2_0_Connection api_key", libcloud_api_key)
    r.run("keystoneauth1 plugin answering the OS-MF challenge with TOTP", keystoneauth_two_step_mfa)
    sys.exit(r.finish())
