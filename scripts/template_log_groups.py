#!/usr/bin/env python3
"""Gives every function of template.yaml its own log group (retention `LogRetentionDays`,
kept when the stack goes: the audit trail is in it). Idempotent: run it after adding a function;
shared/tests/route_consistency.rs fails until every function has one.

    python3 scripts/template_log_groups.py [template.yaml]
"""
import re
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
lines = open(path).read().split("\n")
out = []
i = 0
added = 0
while i < len(lines):
    line = lines[i]
    m = re.match(r"^  (\w+)Function:$", line)
    is_fn = m and i + 1 < len(lines) and lines[i + 1].strip() == "Type: AWS::Serverless::Function"
    if not is_fn:
        out.append(line)
        i += 1
        continue
    name = m.group(1)
    # The function's block: up to the next top-level resource (two-space indent) or section.
    j = i + 1
    while j < len(lines) and not re.match(r"^  \S|^\S", lines[j]):
        j += 1
    block = lines[i:j]
    text = "\n".join(block)
    if "LoggingConfig:" not in text:
        k = next(n for n, l in enumerate(block) if l.startswith("      CodeUri: "))
        block[k + 1:k + 1] = ["      LoggingConfig:", f"        LogGroup: !Ref {name}LogGroup"]
    out.extend(block)
    group = f"  {name}LogGroup:"
    if group not in lines:
        while out and out[-1] == "":
            out.pop()
        out.extend([
            "",
            group,
            "    Type: AWS::Logs::LogGroup",
            "    DeletionPolicy: Retain",
            "    UpdateReplacePolicy: Retain",
            "    Properties:",
            "      RetentionInDays: !Ref LogRetentionDays",
            "",
        ])
        added += 1
    i = j
open(path, "w").write("\n".join(out))
print(f"{added} log groups added")
