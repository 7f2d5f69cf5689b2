"""What the reader reports, and how severely: the file-level rules, as data.

The project's rule (docs/sie4.md): an error is what would make the figures
wrong or ambiguous; a departure from the text that does not change the figures
is a warning. Value rules (amounts, dates, accounts) are in ``validation``.

``LABEL_TABLE`` is SIE 4B section 6, "Obligatoriska och frivilliga poster i
SIE-filen": for each label, whether it is mandatory (M), optional (O) or not
allowed (-) in the file types 1, 2, 3, 4I and 4E, and what the reader does when
a mandatory label is missing or a label is present where it is not allowed.
None of these rows makes the figures wrong or ambiguous, so none is an error:

* a mandatory label that is missing is a warning on line 1, except the balance
  records (#IB, #UB, #RES, #OIB, #OUB, #PSALDO, #PBUDGET), which the text lets a
  file leave out when the balances are zero (5.17, 5.18: a new company has no
  #IB), and #DIM/#UNDERDIM/#OBJEKT in type 3, which need no declaration when the
  standard dimensions are used (the table's note): absence says nothing there;
* a label present where the table does not allow it is a warning on its first
  line, and the records are read as written;
* type 4 is "4E" when the file holds balance records and "4I" otherwise (#SIETYP
  says only "4"), so the table's "-" for balance records in 4I describes how the
  variant is told, never a finding; no #SIETYP means type 1 (section 7, #SIETYP),
  or 4 when the file has vouchers.

Elsewhere: an account on a voucher row that the file's chart does not declare
is tolerable (an error in strict mode) except in 4I, where the chart is optional
(the table's 4I column for #KONTO and the note under it): there a warning.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from include.sie4.records import Diagnostic

__all__ = [
    "BALANCE_LABELS",
    "BUDGET_LABELS",
    "FILE_TYPES",
    "LABEL_TABLE",
    "LabelRule",
    "Missing",
    "Presence",
    "file_type",
    "label_diagnostics",
    "sie_type_of",
    "undeclared_account_is_tolerable",
    "variant_of",
]

FILE_TYPES = ("1", "2", "3", "4I", "4E")
# The records that make a type 4 file an export (4E): 4I files may not hold them.
BALANCE_LABELS = frozenset({"#IB", "#UB", "#RES", "#OIB", "#OUB", "#PSALDO", "#PBUDGET"})
# Budgets are not the books: a bad budget row is a warning and is left out, in both
# modes. #BUDGET (a year budget some programs write) is not a SIE 4B label at all.
BUDGET_LABELS = frozenset({"#PBUDGET", "#BUDGET"})


class Presence(StrEnum):
    MANDATORY = "M"
    OPTIONAL = "O"
    NOT_ALLOWED = "-"


class Missing(StrEnum):
    """What the reader says about a mandatory label that is not in the file."""

    WARN = "warning on line 1"
    ZERO_BALANCES = "nothing: balance records may be left out when zero (4B 5.17)"
    STANDARD_DIMENSIONS = "nothing: standard dimensions need no declaration (4B section 6)"


@dataclass(frozen=True, slots=True)
class LabelRule:
    """One row of the table: the label's presence in the file types 1, 2, 3, 4I and 4E."""

    label: str
    presence: tuple[Presence, Presence, Presence, Presence, Presence]
    missing: Missing = Missing.WARN

    def in_type(self, kind: str) -> Presence:
        return self.presence[FILE_TYPES.index(kind)]


def _row(label: str, cells: str, missing: Missing = Missing.WARN) -> LabelRule:
    p = tuple(Presence(c) for c in cells.split())
    assert len(p) == 5, label
    return LabelRule(label, p, missing)


_ZERO = Missing.ZERO_BALANCES
# Columns: 1 2 3 4I 4E. Transcribed from the table in SIE_filformat_ver_4B_080930.pdf,
# pages 10-11 (the text version in sie4b.txt lost the symbols).
LABEL_TABLE: tuple[LabelRule, ...] = (
    # Identification
    _row("#FLAGGA", "M M M M M"),
    _row("#PROGRAM", "M M M M M"),
    _row("#FORMAT", "M M M M M"),
    _row("#GEN", "M M M M M"),
    _row("#SIETYP", "O M M M M"),
    _row("#PROSA", "O O O O O"),
    _row("#FTYP", "O O O O O"),
    _row("#FNR", "O O O O O"),
    _row("#ORGNR", "O O O O O"),
    _row("#BKOD", "O O O - O"),
    _row("#ADRESS", "O O O O O"),
    _row("#FNAMN", "M M M M M"),
    _row("#RAR", "M M M O M"),  # for the current year and, if there was one, the year before
    _row("#TAXAR", "O O O O O"),
    _row("#OMFATTN", "- M M - O"),
    _row("#KPTYP", "O O O O O"),
    _row("#VALUTA", "O O O O O"),
    # Chart of accounts
    _row("#KONTO", "M M M O M"),
    _row("#KTYP", "O O O O O"),
    _row("#ENHET", "O O O O O"),
    _row("#SRU", "M M O O O"),
    _row("#DIM", "- - M O O", Missing.STANDARD_DIMENSIONS),
    _row("#UNDERDIM", "- - M O O", Missing.STANDARD_DIMENSIONS),
    _row("#OBJEKT", "- - M O O", Missing.STANDARD_DIMENSIONS),
    # Balances and vouchers
    _row("#IB", "M M M - M", _ZERO),
    _row("#UB", "M M M - M", _ZERO),
    _row("#OIB", "- - M - O", _ZERO),
    _row("#OUB", "- - M - O", _ZERO),
    _row("#RES", "M M M - M", _ZERO),
    _row("#PSALDO", "- M M - O", _ZERO),
    _row("#PBUDGET", "- M M - O", _ZERO),
    _row("#VER", "- - - O O"),
    _row("#TRANS", "- - - O O"),
    _row("#RTRANS", "- - - O O"),
    _row("#BTRANS", "- - - O O"),
    # Checksum
    _row("#KSUMMA", "O O O O O"),
)


def sie_type_of(declared: int | None, labels: Collection[str]) -> int:
    """The file's type: ``#SIETYP``, else 1 (the text) or 4 when the file has vouchers."""
    if declared is not None:
        return declared
    return 4 if "#VER" in labels else 1


def variant_of(sie_type: int, labels: Collection[str]) -> str | None:
    """ "E" or "I" for type 4 (by its balance records), None for the other types."""
    if sie_type != 4:
        return None
    return "E" if any(label in labels for label in BALANCE_LABELS) else "I"


def file_type(declared: int | None, labels: Collection[str]) -> str:
    """The column of the table the file is read by: "1", "2", "3", "4I" or "4E"."""
    sie_type = sie_type_of(declared, labels)
    return f"{sie_type}{variant_of(sie_type, labels) or ''}"


def undeclared_account_is_tolerable(kind: str) -> bool:
    """An account on a row that the chart does not declare: tolerable, or (4I) a warning."""
    return kind != "4I"


def label_diagnostics(
    kind: str, counts: Mapping[str, int], first_lines: Mapping[str, int]
) -> list[Diagnostic]:
    """The table's findings for a file of type ``kind``: warnings, in table order.

    ``counts`` holds the labels the file has; ``first_lines`` the line of each one's
    first record.
    """
    name = f"SIE type {kind}"
    found: list[Diagnostic] = []
    for rule in LABEL_TABLE:
        presence = rule.in_type(kind)
        if presence is Presence.MANDATORY and rule.label not in counts:
            if rule.missing is Missing.WARN:
                found.append(Diagnostic(1, f"file has no {rule.label} record", "warning"))
        elif presence is Presence.NOT_ALLOWED and rule.label in counts:
            found.append(
                Diagnostic(
                    first_lines.get(rule.label, 1),
                    f"{rule.label} is not part of a {name} file (SIE 4B section 6); "
                    "read as written",
                    "warning",
                )
            )
    return found
