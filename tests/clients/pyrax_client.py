#!/usr/bin/env python3
"""pyrax (the Rackspace SDK) against the local stack: API-key login with identity_type
"rackspace", then auth_with_token; a user-admin's identity `list_users`, `update_user` and
`delete_user`. Run by scripts/test.sh with the pinned environment of
tests/clients/requirements-pyrax.txt."""
import collections
import collections.abc
import sys

# pyrax 1.10 pulls oslo.config 4 and friends, written for Python < 3.10, which read the
# abstract base classes from `collections`; Python 3.10 moved them to `collections.abc` only.
for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable",
              "Callable", "Set", "MutableSet", "Hashable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

import pyrax  # noqa: E402  (after the alias above)

import re  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import pyrax.http  # noqa: E402

from common import API, Results, call, new_user_admin, validates_for  # noqa: E402

# pyrax sends its "admin" identity calls (list_users among them) to Keystone's old admin port:
# it rewrites ":<port>/" in the endpoint to ":35357/". A deployed stack's URL has no port, so
# nothing is rewritten there; the local stack's has one, so put it back.
_PORT = urlparse(API).port
_request = pyrax.http.request


def _request_local(method, uri, *args, **kwargs):
    return _request(method, re.sub(r":35357/", f":{_PORT}/", uri), *args, **kwargs)


pyrax.http.request = _request_local


def pyrax_api_key_then_token():
    uid, user, _, key, _ = new_user_admin()
    pyrax.set_setting("identity_type", "rackspace")
    pyrax.set_setting("auth_endpoint", API + "/v2.0/")
    pyrax.set_credentials(user, key)
    ident = pyrax.identity
    assert ident.authenticated, "pyrax did not authenticate"
    token, tenant = ident.token, ident.tenant_id
    access = validates_for(token, uid, ["APIKEY"])
    assert tenant == access["token"]["tenant"]["id"], (tenant, access["token"])
    # Re-authenticate with the token (pyrax.auth_with_token).
    pyrax.identity = None
    pyrax.auth_with_token(token, tenant_id=tenant)
    assert pyrax.identity.authenticated
    assert pyrax.identity.token == token
    validates_for(pyrax.identity.token, uid, ["APIKEY"])


def pyrax_identity_users():
    """A user-admin manages its domain with pyrax's identity: list, update, delete."""
    uid, user, _, key, token = new_user_admin()
    sub_name = "pxsub" + secrets.token_hex(5)
    st, _, body = call("POST", "/v2.0/users", {"user": {
        "username": sub_name, "email": sub_name + "@example.com",
        "OS-KSADM:password": "Cl1ent-" + secrets.token_hex(8)}}, token)
    assert st == 201, (st, body)
    sub_id = body["user"]["id"]
    pyrax.identity = None
    pyrax.set_setting("identity_type", "rackspace")
    pyrax.set_setting("auth_endpoint", API + "/v2.0/")
    pyrax.set_credentials(user, key)
    ident = pyrax.identity
    assert ident.authenticated

    # The by-domain index is eventually consistent: poll briefly for the new user.
    for _ in range(30):
        users = {u.id: u for u in ident.list_users()}
        if sub_id in users:
            break
        time.sleep(0.2)
    assert {uid, sub_id} <= set(users), list(users)
    assert users[sub_id].username == sub_name, users[sub_id]

    ident.update_user(sub_id, email="pyrax@example.com", username=sub_name + "x")
    st, _, body = call("GET", f"/v2.0/users/{sub_id}", token=ident.token)
    assert st == 200, (st, body)
    assert body["user"]["email"] == "pyrax@example.com", body
    assert body["user"]["username"] == sub_name + "x", body
    ident.update_user(sub_id, enabled=False)
    st, _, body = call("GET", f"/v2.0/users/{sub_id}", token=ident.token)
    assert body["user"]["enabled"] is False, body

    ident.delete_user(sub_id)
    st, _, body = call("GET", f"/v2.0/users/{sub_id}", token=ident.token)
    assert st == 404, (st, body)
    try:
        ident.delete_user(sub_id)
        raise AssertionError("deleting a deleted user succeeded")
    except (pyrax.exceptions.UserNotFound, pyrax.exceptions.NotFound):
        pass
    assert uid in {u.id for u in ident.list_users()}


if __name__ == "__main__":
    r = Results()
    r.run("pyrax identity_type=rackspace API key, then auth_with_token", pyrax_api_key_then_token)
    r.run("pyrax identity list_users, update_user, delete_user", pyrax_identity_users)
    sys.exit(r.finish())
