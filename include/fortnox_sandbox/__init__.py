"""A faithful local Fortnox: OAuth 2.0, the /3/ endpoints the pipeline uses, SIE 4 export,
rate limiting and fault injection. See docs/fortnox-sandbox.md.

    from include.fortnox_sandbox import SandboxConfig, SandboxServer
    with SandboxServer(SandboxConfig(client_secret="...", companies=1)) as server:
        server.base_url  # http://127.0.0.1:<free port>
"""

from __future__ import annotations

from include.fortnox_sandbox.faults import Faults
from include.fortnox_sandbox.server import SandboxConfig, SandboxServer

__all__ = ["Faults", "SandboxConfig", "SandboxServer"]
