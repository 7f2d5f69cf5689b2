"""The sandbox's state on disk, so a restart keeps what clients did (``--state-file``).

The books are generated again from the seed; what is kept is what came through the API:
posted vouchers, uploaded files and their connections per tenant, and the OAuth server's
signing key, grants and tokens (as digests), so tokens issued before a restart stay valid.
Written after every request that may change something (atomically: a temporary file, then
rename) and read at start. The file holds the token signing key: mode 0600, under data/.

Pickle because the state is the sandbox's own dataclasses (exact Decimal, bytes, dates);
the file is the sandbox's private scratch, never input from anyone else.
"""

from __future__ import annotations

import os
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.fortnox_sandbox.server import Sandbox

FORMAT = 1


class StateFileError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class StateFile:
    path: Path
    _lock: threading.Lock

    @classmethod
    def at(cls, path: Path) -> StateFile:
        return cls(Path(path), threading.Lock())


def identity(sandbox: Sandbox) -> dict[str, object]:
    """What must match for a state file to belong to this sandbox (same books, same client)."""
    c = sandbox.config
    return {
        "seed": c.seed,
        "companies": c.companies,
        "first_year": c.first_year,
        "vouchers_per_year": c.vouchers_per_year,
        "client_id": c.client_id,
        "tenants": sorted(sandbox.apis),
    }


def save(sandbox: Sandbox, state: StateFile) -> None:
    tenants: dict[int, dict[str, Any]] = {}
    for tenant_id, api in sandbox.apis.items():
        with api.lock:
            t = api.tenant
            tenants[tenant_id] = {
                "posted": list(t.posted),
                "files": dict(t.files),
                "file_connections": dict(t.file_connections),
            }
    payload = {
        "format": FORMAT,
        "identity": identity(sandbox),
        "tenants": tenants,
        "oauth": sandbox.oauth.export_state(),
    }
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    with state._lock:
        state.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = state.path.with_name(f".{state.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(state.path)


def load(sandbox: Sandbox, state: StateFile) -> bool:
    """Restore a saved state into ``sandbox``; False when there is no file yet."""
    try:
        data = state.path.read_bytes()
    except FileNotFoundError:
        return False
    try:
        payload = pickle.loads(data)
    except Exception as exc:
        raise StateFileError(f"{state.path}: not a sandbox state file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise StateFileError(f"{state.path}: unknown state file format")
    if payload["identity"] != identity(sandbox):
        raise StateFileError(
            f"{state.path} was written by a sandbox with other options "
            f"({payload['identity']}); start with the same options or delete the file"
        )
    for tenant_id, saved in payload["tenants"].items():
        api = sandbox.apis[tenant_id]
        with api.lock:
            api.tenant.posted[:] = saved["posted"]
            api.tenant.files.clear()
            api.tenant.files.update(saved["files"])
            api.tenant.file_connections.clear()
            api.tenant.file_connections.update(saved["file_connections"])
    sandbox.oauth.import_state(payload["oauth"])
    return True
