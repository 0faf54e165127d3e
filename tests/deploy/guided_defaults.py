#!/usr/bin/env python3
"""`sam build && sam deploy --guided` completes when every question is answered with its default.

Reads what SAM CLI (the pinned one in .venv) would ask for this template and samconfig.toml,
with SAM's own code where it has it, and fails on any question whose default would stop a
first deploy:
  - every template parameter has a default (guided mode offers it);
  - no API event counts as "has no authentication" (SAM's own auth_per_resource), whose
    prompt defaults to N and aborts with "Security Constraints Not Satisfied!";
  - the rust-cargolambda build method is a beta feature: samconfig.toml allows beta features
    for build (else "Continue? [y/N]" aborts the build);
  - deploy defaults: a stack name, a managed artifact bucket (resolve_s3), CAPABILITY_IAM (the
    template creates roles; guided mode's "Allow SAM CLI IAM role creation [Y/n]" defaults to Y).
Prints one line per check; exits 1 on the first failure.
"""
import os
import sys
import tomllib

from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.yamlhelper import yaml_parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


template_path = os.path.join(ROOT, "template.yaml")
template = yaml_parse(open(template_path).read())
params = template.get("Parameters", {})
missing = [name for name, p in params.items() if "Default" not in p]
check(not missing, f"all {len(params)} template parameters have defaults {missing or ''}")

stacks, _ = SamLocalStackProvider.get_stacks(template_path)
events = auth_per_resource(stacks)
unauth = sorted({name for name, ok in events if not ok})
check(events and not unauth, f"{len(events)} API events, none prompts 'has no authentication' {unauth or ''}")

config = tomllib.load(open(os.path.join(ROOT, "samconfig.toml"), "rb"))
build = config.get("default", {}).get("build", {}).get("parameters", {})
glob = config.get("default", {}).get("global", {}).get("parameters", {})
uses_beta = any(
    r.get("Metadata", {}).get("BuildMethod") == "rust-cargolambda" for r in template["Resources"].values()
)
check(not uses_beta or build.get("beta_features") or glob.get("beta_features"),
      "rust-cargolambda (a beta build method) is allowed by samconfig.toml")
deploy = config.get("default", {}).get("deploy", {}).get("parameters", {})
check(bool(deploy.get("stack_name")), f"deploy default stack name: {deploy.get('stack_name')}")
check(deploy.get("resolve_s3") is True, "deploy uploads to SAM's managed bucket (resolve_s3)")
check("CAPABILITY_IAM" in str(deploy.get("capabilities", "")), "deploy may create the functions' roles (CAPABILITY_IAM)")
