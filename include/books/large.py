"""Streaming writer of big SIE 4E benchmark files, without a dataclass per row.

The books are the same ones ``generate_books`` makes (one year, same seed), but
the voucher rows go straight from the generator's plan to the file as CP437 text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from include.books.generator import gc_paused, generate, render_year, to_company_books
from include.books.sie_export import books_to_sie
from include.sie4.records import Account, SieDocument

# Measured: 0.93M rows came from a knob of 384,615 vouchers (2.42 rows per unit).
ROWS_PER_VOUCHER_NUMERATOR = 242
ROWS_PER_VOUCHER_DENOMINATOR = 100


@dataclass(frozen=True, slots=True)
class LargeSieStats:
    path: Path
    vouchers: int
    rows: int
    bytes_written: int
    vouchers_per_year: int  # the size knob used; generate_books with it gives the same books


def vouchers_for_rows(rows: int) -> int:
    return max(1, rows * ROWS_PER_VOUCHER_DENOMINATOR // ROWS_PER_VOUCHER_NUMERATOR)


def quote(value: str) -> str:
    """A SIE field: quoted when empty or holding a space; quotes escaped."""
    if value and not any(c in value for c in ' \t"{}'):
        return value
    return '"' + value.replace('"', '\\"') + '"'


def _amount(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    whole, cents = divmod(abs(ore), 100)
    return f"{sign}{whole}.{cents:02d}"


def _decimal(value: Decimal) -> str:
    return f"{value:.2f}"


@functools.cache
def _day(value: date) -> str:
    return f"{value:%Y%m%d}"


def header_lines(doc: SieDocument) -> list[str]:
    """Every record of ``doc`` before the vouchers, in Fortnox's order."""
    company = doc.company
    lines = [
        f"#FLAGGA {doc.flag}",
        f"#PROGRAM {quote(doc.program[0])} {quote(doc.program[1])}",
        f"#FORMAT {doc.file_format}",
        f"#GEN {_day(doc.generated_on)}" if doc.generated_on else "#GEN",
        f"#SIETYP {doc.sie_type}",
        f"#FNR {quote(company.company_id)}",
        f"#ORGNR {company.org_number}",
        f"#FNAMN {quote(company.name)}",
    ]
    if company.address:
        a = company.address
        lines.append(
            f"#ADRESS {quote(a.contact)} {quote(a.street)} {quote(a.postal)} {quote(a.phone)}"
        )
    lines += [f"#RAR {y.index} {_day(y.start)} {_day(y.end)}" for y in doc.fiscal_years]
    if doc.tax_year is not None:
        lines.append(f"#TAXAR {doc.tax_year}")
    lines.append(f"#KPTYP {doc.chart_type}")
    for account in doc.accounts:
        lines += _account_lines(account)
    lines += [f"#DIM {d.number} {quote(d.name)}" for d in doc.dimensions]
    lines += [f"#OBJEKT {o.dimension} {quote(o.object_id)} {quote(o.name)}" for o in doc.objects]
    lines += [
        f"#{b.kind.value} {b.year_index} {b.account} {_decimal(b.amount)}" for b in doc.balances
    ]
    return lines


def _account_lines(account: Account) -> list[str]:
    lines = [f"#KONTO {account.number} {quote(account.name)}"]
    if account.account_type:
        lines.append(f"#KTYP {account.number} {account.account_type}")
    lines += [f"#SRU {account.number} {code}" for code in account.sru_codes]
    return lines


def write_large_sie(
    path: str | Path,
    seed: int,
    rows: int,
    *,
    company_index: int = 0,
    year: int = 2024,
) -> LargeSieStats:
    """Write one fiscal year of about ``rows`` voucher rows as a SIE 4E file."""
    target = Path(path)
    vouchers_per_year = vouchers_for_rows(rows)
    with gc_paused():
        return _write(target, seed, vouchers_per_year, company_index, year)


def _write(
    target: Path, seed: int, vouchers_per_year: int, company_index: int, year: int
) -> LargeSieStats:
    generated = generate(
        seed,
        company_index=company_index,
        first_year=year,
        years=1,
        vouchers_per_year=vouchers_per_year,
    )
    header = books_to_sie(to_company_books(generated, with_vouchers=False))
    voucher_count = row_count = 0
    with target.open("w", encoding="cp437", newline="\n") as out:
        out.write("\n".join(header_lines(header)))
        out.write("\n")
        chunk: list[str] = []
        for series, number, day, text, registered_on, voucher_rows in render_year(
            generated.years[0]
        ):
            voucher_count += 1
            chunk.append(
                f"#VER {series} {number} {_day(day)} {quote(text)} {_day(registered_on)}\n{{\n"
            )
            for account, objects, amount in voucher_rows:
                row_count += 1
                if objects:
                    inner = " ".join(f"{quote(d)} {quote(o)}" for d, o in objects)
                    chunk.append(f"#TRANS {account} {{{inner}}} {_amount(amount)}\n")
                else:
                    chunk.append(f"#TRANS {account} {{}} {_amount(amount)}\n")
            chunk.append("}\n")
            if len(chunk) > 20_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
    return LargeSieStats(
        path=target,
        vouchers=voucher_count,
        rows=row_count,
        bytes_written=target.stat().st_size,
        vouchers_per_year=vouchers_per_year,
    )
