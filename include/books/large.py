"""Streaming writer of big SIE 4E benchmark files, without a dataclass per row.

The books are the same ones ``generate_books`` makes (one year, same seed), but
the voucher rows go straight from the generator's plan to the file as CP437 text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from include.books.chart import COST_CENTRES
from include.books.generator import gc_paused, generate, render_year, to_company_books
from include.books.sie_export import books_to_sie
from include.sie4.lexer import encode_cp437, quote_field, quote_objects
from include.sie4.writer import write_sie

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


def _amount(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    whole, cents = divmod(abs(ore), 100)
    return f"{sign}{whole}.{cents:02d}"


@functools.cache
def _day(value: date) -> str:
    return f"{value:%Y%m%d}"


_objects = functools.cache(quote_objects)  # few distinct object lists, millions of rows


def write_large_sie(
    path: str | Path,
    seed: int,
    rows: int,
    *,
    company_index: int = 0,
    year: int = 2024,
    objects_on_every_row: bool = False,
) -> LargeSieStats:
    """Write one fiscal year of about ``rows`` voucher rows as a SIE 4E file.

    ``objects_on_every_row`` gives every ``#TRANS`` a cost-centre object (rows without one
    get a declared cost centre in turn), the shape of books kept with cost centres; the
    amounts, and so every balance, are the same as without it.
    """
    target = Path(path)
    vouchers_per_year = vouchers_for_rows(rows)
    with gc_paused():
        return _write(target, seed, vouchers_per_year, company_index, year, objects_on_every_row)


_EVERY_ROW_CENTRES = tuple(quote_objects((("1", number),)) for number, _ in COST_CENTRES)


def _write(
    target: Path,
    seed: int,
    vouchers_per_year: int,
    company_index: int,
    year: int,
    objects_on_every_row: bool,
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
    partial = target.with_name(f".{target.name}.partial")  # never a truncated file by its name
    with partial.open("wb") as out:
        out.write(write_sie(header))  # the header records, by the package's one writer
        chunk: list[str] = []
        for series, number, day, text, registered_on, voucher_rows in render_year(
            generated.years[0]
        ):
            voucher_count += 1
            chunk.append(
                f"#VER {quote_field(series)} {number} {_day(day)} {quote_field(text)} "
                f"{_day(registered_on)}\n{{\n"
            )
            for account, objects, amount in voucher_rows:
                row_count += 1
                if objects or not objects_on_every_row:
                    listed = _objects(objects)
                else:
                    listed = _EVERY_ROW_CENTRES[row_count % len(_EVERY_ROW_CENTRES)]
                chunk.append(f"#TRANS {account} {listed} {_amount(amount)}\n")
            chunk.append("}\n")
            if len(chunk) > 20_000:
                out.write(encode_cp437("".join(chunk)))
                chunk.clear()
        out.write(encode_cp437("".join(chunk)))
    partial.replace(target)
    return LargeSieStats(
        path=target,
        vouchers=voucher_count,
        rows=row_count,
        bytes_written=target.stat().st_size,
        vouchers_per_year=vouchers_per_year,
    )
