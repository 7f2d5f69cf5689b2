"""The closing's voucher set: what a person approves and the export sends, as frozen dataclasses.

A :class:`VoucherSet` is every voucher accepted for one (company, fiscal year) partition:
the accountants' adjustments (CSV import) and the accepted proposals, each with its rows and
its optional attachment. :meth:`VoucherSet.checksum` is the approval's fingerprint: SHA-256
over a canonical serialisation of every field, the attachments' bytes included, so the export
can prove it sends exactly what was approved.

The checksum is stable across processes and databases: amounts are exact decimals written as
strings with two places, dates ISO, texts as stored. The company enters it by its
``company_key`` (the org number when there is one), never by ``company_id``, which is a
database's own serial number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

Origin = Literal["adjustment", "proposal"]
VoucherKind = Literal["adjustment", "tax_allocation_reserve", "income_tax", "result_transfer"]

ORIGINS: tuple[Origin, ...] = ("adjustment", "proposal")
KINDS: tuple[VoucherKind, ...] = (
    "adjustment",
    "tax_allocation_reserve",
    "income_tax",
    "result_transfer",
)
CENT = Decimal("0.01")
CHECKSUM_VERSION = "closing-voucher-set/1"

# Fortnox's limits (FORTNOX-API.md, OpenAPI: Voucher, VoucherRow).
MAX_DESCRIPTION = 200
MAX_ROW_TEXT = 100
MAX_COMMENTS = 1000
MAX_SERIES = 10
MAX_OBJECT_ID = 10  # cost centre and project codes


def money_text(amount: Decimal) -> str:
    """The canonical text of an amount: exactly two decimals, e.g. ``"1250.00"``."""
    return format(amount.quantize(CENT), "f")


def _exact(amount: object, what: str) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"{what} must be a Decimal, not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite() or value != value.quantize(CENT):
        raise ValueError(f"{what} {value} is not an amount with at most two decimals")
    return value.quantize(CENT)


@dataclass(frozen=True, slots=True)
class ClosingRow:
    """One row of a closing voucher; exactly one of ``debit`` and ``credit`` is non-zero."""

    account: str
    debit: Decimal
    credit: Decimal
    text: str = ""
    cost_centre: str = ""
    project: str = ""

    def __post_init__(self) -> None:
        debit = _exact(self.debit, "debit")
        credit = _exact(self.credit, "credit")
        if debit < 0 or credit < 0:
            raise ValueError(f"account {self.account}: debit and credit must not be negative")
        if (debit == 0) == (credit == 0):
            raise ValueError(f"account {self.account}: exactly one of debit and credit is non-zero")
        object.__setattr__(self, "debit", debit)
        object.__setattr__(self, "credit", credit)

    @property
    def amount(self) -> Decimal:
        """Signed amount in the books' convention: debit positive, credit negative."""
        return self.debit - self.credit

    def canonical(self) -> dict[str, str]:
        return {
            "account": self.account,
            "debit": money_text(self.debit),
            "credit": money_text(self.credit),
            "text": self.text,
            "cost_centre": self.cost_centre,
            "project": self.project,
        }


@dataclass(frozen=True, slots=True)
class Attachment:
    """A supporting document ("underlag") of a voucher; ``repr`` leaves the bytes out."""

    file_name: str
    media_type: str
    content: bytes = field(repr=False)
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        # Always derived from the bytes, so a stored hash can never disagree with the content.
        object.__setattr__(self, "sha256", hashlib.sha256(self.content).hexdigest())

    @property
    def size(self) -> int:
        return len(self.content)

    def canonical(self) -> dict[str, object]:
        return {
            "file_name": self.file_name,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class ClosingVoucher:
    """One voucher; ``reference`` is unique in its set (e.g. ``ADJ-1``, ``PROPOSAL-TAX``)."""

    reference: str
    origin: Origin
    kind: VoucherKind
    series: str
    voucher_date: date
    description: str
    rows: tuple[ClosingRow, ...]
    attachment: Attachment | None = None

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"voucher {self.reference}: unknown origin {self.origin!r}")
        if self.kind not in KINDS:
            raise ValueError(f"voucher {self.reference}: unknown kind {self.kind!r}")
        if (self.kind == "adjustment") != (self.origin == "adjustment"):
            raise ValueError(f"voucher {self.reference}: kind {self.kind} of origin {self.origin}")
        object.__setattr__(self, "rows", tuple(self.rows))

    @property
    def total_debit(self) -> Decimal:
        return sum((r.debit for r in self.rows), Decimal("0.00"))

    @property
    def total_credit(self) -> Decimal:
        return sum((r.credit for r in self.rows), Decimal("0.00"))

    @property
    def difference(self) -> Decimal:
        """Debit minus credit; zero for a balanced voucher."""
        return self.total_debit - self.total_credit

    def checksum(self) -> str:
        """SHA-256 of this voucher alone (every field and the attachment's bytes)."""
        digest = hashlib.sha256()
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False)
        digest.update(text.encode("utf-8"))
        if self.attachment is not None:
            digest.update(len(self.attachment.content).to_bytes(8, "big"))
            digest.update(self.attachment.content)
        return digest.hexdigest()

    def canonical(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "origin": self.origin,
            "kind": self.kind,
            "series": self.series,
            "voucher_date": self.voucher_date.isoformat(),
            "description": self.description,
            "rows": [r.canonical() for r in self.rows],
            "attachment": self.attachment.canonical() if self.attachment else None,
        }


@dataclass(frozen=True, slots=True)
class VoucherSet:
    """Every accepted voucher of one partition, in export order."""

    company_id: int
    company_key: str
    fiscal_year_start: date
    vouchers: tuple[ClosingVoucher, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "vouchers", tuple(self.vouchers))
        seen: set[str] = set()
        for voucher in self.vouchers:
            if voucher.reference in seen:
                raise ValueError(f"voucher reference {voucher.reference} occurs twice in the set")
            seen.add(voucher.reference)

    def __len__(self) -> int:
        return len(self.vouchers)

    def voucher(self, reference: str) -> ClosingVoucher:
        for voucher in self.vouchers:
            if voucher.reference == reference:
                return voucher
        raise KeyError(reference)

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(v.attachment for v in self.vouchers if v.attachment is not None)

    def canonical(self) -> dict[str, object]:
        """Every field except the attachments' bytes (which :meth:`checksum` adds)."""
        return {
            "version": CHECKSUM_VERSION,
            "company_key": self.company_key,
            "fiscal_year_start": self.fiscal_year_start.isoformat(),
            "vouchers": [v.canonical() for v in self.vouchers],
        }

    def checksum(self) -> str:
        """SHA-256 (hex) over the canonical JSON, then every attachment's bytes, length-prefixed."""
        digest = hashlib.sha256()
        text = json.dumps(
            self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        digest.update(text.encode("utf-8"))
        for voucher in self.vouchers:
            if voucher.attachment is not None:
                content = voucher.attachment.content
                digest.update(b"\n" + voucher.reference.encode("utf-8") + b"\n")
                digest.update(len(content).to_bytes(8, "big"))
                digest.update(content)
        return digest.hexdigest()

    def snapshot_json(self) -> str:
        """What was approved, for the approval record (attachments by name, size and SHA-256)."""
        return json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, indent=1)
