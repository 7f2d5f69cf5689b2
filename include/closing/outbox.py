"""The export outbox: the record that makes each approved voucher reach Fortnox exactly once.

One ``export_outbox`` row per distinct voucher of a partition, keyed by its idempotency key.
The key is derived from the voucher's content (company, fiscal year, reference, date,
description, rows, attachment hash), so the same voucher approved again shares its row and
is never sent twice, whatever approval sends it. The key goes into the Fortnox voucher's
``Comments`` (``closing-key: <key>``) and into the attachment's file name in the inbox, which
is how a send or an upload with an unknown outcome is found again.

Every change of a row is committed before the call to Fortnox it announces (``sending``
before ``POST /3/vouchers``, ``uploading`` before the upload, ``connecting`` before the
connection), as a compare-and-set on the state the writer read: a writer that lost the row to
another (which the export's per-partition lock should make impossible) stops instead of
sending.

States: voucher ``pending -> sending -> sent | failed``; attachment ``none`` (no attachment)
or ``pending -> uploading -> uploaded -> connecting -> connected | failed``; verification
``unverified -> verified | mismatch``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from include.closing.models import Attachment, ClosingVoucher, VoucherSet
from include.closing.store import now_utc
from include.warehouse import schema

ob = schema.export_outbox

KEY_VERSION = "ce1"
MAX_FILE_NAME = 160
# States in which the voucher may exist in Fortnox (sent, or sent with an unknown outcome).
MAYBE_IN_FORTNOX = ("sent", "sending")
FILE_WORK = ("pending", "uploading", "uploaded", "connecting")


class ExportRefused(RuntimeError):
    """The export must not send this approval; the message says why, for a person."""


class OutboxConflict(ExportRefused):
    """Fortnox already holds (or may hold) vouchers of this partition that the approved set
    does not contain: changed or removed after they were sent."""


class OutboxRace(RuntimeError):
    """Another writer changed an outbox row between our read and our write."""


def idempotency_key(voucher_set: VoucherSet, voucher: ClosingVoucher) -> str:
    """``ce1-<40 hex>``: SHA-256 of the partition and the voucher's canonical content."""
    text = json.dumps(
        {
            "company_key": voucher_set.company_key,
            "fiscal_year_start": voucher_set.fiscal_year_start.isoformat(),
            "voucher": voucher.canonical(),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"{KEY_VERSION}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:40]}"


def fortnox_file_name(key: str, attachment: Attachment) -> str:
    """The attachment's name in Fortnox's inbox: the key, then the original name made safe."""
    # Letters (å, ä, ö too), digits, '.', '-'; anything else becomes '_'.
    safe = re.sub(r"[^\w.-]+", "_", attachment.file_name).strip("_").lstrip(".") or "attachment"
    room = MAX_FILE_NAME - len(key) - 1
    if len(safe) > room:
        stem, dot, suffix = safe.rpartition(".")
        suffix = suffix[:12] if dot else ""
        safe = (stem if dot else safe)[: room - len(suffix) - 1] + (f".{suffix}" if dot else "")
    return f"{key}_{safe}"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of ``export_outbox`` as read (the compare-and-set compares against it)."""

    idempotency_key: str
    company_id: int
    fiscal_year_start: date
    approval_id: str
    reference: str
    position: int
    series: str
    voucher_date: date
    state: str
    attempts: int
    financial_year_id: int | None
    fortnox_series: str | None
    fortnox_number: int | None
    sent_at: datetime | None
    failure: str | None
    file_name: str | None
    file_sha256: str | None
    file_state: str
    upload_attempts: int
    connect_attempts: int
    fortnox_file_id: str | None
    file_failure: str | None
    verify_state: str
    verify_detail: str | None
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def fortnox_label(self) -> str:
        """``A 301`` once sent, else empty."""
        if self.fortnox_series is None or self.fortnox_number is None:
            return ""
        return f"{self.fortnox_series} {self.fortnox_number}"

    @property
    def has_file(self) -> bool:
        return self.file_state != "none"

    @property
    def finished(self) -> bool:
        """Nothing more this run can do: sent with its file done, or refused."""
        if self.state == "failed":
            return True
        return self.state == "sent" and self.file_state not in FILE_WORK

    @property
    def done(self) -> bool:
        """Sent, its file connected (if it has one), and read back unchanged from Fortnox."""
        return (
            self.state == "sent"
            and self.file_state in ("none", "connected")
            and self.verify_state == "verified"
        )


_FIELDS = tuple(f.name for f in dataclasses.fields(OutboxRow))
# What a writer must still see for its write to apply (everything that moves a state on).
_GUARDED = (
    "state",
    "attempts",
    "file_state",
    "upload_attempts",
    "connect_attempts",
    "verify_state",
)


def _row(values: Any) -> OutboxRow:
    data = {name: getattr(values, name) for name in _FIELDS}
    for name in ("sent_at", "verified_at", "created_at", "updated_at"):
        data[name] = _aware(data[name])
    return OutboxRow(**data)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Outbox:
    """Reads and writes ``export_outbox``; every write is its own committed transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def partition_rows(self, company_id: int, fiscal_year_start: date) -> list[OutboxRow]:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(ob)
                .where(ob.c.company_id == company_id, ob.c.fiscal_year_start == fiscal_year_start)
                .order_by(ob.c.position, ob.c.idempotency_key)
            ).all()
        return [_row(r) for r in found]

    def rows(self, keys: Sequence[str]) -> list[OutboxRow]:
        """The rows of ``keys``, in that order (missing keys are left out)."""
        if not keys:
            return []
        with self.engine.connect() as conn:
            found = {
                r.idempotency_key: _row(r)
                for r in conn.execute(sa.select(ob).where(ob.c.idempotency_key.in_(list(keys))))
            }
        return [found[k] for k in keys if k in found]

    def strays(self, voucher_set: VoucherSet) -> list[OutboxRow]:
        """Rows of the partition that the set does not contain and Fortnox holds or may hold:
        vouchers sent (or sent with an unknown outcome) under an earlier approval and changed
        or removed since."""
        mine = {idempotency_key(voucher_set, v) for v in voucher_set.vouchers}
        existing = self.partition_rows(voucher_set.company_id, voucher_set.fiscal_year_start)
        return [
            r for r in existing if r.idempotency_key not in mine and r.state in MAYBE_IN_FORTNOX
        ]

    def schedule(self, approval_id: str, voucher_set: VoucherSet) -> list[OutboxRow]:
        """The set's rows, creating those not there yet (state pending), in export order."""
        keys = [idempotency_key(voucher_set, v) for v in voucher_set.vouchers]
        have = {r.idempotency_key for r in self.rows(keys)}
        now = now_utc()
        new_rows = [
            _new_row(approval_id, voucher_set, voucher, key, position, now)
            for position, (voucher, key) in enumerate(
                zip(voucher_set.vouchers, keys, strict=True), start=1
            )
            if key not in have
        ]
        if new_rows:
            with self.engine.begin() as conn:
                conn.execute(ob.insert(), new_rows)
        return self.rows(keys)

    def save(self, row: OutboxRow, **changes: Any) -> OutboxRow:
        """Apply ``changes`` if the row is still as ``row`` says; commit; return the new row."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown outbox column(s): {sorted(unknown)}")
        values = {**changes, "updated_at": now_utc()}
        guard = [getattr(ob.c, name) == getattr(row, name) for name in _GUARDED]
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(ob)
                .where(ob.c.idempotency_key == row.idempotency_key, *guard)
                .values(**values)
            )
            if result.rowcount != 1:
                raise OutboxRace(
                    f"voucher {row.reference} ({row.idempotency_key}) was changed by another "
                    "exporter meanwhile; stopping without sending"
                )
        return dataclasses.replace(row, **values)

    def retry_failed(self, rows: Iterable[OutboxRow]) -> list[OutboxRow]:
        """Put refused vouchers and attachments back to pending (Fortnox holds none of them)."""
        out = []
        for row in rows:
            if row.state == "failed":
                row = self.save(row, state="pending", failure=None)
            if row.file_state == "failed":
                back = "uploaded" if row.fortnox_file_id else "pending"
                row = self.save(row, file_state=back, file_failure=None)
            if row.verify_state == "mismatch":
                row = self.save(row, verify_state="unverified", verify_detail=None)
            out.append(row)
        return out


def _new_row(
    approval_id: str,
    voucher_set: VoucherSet,
    voucher: ClosingVoucher,
    key: str,
    position: int,
    now: datetime,
) -> dict[str, Any]:
    attachment = voucher.attachment
    return {
        "idempotency_key": key,
        "company_id": voucher_set.company_id,
        "fiscal_year_start": voucher_set.fiscal_year_start,
        "approval_id": approval_id,
        "reference": voucher.reference,
        "position": position,
        "series": voucher.series,
        "voucher_date": voucher.voucher_date,
        "state": "pending",
        "attempts": 0,
        "file_name": fortnox_file_name(key, attachment) if attachment else None,
        "file_sha256": attachment.sha256 if attachment else None,
        "file_state": "pending" if attachment else "none",
        "upload_attempts": 0,
        "connect_attempts": 0,
        "verify_state": "unverified",
        "created_at": now,
        "updated_at": now,
    }


def conflict(voucher_set: VoucherSet, rows: Sequence[OutboxRow]) -> OutboxConflict:
    """The refusal for vouchers in Fortnox that the approved set no longer contains."""
    listed = "; ".join(
        f"{r.reference} (Fortnox {r.fortnox_label}, approval {r.approval_id})" for r in rows
    )
    return OutboxConflict(
        f"company {voucher_set.company_key}, fiscal year {voucher_set.fiscal_year_start}: "
        f"Fortnox already holds {len(rows)} closing voucher(s) of this partition that the "
        f"approved set does not contain as sent: {listed}. A voucher cannot be changed or "
        "removed in Fortnox: keep the sent vouchers in the set as they were and book each "
        "correction as a new voucher (for example a reversing one)"
    )
