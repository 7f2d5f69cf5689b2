"""#KSUMMA: CRC-32 per the spec, truncation, mismatch; verified on real files."""

from __future__ import annotations

import zlib

import pytest
from _sie4_testkit import CORPUS_DIR

from include.sie4.checksum import check_ksumma
from include.sie4.reader import decode_sie_bytes
from include.sie4.records import KsummaStatus

BODY = ['#PROGRAM "Test prog" 1.0', '#FNAMN "Say \\"hi\\""', '#TRANS 1930 {1 "A B"} 5.00']
# Label plus each field's content, no separators/quotes/braces; \" counts as ".
CRC = zlib.crc32('#PROGRAMTest prog1.0#FNAMNSay "hi"#TRANS19301A B5.00'.encode("cp437"))


def test_ok_mismatch_absent() -> None:
    lines = ["#FLAGGA 0", "#KSUMMA", *BODY, f"#KSUMMA {CRC}"]
    assert check_ksumma(lines) == (KsummaStatus.OK, [])
    status, diags = check_ksumma([*lines[:-1], f"#KSUMMA {CRC + 1}"])
    assert status is KsummaStatus.MISMATCH and diags[0].line == 6
    assert check_ksumma(BODY) == (KsummaStatus.ABSENT, [])


def test_opening_without_closing_is_truncation() -> None:
    status, diags = check_ksumma(["#FLAGGA 0", "#KSUMMA", *BODY])
    assert status is KsummaStatus.MISMATCH
    assert diags[0].line == 2 and "truncated" in diags[0].message


def test_closing_without_opening() -> None:
    status, diags = check_ksumma([*BODY, "#KSUMMA 1"])
    assert status is KsummaStatus.MISMATCH and diags[0].line == 4


# Corpus files whose checksum we verify; the iCalcreator one holds a placeholder.
# wilhelmuggla's Sie4I1ksumma verifies over the CP437 text although its bytes
# were later converted to UTF-8 (the manifest, computing over UTF-8, says mismatch).
KSUMMA_FILES = {
    "byrokrat__accounting__SIE3.se": KsummaStatus.OK,
    "idstam__jsisie__Norstedts_Bokslut_SIE_1.se": KsummaStatus.OK,
    "idstam__jsisie__Norstedts_Bokslut_SIE_4I.si": KsummaStatus.OK,
    "idstam__jsisie__Norstedts_Revision_SIE_1.SE": KsummaStatus.OK,
    "idstam__jsisie__Sie1.se": KsummaStatus.OK,
    "wilhelmuggla__sie4sdk__Sie4I1ksumma.SI": KsummaStatus.OK,
    "iCalcreator__sie4ito5__Sie4I1ksumma.SI": KsummaStatus.MISMATCH,
}


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason="../shared/sie-corpus is absent")
@pytest.mark.parametrize(("name", "status"), sorted(KSUMMA_FILES.items()))
def test_corpus_checksums(name: str, status: KsummaStatus) -> None:
    text, _, _ = decode_sie_bytes((CORPUS_DIR / name).read_bytes())
    assert check_ksumma(text.split("\n"))[0] is status
