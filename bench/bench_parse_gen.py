"""A big, realistic SIE 4E file for the parse benchmark (no dependency beyond the stdlib).

The mix follows real exports: several rows per voucher, object lists on some
rows, quoted texts with Swedish letters, credit (negative) amounts, some rows
with their own date/text/quantity, and a few RTRANS/TRANS twin pairs and
BTRANS rows. Every voucher balances and every account is declared, so the
strict reader accepts the file.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("1510", "Kundfordringar"),
    ("1630", "Skattekonto"),
    ("1910", "Kassa"),
    ("1930", "Företagskonto"),
    ("2440", "Leverantörsskulder"),
    ("2611", "Utgående moms 25 %"),
    ("2641", "Ingående moms"),
    ("2710", "Personalskatt"),
    ("3001", "Försäljning varor 25 %"),
    ("3041", "Försäljning tjänster 25 %"),
    ("4010", "Inköp material och varor"),
    ("5010", "Lokalhyra"),
    ("5410", "Förbrukningsinventarier"),
    ("5611", "Drivmedel för personbilar"),
    ("6071", "Representation, avdragsgill"),
    ("6212", "Mobiltelefon"),
    ("6570", "Bankkostnader"),
    ("7010", "Löner till kollektivanställda"),
    ("7510", "Arbetsgivaravgifter"),
    ("8310", "Ränteintäkter"),
)
TEXTS = (
    "Försäljning",
    "Inköp av fika",
    "Lokalhyra januari",
    "Bankavgift",
    "Överföring PG-BG",
    'Faktura 10012 "Åkeri AB"',
    "Löner",
    "Kontantköp",
)
OBJECTS = ('{1 "100"}', '{"1" "200" "6" "P-17"}', "{6 P1}", "{ }")


def _header(first: date) -> list[str]:
    last = date(first.year, 12, 31)
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "bench_parse" 1.0',
        "#FORMAT PC8",
        f"#GEN {first:%Y%m%d}",
        "#SIETYP 4",
        '#FNAMN "Bänkföretaget AB"',
        "#ORGNR 556000-0000",
        f"#RAR 0 {first:%Y%m%d} {last:%Y%m%d}",
        "#DIM 1 Kostnadsställe",
        "#DIM 6 Projekt",
        '#OBJEKT 1 "100" "Säljavdelningen"',
        '#OBJEKT 1 "200" "Lager"',
        '#OBJEKT 6 "P-17" "Projekt 17"',
        '#OBJEKT 6 "P1" "Projekt 1"',
    ]
    lines += [f'#KONTO {number} "{name}"' for number, name in ACCOUNTS]
    lines += ["#IB 0 1930 125000.00", "#UB 0 1930 125000.00", "#RES 0 3001 0.00"]
    return lines


def _amount(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    whole, cents = divmod(abs(ore), 100)
    return f"{sign}{whole}.{cents:02d}"


def _row(rng: random.Random, label: str, account: str, ore: int, day: date, indent: str) -> str:
    objects = rng.choice(OBJECTS) if rng.random() < 0.25 else "{}"
    text = rng.choice(TEXTS).replace('"', '\\"')
    line = f"{indent}#{label} {account} {objects} {_amount(ore)}"
    roll = rng.random()
    if roll < 0.15:
        line += f' {day:%Y%m%d} "{text}"'
    elif roll < 0.2:
        line += f' {day:%Y%m%d} "" {rng.randint(1, 40)}.5'
    elif roll < 0.22:
        line += f' "" "{text}" "" "Anna Ek"'
    return line


def generate_lines(rows: int, *, seed: int = 1, first: date = date(2024, 1, 1)) -> list[str]:
    """About ``rows`` voucher rows (#TRANS/#RTRANS/#BTRANS) in balanced vouchers."""
    rng = random.Random(seed)
    lines = _header(first)
    accounts = [number for number, _ in ACCOUNTS]
    written = 0
    number = 0
    while written < rows:
        number += 1
        day = first + timedelta(days=rng.randrange(365))
        series = rng.choice("AABBCE")
        text = rng.choice(TEXTS).replace('"', '\\"')
        registered = (
            f" {day + timedelta(days=rng.randrange(5)):%Y%m%d}" if rng.random() < 0.5 else ""
        )
        lines.append(f'#VER {series} {number} {day:%Y%m%d} "{text}"{registered}')
        lines.append("{")
        indent = rng.choice(("", "   ", "\t"))
        legs = rng.randint(1, 4)
        total = 0
        for _ in range(legs):
            ore = rng.randint(-5_000_000, 5_000_000)
            total += ore
            account = rng.choice(accounts)
            if rng.random() < 0.01:
                # A row added after registration, with its TRANS twin (counted once).
                lines.append(_row(rng, "RTRANS", account, ore, day, indent))
                written += 1
            lines.append(_row(rng, "TRANS", account, ore, day, indent))
            written += 1
        if rng.random() < 0.01:
            lines.append(_row(rng, "BTRANS", rng.choice(accounts), 999, day, indent))
            written += 1
        lines.append(_row(rng, "TRANS", rng.choice(accounts), -total, day, indent))
        written += 1
        lines.append("}")
    return lines


def write_file(path: Path, rows: int, *, seed: int = 1) -> Path:
    """Write the file as CP437 with CRLF line ends, like most Windows exporters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\r\n".join(generate_lines(rows, seed=seed)) + "\r\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(text.encode("cp437"))
    tmp.replace(path)
    return path
