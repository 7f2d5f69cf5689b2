"""Seeded random damage: read_sie either raises SieError or returns, nothing else."""

from __future__ import annotations

import random

import pytest
from _sie4_testkit import CORPUS_DIR, FIXTURES

from include.sie4.errors import SieError
from include.sie4.reader import read_sie

JUNK = [
    b"garbage here",
    b"#TRANS 1930 {} 1",
    b"{",
    b"}",
    b'"',
    b"#VER",
    b"#KSUMMA",
    b"\x00",
    b"{1 2",
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        op = rng.randrange(7)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: rng.randrange(len(lines[-1]) + 1)]
        elif op == 3 and lines[i]:
            b = bytearray(lines[i])
            b[rng.randrange(len(b))] = rng.randrange(256)
            lines[i] = bytes(b)
        elif op == 4:
            lines.insert(i, rng.choice(JUNK))
        elif op == 5:
            lines[i] = lines[i].replace(b".", rng.choice([b",", b"..", b".999", b""]), 1)
        else:
            lines[i] = lines[i].replace(b"20", rng.choice([b"", b"2O", b"-20", b"99"]), 1)
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


def sources() -> list[bytes]:
    files = sorted(FIXTURES.glob("*.se"))
    if CORPUS_DIR.is_dir():
        picks = [
            "idstam__jsisie__BL0001_typ4.SE",
            "byrokrat__accounting__SIE3.se",
            "blinfo__Sie4j__BLBLOV_SIE4_UTF_8_1.SE",
            "idstam__jsisie__Sie4.se",
        ]
        files += [CORPUS_DIR / p for p in picks if (CORPUS_DIR / p).is_file()]
    return [f.read_bytes() for f in files]


@pytest.mark.parametrize("seed", range(4))
def test_damage_gives_sie_error_or_a_document(seed: int) -> None:
    rng = random.Random(seed)
    for data in sources():
        for _ in range(10):
            damaged = mutate(data, rng)
            for lenient in (False, True):
                try:
                    read_sie(damaged, lenient=lenient)
                except SieError as exc:
                    assert exc.errors and all(e.line >= 0 for e in exc.errors)
