"""Create the per-machine secrets file (Fernet key for the token store, sandbox client secret).

Run by the Makefile once; the file stays in airflow_home/ (git-ignored) with mode 0600 and
its values are never printed.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def main(target: str) -> int:
    path = Path(target)
    passwords = path.with_name("passwords.json")
    if not passwords.exists():  # the local Airflow UI's admin password (simple auth manager)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(passwords, json.dumps({"admin": secrets.token_urlsafe(12)}))
    if path.exists():
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"FORTNOX_TOKEN_KEY={Fernet.generate_key().decode()}",
        "FORTNOX_SANDBOX_CLIENT_ID=sandbox-client",
        f"FORTNOX_SANDBOX_CLIENT_SECRET={secrets.token_urlsafe(32)}",
        f"AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(32)}",
        f"AIRFLOW__API__SECRET_KEY={secrets.token_urlsafe(32)}",
    ]
    write_private(path, "\n".join(lines) + "\n")
    print(f"wrote per-machine secrets to {path} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
