"""Voucher lines that sit on the edges of the fast paths' grammars (bulk and inspect).

Each fast path must agree exactly with the record path on every one of them;
the valid ones must not even fall back.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def _load_generator() -> ModuleType:
    """bench/bench_parse_gen.py: the benchmark's file generator (stdlib only)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_parse_gen.py"
    spec = importlib.util.spec_from_file_location("bench_parse_gen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate_lines = _load_generator().generate_lines

HEADER = """#FLAGGA 0
#PROGRAM "Test" 1.0
#FORMAT PC8
#GEN 20250101
#SIETYP 4
#FNAMN "Bulk AB"
#RAR 0 20240101 20241231
#KONTO 1930 "Företagskonto"
#KONTO 3001 "Försäljning"
#KONTO 2611 "Utgående moms"
"""


def voucher(*rows: str, head: str = "#VER A 1 20240105") -> str:
    return head + "\n{\n" + "\n".join(rows) + "\n}\n"


# Valid rows (pairs that balance) the fast paths read without falling back.
AWKWARD_ROWS = [
    # Escaped quotes, backslashes, braces and '#' inside texts; tabs as separators.
    ('#TRANS 1930 {} 5 20240105 "a \\"b\\" {c} #d"', '#TRANS 3001 {} -5 "" "C:\\x\\y"'),
    ('#TRANS\t1930\t{\t"1"\t"a b"\t}\t5', "#TRANS 3001 {} -5.00"),
    ('#TRANS 1930 {"1" "x \\"y\\""} 5 "" "" 1.12345678 "Bo"', "#TRANS 3001 {} -5"),
    ('#TRANS "1930" {} "5.5" "20240229" "t"', '#TRANS 3001 { } -5.50 "" "" -0.5'),
    ("#TRANS 1930 {} 0.1", "#TRANS 3001 {} -0.10", "#BTRANS 2611 {} 7"),
    ("#RTRANS 1930 {} 5", "#TRANS 1930 {} 5", "#TRANS 3001 {} -5"),
    ("#RTRANS 1930 {} 5", "#TRANS 2611 {} 6", "#TRANS 3001 {} -5"),  # twin differs
    ("#TRANS 1930 {} 1234567890123456.99", "#TRANS 3001 {} -1234567890123456.99"),
]

# Rows the record path reports on (or reads in ways only it can vouch for).
IRREGULAR_ROWS = [
    '#TRANS 1930 {} 5 ab"c"',  # a quote inside a bare word
    '#TRANS 1930 {} 5 "a"b',  # text glued to a quoted string
    '#TRANS 1930 {} 5 a\\"b',  # an escaped quote outside a string
    "#TRANS 1930 {1 {2}} 5",  # nested braces
    "#TRANS 1930 {} 5 {}",  # an object list where a value belongs
    "#TRANS 1930{} 5",  # a list glued to the account
    "#TRANS 1930 {} 5 20240105 x 123456789012.5",  # a quantity too big for int64
    "#TRANS 1930 {} 5 20240105 x 1.123456789",  # nine decimals
    "#TRANS 1930 {} 5 2024010",  # a short date
    "#TRANS 1930 {} 5 00000101",  # year 0
    "#TRANS 1930 {} 5 20230229",  # not a leap year
    "#TRANS 1930 {} .5",
    "#TRANS 1930 {} 5.",
    "#TRANS 1930 {} -",
    "#TRANS 1930 {} 1.2.3",
    "#TRANS 1234567 {} 5",
    "#TRANS 19a0 {} 5",
    '#TRANS "" {} 5',
    "#TRANS 1930 {} 5 a b c d e",  # extra fields: a warning
    "#TRANS 1930 {} 5 \x01",  # a control character
    "#TRANS 1930 {1} 5",
    "#TRANS 1930 5",
]

VOUCHER_HEADS = [
    '#VER A 1 20240105 "t" 20240106 "sig"',
    '#VER "" "" "20240105"',
    "#VER A 1 20240105 t 2024010",
    "#VER A 1 2024-01-05",
    "#VER A 1",
    "#VER A 1 20240105 a b c d",
]

# Broken block structure.
STRUCTURES = (
    HEADER + "#VER A 1 20240105\n#TRANS 1930 {} 5\n}\n",
    HEADER + "#VER A 1 20240105\n{\n#TRANS 1930 {} 5\n",
    HEADER + "{\n#TRANS 1930 {} 5\n}\n",
    HEADER + "#TRANS 1930 {} 5\n",
    HEADER + "#TRANS 1930 {} 5\n}\n",  # a row and '}' outside any voucher
    HEADER + voucher("#TRANS 1930 {} 5", "#TRANS 3001 {} -5") + "#TRANS 1930 {} 5\n}\n",
    HEADER + voucher("#TRANS 1930 {} 5", "#KONTO 1 x", "#TRANS 3001 {} -5"),
    HEADER + voucher("#TRANS 1930 {} 5", "#TRANS 3001 {} -5") + "#KONTO 4000 late\n",
)

ALPHABET = (
    "1930",
    "3001",
    "{}",
    '{1 "a b"}',
    "{ }",
    "5",
    "-5.5",
    "0.01",
    '""',
    '"x y"',
    '"q\\"q"',
    "20240105",
    "20240230",
    "1.5",
    "a\\b",
    "{",
    "}",
    '"',
    "x",
)
