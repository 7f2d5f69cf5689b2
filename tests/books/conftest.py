"""Fixtures of the books generator tests: a few generated companies, built once."""

from __future__ import annotations

import pytest

from include.books import CompanyBooks, generate_books

# (seed, company_index, vouchers_per_year, years): tiny, default and mid-sized companies.
CASES = [(7, 0, 30, 3), (11, 0, 300, 2), (11, 1, 300, 2), (23, 2, 2_000, 2)]


@pytest.fixture(scope="session", params=CASES, ids=lambda c: f"seed{c[0]}-co{c[1]}-n{c[2]}")
def books(request: pytest.FixtureRequest) -> CompanyBooks:
    seed, company_index, vouchers_per_year, years = request.param
    return generate_books(
        seed, company_index=company_index, vouchers_per_year=vouchers_per_year, years=years
    )


@pytest.fixture(scope="session")
def default_books() -> CompanyBooks:
    return generate_books(11)
