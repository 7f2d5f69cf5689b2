"""Write the compose stack's .env from .env.example with every secret generated.

    python3 scripts/make_compose_env.py [--sandbox] [--output .env]

Passwords and secrets are random and URL-safe, Fernet keys are Fernet keys; nothing is
printed. Without --sandbox the Fortnox app's client id and secret stay empty (they come from
the Fortnox developer portal) and compose refuses to start until they are set. With --sandbox
the stack uses the local Fortnox sandbox (profile `sandbox`). Needs only Python's standard
library; an existing file is never overwritten.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FERNET_KEYS = {"AIRFLOW_FERNET_KEY", "FORTNOX_TOKEN_KEY"}
APP_CREDENTIALS = {"FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET"}
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_MARKER = "# The local sandbox instead"
_ASSIGNMENT = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$")


def fernet_key() -> str:
    # What cryptography's Fernet.generate_key() returns: 32 random bytes, url-safe base64.
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def render(example: str, *, sandbox: bool) -> str:
    """.env text: empty values generated; with ``sandbox`` the sandbox block uncommented and
    the settings it replaces commented out."""
    block = set(_sandbox_block(example)) if sandbox else set()
    replaced = {m.group(2) for line in block if (m := _ASSIGNMENT.match(line))}
    out: list[str] = []
    for line in example.splitlines():
        match = _ASSIGNMENT.match(line)
        if not match:
            out.append(line)
            continue
        commented, name, value = match.groups()
        if line in block:
            out.append(line[1:])
        elif commented:
            out.append(line)
        elif name in replaced:
            out.append(f"#{line}")
        else:
            out.append(f"{name}={value or _generated(name, sandbox=sandbox)}")
    return "\n".join(out) + "\n"


def _generated(name: str, *, sandbox: bool) -> str:
    if name in FERNET_KEYS:
        return fernet_key()
    if name in APP_CREDENTIALS:  # Fortnox's to give, except for the sandbox
        if not sandbox:
            return ""
        return SANDBOX_CLIENT_ID if name == "FORTNOX_CLIENT_ID" else secrets.token_urlsafe(32)
    return secrets.token_urlsafe(32)


def _sandbox_block(example: str) -> list[str]:
    """The commented assignments under the SANDBOX_MARKER comment."""
    lines = example.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(SANDBOX_MARKER)), None)
    if start is None:
        return []
    block: list[str] = []
    for line in lines[start + 1 :]:
        match = _ASSIGNMENT.match(line)
        if match and match.group(1):
            block.append(line)
        elif line.startswith("# ") and not block:
            continue  # the comment explaining the block
        else:
            break
    return block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use the local Fortnox sandbox")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    args = parser.parse_args(argv)
    text = render(args.example.read_text(encoding="utf-8"), sandbox=args.sandbox)
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"{args.output} exists: not overwritten (delete it first)", file=sys.stderr)
        return 1
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"wrote {args.output} (mode 0600) with generated secrets")
    if not args.sandbox:
        print("now set FORTNOX_CLIENT_ID and FORTNOX_CLIENT_SECRET (Fortnox developer portal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
