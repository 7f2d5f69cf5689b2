"""Command line: write generated books as SIE files.

python -m include.books generate --seed 7 --company-index 0 --vouchers-per-year 300 --out DIR
python -m include.books large --seed 1 --rows 1000000 [--objects-on-every-row] --out big.se
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def sie_file_name(org_number: str, year: int) -> str:
    return f"{org_number.replace('-', '')}_{year}.se"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.books", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="one SIE 4E file per fiscal year")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--company-index", type=int, default=0)
    gen.add_argument("--first-year", type=int, default=2024)
    gen.add_argument("--years", type=int, default=2)
    gen.add_argument("--vouchers-per-year", type=int, default=300)
    gen.add_argument("--ksumma", action="store_true", help="add a #KSUMMA checksum")
    gen.add_argument("--out", type=Path, required=True, help="directory (created if missing)")
    large = commands.add_parser("large", help="one big streamed SIE 4E file for benchmarks")
    large.add_argument("--seed", type=int, required=True)
    large.add_argument("--rows", type=int, required=True, help="approximate voucher rows")
    large.add_argument("--company-index", type=int, default=0)
    large.add_argument("--year", type=int, default=2024)
    large.add_argument(
        "--objects-on-every-row",
        action="store_true",
        help="a cost-centre object on every #TRANS (books kept with cost centres)",
    )
    large.add_argument("--out", type=Path, required=True, help="file to write")
    args = parser.parse_args(argv)

    if args.command == "generate":
        from include.books import generate_books
        from include.sie4.writer import write_sie

        books = generate_books(
            args.seed,
            company_index=args.company_index,
            first_year=args.first_year,
            years=args.years,
            vouchers_per_year=args.vouchers_per_year,
        )
        args.out.mkdir(parents=True, exist_ok=True)
        for year in books.years:
            start = year.fiscal_year.start
            target = args.out / sie_file_name(books.company.org_number, start.year)
            write_sie(books.to_sie(start), target, ksumma=args.ksumma)
            print(f"{target}: {len(year.vouchers)} vouchers")
        return 0

    from include.books import write_large_sie

    stats = write_large_sie(
        args.out,
        args.seed,
        args.rows,
        company_index=args.company_index,
        year=args.year,
        objects_on_every_row=args.objects_on_every_row,
    )
    print(
        f"{stats.path}: {stats.vouchers} vouchers, {stats.rows} rows, {stats.bytes_written} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
