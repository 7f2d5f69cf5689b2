"""Assets that connect the DAGs.

- ``FORTNOX_LANDING``: a company's extract landed
  (event extra: include.ingest.landing.LandingEvent).
- ``WAREHOUSE_BOOKS``: a (company, fiscal year) partition of the warehouse was replaced
  (event extra: org_number, company_name, fiscal_year_start, fiscal_year_end, extract_id, source).
- ``CLOSING_APPROVED``: a person approved a closing's voucher set (event extra:
  include.closing.approval_event_extra: company_id, org_number, company_name,
  fiscal_year_start, approval_id). Only approvals emit it, never rejections.
"""

from __future__ import annotations

from airflow.sdk import Asset

FORTNOX_LANDING = Asset(name="fortnox_landing", uri="file:///data/landing/fortnox")
WAREHOUSE_BOOKS = Asset(name="warehouse_books", uri="file:///data/warehouse/books")
CLOSING_APPROVED = Asset(name="closing_approved", uri="file:///data/warehouse/closing_approved")
