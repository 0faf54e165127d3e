"""Local-stack helper for scripts/run-local.sh (runs with .venv's boto3).

  wait URL [SECONDS]            wait until an HTTP server answers at URL (any status)
  create-table ENDPOINT TABLE   create the single table (pk/sk, on demand, TTL on `ttl`, the user
                                indexes by-domain and by-email); idempotent, and adds the indexes
                                to a table created before them
  create-key ENDPOINT           create a KMS key + alias in moto, wrap a fresh AES-256 data key
                                under it, and print `KMS_KEY_ID=...` and `SEED_KEYS=1:<base64>`
  free-ports N                  print N distinct free TCP ports on 127.0.0.1
  wait-api URL PID [SECONDS]    wait until `POST URL/v2.0/tokens` with `{}` answers with a JSON 4xx,
                                failing early if process PID (the API server) has exited
  password                      print a fresh random password (CSPRNG, 32 URL-safe characters)
"""

import base64
import json
import os
import secrets
import socket
import sys
import time
import urllib.error
import urllib.request

REGION = "us-east-1"
ALIAS = "alias/identity-seed-local"


def client(service, endpoint):
    import boto3  # imported lazily: `wait` and `free-ports` must not pay for it

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def wait(url, seconds=120.0):
    deadline = time.monotonic() + float(seconds)
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, with an error status: good enough
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"timed out after {seconds}s waiting for {url}")
            time.sleep(0.3)


# The user indexes of template.yaml (list-users): same names, keys and projection
# (shared::store::USER_INDEX_PROJECTION; shared/tests/table_indexes.rs checks all three agree).
USER_INDEX_PROJECTION = [
    "id", "username", "email", "enabled", "domain_id", "region", "roles",
    "mfa_enabled", "factor", "level", "fails", "last_fail",
]
USER_INDEXES = {"by-domain": "by_domain", "by-email": "by_email"}


def user_index(name, attr):
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": USER_INDEX_PROJECTION},
    }


def wait_indexes(ddb, table, seconds=120.0):
    deadline = time.monotonic() + seconds
    while True:
        desc = ddb.describe_table(TableName=table)["Table"]
        indexes = desc.get("GlobalSecondaryIndexes", [])
        if desc["TableStatus"] == "ACTIVE" and all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
            return {i["IndexName"] for i in indexes}
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for the indexes of {table}")
        time.sleep(0.5)


def create_table(endpoint, table):
    ddb = client("dynamodb", endpoint)
    attrs = [{"AttributeName": a, "AttributeType": "S"} for a in ["pk", "sk", *USER_INDEXES.values()]]
    try:
        ddb.create_table(
            TableName=table,
            AttributeDefinitions=attrs,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[user_index(n, a) for n, a in USER_INDEXES.items()],
            BillingMode="PAY_PER_REQUEST",
        )
    except ddb.exceptions.ResourceInUseException:
        pass  # already there (persistent DynamoDB Local): keep it, add what it lacks below
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    # A table made before the user indexes gains them, one per UpdateTable (DynamoDB's rule);
    # its existing users need `identity-manage backfill-user-index` (docs/operations.md).
    for name, attr in USER_INDEXES.items():
        if name in wait_indexes(ddb, table):
            continue
        ddb.update_table(
            TableName=table,
            AttributeDefinitions=attrs,
            GlobalSecondaryIndexUpdates=[{"Create": user_index(name, attr)}],
        )
        print(f"added index {name} to {table}", file=sys.stderr)
    wait_indexes(ddb, table)
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        ddb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )


def create_key(endpoint):
    kms = client("kms", endpoint)
    key_id = kms.create_key(Description="identity local: seals the TOTP seed data key")["KeyMetadata"]["KeyId"]
    try:
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    except kms.exceptions.AlreadyExistsException:
        kms.update_alias(AliasName=ALIAS, TargetKeyId=key_id)
    # A hand-managed data key (SEED_KEYS), wrapped under the context the functions unwrap with
    # (shared::seal::DATA_KEY_CONTEXT); the local stack itself lets the functions create theirs.
    sealed = kms.generate_data_key_without_plaintext(
        KeyId=key_id, KeySpec="AES_256", EncryptionContext={"purpose": "rax-identity-data-key"}
    )["CiphertextBlob"]
    print(f"KMS_KEY_ID={key_id}")
    print(f"SEED_KEYS=1:{base64.b64encode(sealed).decode()}")


def free_ports(n):
    socks, ports = [], []
    for _ in range(int(n)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)  # keep all open so the N ports are distinct
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print(" ".join(map(str, ports)))


def wait_api(base, pid, seconds=600.0):
    deadline = time.monotonic() + float(seconds)
    req = urllib.request.Request(
        base.rstrip("/") + "/v2.0/tokens",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    last = "no answer yet"
    while True:
        try:
            os.kill(int(pid), 0)
        except OSError:
            sys.exit(f"the API server (pid {pid}) exited before it was ready ({last})")
        try:
            urllib.request.urlopen(req, timeout=30).close()
            last = "a 2xx to an empty login"
        except urllib.error.HTTPError as e:
            body = e.read()
            ctype = e.headers.get("Content-Type", "")
            if 400 <= e.code < 500 and "json" in ctype:
                try:
                    json.loads(body)
                    return
                except ValueError:
                    pass
            last = f"HTTP {e.code} {ctype} {body[:200]!r}"
        except OSError as e:
            last = str(e)
        if time.monotonic() > deadline:
            sys.exit(f"timed out after {seconds}s waiting for the API at {base} ({last})")
        time.sleep(0.5)


def password():
    print(secrets.token_urlsafe(24))


def main(argv):
    commands = {
        "wait": wait,
        "create-table": create_table,
        "create-key": create_key,
        "free-ports": free_ports,
        "wait-api": wait_api,
        "password": password,
    }
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit(__doc__)
    commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
