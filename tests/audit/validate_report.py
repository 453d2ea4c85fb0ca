#!/usr/bin/env python3
"""Checks dispute reports against docs/report.schema.json with every rule of JSON Schema draft
2020-12 (python3-jsonschema), for the audit tests.

Usage: validate_report.py SCHEMA REPORT...

Prints one line per violation, "REPORT: JSON-PATH: what is wrong", and exits 1 when there is
any; exits 0 when every report matches the schema; exits 2 when the validator cannot run (the
module is missing, the schema is not a valid draft 2020-12 schema, a file cannot be read or is
not JSON).
"""
import json
import sys

# Long hex strings make jsonschema's messages unreadable; the path already says where.
MAX_MESSAGE = 300


def fail(message):
    print(f"validate_report.py: {message}", file=sys.stderr)
    sys.exit(2)


def json_path(error):
    """Where the error is, as "$.entries[3].prev_hash" (the C++ verifier's way of naming it)."""
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")


def main():
    if len(sys.argv) < 3:
        fail("usage: validate_report.py SCHEMA REPORT...")
    try:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError
    except ImportError:
        fail("python3-jsonschema is not installed (scripts/install-deps.sh installs it)")

    schema_path, report_paths = sys.argv[1], sys.argv[2:]
    schema = load(schema_path)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        fail(f"{schema_path} is not a valid draft 2020-12 schema: {e.message}")
    validator = Draft202012Validator(schema)

    violations = 0
    for path in report_paths:
        # In document order: array positions as numbers, so [2] comes before [10].
        errors = sorted(
            validator.iter_errors(load(path)),
            key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path],
        )
        for error in errors:
            message = error.message
            if len(message) > MAX_MESSAGE:
                message = message[:MAX_MESSAGE] + "..."
            print(f"{path}: {json_path(error)}: {message}")
        violations += len(errors)
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
