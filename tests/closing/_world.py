"""A closing world: the Fortnox sandbox with one connected company whose 2025 books were
extracted from it and loaded (with their tenant id) into a migrated warehouse, and checked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from include.fortnox.client import FortnoxClient
from include.fortnox.session import FortnoxSession
from include.fortnox_sandbox.local import LocalFortnox, connected_sandbox
from include.fortnox_sandbox.tenants import Tenant

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "include" / "closing" / "samples"
SAMPLE_CSV = SAMPLES / "adjustments-2025.csv"
START = date(2025, 1, 1)
TODAY = date(2026, 3, 1)


@dataclass
class ClosingWorld:
    local: LocalFortnox
    session: FortnoxSession
    url: str  # the warehouse, also the token store
    tenant: str
    org_number: str
    company_id: int
    env: dict[str, str]

    def client_for(self, tenant: str) -> FortnoxClient:
        return self.session.client(tenant)

    @property
    def tenant_state(self) -> Tenant:
        """The sandbox's own record of the company (in this process)."""
        return self.local.server.sandbox.apis[int(self.tenant)].tenant

    def airflow_connections(self) -> dict[str, Any]:
        return {
            "fortnox_default": self.local.airflow_connection(),
            "warehouse_default": {"conn_type": "generic", "extra": {"sqlalchemy_url": self.url}},
        }


def load_from_fortnox(url: str, session: FortnoxSession, tenant: str) -> int:
    """Extract the tenant's 2025 SIE from the sandbox and load it, checked by a quality run."""
    from include.quality.testing import record_checks
    from include.warehouse import load_sie

    with session.client(tenant) as client:
        years = {str(y["FromDate"]): int(y["Id"]) for y in client.financial_years().items}
        data = client.sie(years[START.isoformat()])
    result = load_sie(
        data,
        url,
        source_kind="fortnox",
        fortnox_tenant_id=tenant,
        file_name="sie4.se",
        extract_id=f"test-{tenant}-{len(data)}",
    )
    record_checks(url, result.company_id, START)
    return result.company_id


@contextmanager
def closing_world(root: Path, *, seed: int = 5) -> Iterator[ClosingWorld]:
    from include.warehouse.migrate import migrate

    env = {
        "FORTNOX_TOKEN_KEY": Fernet.generate_key().decode(),
        "PROJECT_DATA_DIR": str(root / "data"),
        "FORTNOX_PACER_DIR": str(root / "pacer"),
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    url = f"sqlite:///{root / 'warehouse.db'}"
    try:
        migrate(url)
        with connected_sandbox(
            token_store_url=url, companies=1, seed=seed, vouchers_per_year=60, today=TODAY
        ) as local:
            session = FortnoxSession(local.settings)
            try:
                tenant = local.tenant_ids[0]
                company_id = load_from_fortnox(url, session, tenant)
                yield ClosingWorld(
                    local=local,
                    session=session,
                    url=url,
                    tenant=tenant,
                    org_number=str(local.tenants[0]["OrganizationNumber"]),
                    company_id=company_id,
                    env=env,
                )
            finally:
                session.close()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
