#!/usr/bin/env python3
"""pyrax (the Rackspace SDK) against the local stack: API-key login with identity_type
"rackspace", then auth_with_token. Run by scripts/test.sh with the pinned environment of
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

from common import API, Results, new_user_admin, validates_for  # noqa: E402


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


if __name__ == "__main__":
    r = Results()
    r.run("pyrax identity_type=rackspace API key, then auth_with_token", pyrax_api_key_then_token)
    sys.exit(r.finish())
