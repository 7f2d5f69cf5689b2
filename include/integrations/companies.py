"""The warehouse's ``company`` row for a company connected through the Integrations view.

Keyed exactly as the loader keys a SIE file's company (the normalised organisation
number), through the loader's own upsert, so the first SIE load of the company finds this
row instead of creating a second one.
"""

from __future__ import annotations

import sqlalchemy as sa

from include.warehouse.engine import EngineLike, engine_for
from include.warehouse.identity import CompanyIdentity, normalise_org_number, upsert_company


class CompanyConflict(Exception):
    """The organisation number already belongs to another Fortnox tenant in the warehouse."""


def company_identity_from_fortnox(org_number: str, company_name: str) -> CompanyIdentity | None:
    """The loader's identity for ``/3/companyinformation``'s company; None without an org nr.

    The loader keys a file by its ``#ORGNR`` (normalised), else by the raw text; a Fortnox
    company without an organisation number would be keyed by the SIE file's ``#FNR`` or name,
    which are not known here, so such a company gets its row from its first load.
    """
    raw = org_number.strip()
    if not raw:
        return None
    org = normalise_org_number(raw)
    key = org or f"orgnr:{raw}"
    name = company_name.strip() or key
    return CompanyIdentity(key=key, org_number=org, name=name, program_company_id=None)


def register_company(
    warehouse: EngineLike, *, tenant_id: str, company_name: str, org_number: str
) -> int | None:
    """Create or update the company's row; its ``company_id``, or None (no org number).

    A warehouse that was never migrated is migrated first (the load DAG does the same).
    """
    identity = company_identity_from_fortnox(org_number, company_name)
    if identity is None:
        return None
    engine, owned = engine_for(warehouse)
    try:
        if not sa.inspect(engine).has_table("company"):
            from include.warehouse.migrate import migrate

            migrate(engine)
        with engine.begin() as conn:
            try:
                return upsert_company(conn, identity, str(tenant_id))
            except ValueError as exc:  # the loader's "is Fortnox tenant X, not Y"
                raise CompanyConflict(str(exc)) from None
            except sa.exc.IntegrityError:  # the tenant id sits on another company's row
                raise CompanyConflict(
                    f"Fortnox tenant {tenant_id} already belongs to another company in the "
                    f"warehouse than organisation number {identity.key}"
                ) from None
    finally:
        if owned:
            engine.dispose()
