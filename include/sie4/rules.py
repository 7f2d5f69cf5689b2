"""What the reader reports, and how severely: the file-level rules.

The project's rule (docs/sie4.md): an error is what would make the figures
wrong or ambiguous; a departure from the text that does not change the figures
is a warning. Value rules (amounts, dates, accounts) are in ``validation``.
"""

from __future__ import annotations

__all__ = ["BALANCE_LABELS", "MANDATORY_LABELS"]

MANDATORY_LABELS = ("#FLAGGA", "#PROGRAM", "#FORMAT", "#GEN", "#SIETYP", "#FNAMN")
BALANCE_LABELS = frozenset({"#IB", "#UB", "#RES", "#OIB", "#OUB", "#PSALDO", "#PBUDGET"})
