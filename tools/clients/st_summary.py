"""Readable summary of a schemathesis JUnit report, grouped by operation and check.

Usage: python st_summary.py JUNIT_XML

Prints one line per (operation, failure code) with its count and check name, then
one example per distinct kind of failure (code + server detail) with its curl.
Exit status: 0 when the report holds no failures or errors, else 1.
"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

CHECKS = {
    "ST101": "not_a_server_error",
    "ST102": "not_a_server_error (undeclared Content-Type)",
    "ST103": "status_code_conformance",
    "ST104": "content_type_conformance (missing)",
    "ST105": "content_type_conformance (undocumented)",
    "ST106": "content_type_conformance (malformed)",
    "ST107": "response_headers_conformance",
    "ST108": "response_schema_conformance",
    "ST109": "response_schema_conformance (bad JSON)",
    "ST110": "response_schema_conformance (cannot deserialize)",
    "ST111": "response_schema_conformance (discriminator)",
    "ST112": "max_response_time",
    "ST201": "negative_data_rejection",
    "ST202": "positive_data_acceptance",
    "ST203": "missing_required_header",
    "ST204": "unsupported_method",
    "ST205": "allow_header_conformance",
    "ST301": "use_after_free",
    "ST302": "ensure_resource_availability",
    "ST401": "ignored_auth",
    "ST402": "object_level_authorization",
}


def response_detail(block: str) -> str:
    """The server's problem `detail`, without the generated values that differ from case to case."""
    detail = re.search(r'"detail":"((?:[^"\\]|\\.)*)"', block)
    if not detail:
        return ""
    d = detail.group(1)
    d = re.sub(r"(unknown field )`.*?`", r"\1`…`", d)
    d = re.sub(r"got -?[\d.e+]+", "got N", d)
    if "parse request payload" not in d:
        d = re.sub(r'\\"[^"]*?\\"|`[^`]*`', "…", d)
    return d[:140]


def kind_of(code: str, segment: str, block: str) -> str:
    """What tells one failure from another of the same code."""
    lines = [ln.strip() for ln in segment.splitlines()[1:] if ln.strip()]
    component = re.search(r"Invalid component: (.*)", segment)
    if component:
        return component.group(1).strip()[:140]
    if code in ("ST108", "ST109", "ST110", "ST111") and lines:
        where = re.search(r"Schema at (\S+?):", segment)
        return lines[0][:100] + (f" at {where.group(1)}" if where else "")
    detail = response_detail(block)
    if detail:
        return detail
    return lines[0][:140] if lines else ""


def readable(curl: str) -> str:
    """Put the credentials back as the variables run.sh exported, so the curl is short and re-runnable."""
    for var in ("TPGATE_ADMIN_TOKEN", "TPGATE_API_KEY"):
        value = os.environ.get(var)
        if value:
            curl = curl.replace(f"'Authorization: Bearer {value}'", f'"Authorization: Bearer ${var}"')
    return curl


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    per_op: dict[tuple[str, str], int] = defaultdict(int)
    kinds: dict[tuple[str, str], tuple[str, str, int]] = {}
    errors: list[tuple[str, str]] = []
    for case in root.iter("testcase"):
        op = case.get("name", "?")
        for f in case.findall("failure"):
            # One <failure> may hold several test cases ("1. Test Case ID: …"), each with one or more codes.
            for block in re.split(r"^\d+\. Test Case ID: ", f.text or "", flags=re.M):
                parts = re.split(r"^- (ST\d{3}) ", block, flags=re.M)
                if len(parts) < 3:
                    continue
                curl = readable(next((ln.strip() for ln in block.splitlines() if ln.strip().startswith("curl ")), ""))
                label = op  # an undeclared method (ST204) is reported under the operation it was derived from
                status = re.search(r"^\[(\d{3})\]", block, re.M)
                for code, segment in zip(parts[1::2], parts[2::2]):
                    per_op[(label, code)] += 1
                    k = (code, kind_of(code, segment, block))
                    if k in kinds:
                        o, c, n = kinds[k]
                        kinds[k] = (o, c, n + 1)
                    else:
                        kinds[k] = (f"{label} -> {status.group(1) if status else '?'}", curl, 1)
        for e in case.findall("error"):
            errors.append((op, (e.get("message") or e.text or "").strip()[:300]))

    if not per_op and not errors:
        print("schemathesis: no failures")
        return 0
    print(f"schemathesis: {sum(per_op.values())} failures in {len({o for o, _ in per_op})} operations"
          + (f", {len(errors)} errors" if errors else ""))
    print("\nBy operation (code x count):")
    ops: dict[str, list[str]] = defaultdict(list)
    for (op, code), n in sorted(per_op.items()):
        ops[op].append(f"{code} x{n}")
    width = max(len(o) for o in ops)
    for op, codes in ops.items():
        print(f"  {op:<{width}}  {', '.join(codes)}")
    print("\nChecks: " + ", ".join(f"{c} {CHECKS.get(c, '?')}" for c in sorted({c for _, c in per_op})))
    print("\nDistinct kinds (one reproduction each):")
    for (code, kind), (where, curl, n) in sorted(kinds.items()):
        print(f"- {code} {CHECKS.get(code, '?')}: {kind}  [x{n}; e.g. {where}]")
        if curl:
            print(f"    {curl[:600]}{' …' if len(curl) > 600 else ''}")
    for op, msg in errors:
        print(f"- ERROR {op}: {msg}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
