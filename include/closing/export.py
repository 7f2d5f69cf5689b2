"""Export an approved closing to Fortnox, exactly once: vouchers, attachments, verification.

    from include.closing.export import export_approval
    report = export_approval(warehouse_url, approval_id, session.client)  # FortnoxSession
    print(report.text())        # a line per voucher
    report.ok                   # every voucher sent, its file connected, read back unchanged

What one run does, under the partition's export lock (:mod:`include.closing.export_lock`):

1. Refuses an approval that is a rejection or whose voucher set no longer has the approved
   checksum (:func:`~include.closing.approval.approved_voucher_set`), a company without a
   Fortnox tenant, and a partition where Fortnox holds vouchers the set no longer contains
   (:class:`~include.closing.outbox.OutboxConflict`).
2. Gives every voucher its outbox row (:mod:`include.closing.outbox`); a voucher already in
   Fortnox and verified is left alone, so a finished export rerun makes no call at all.
3. Rounds until nothing is left to do (at most ``max_rounds``, with back-off between them):
   every row found ``sending`` (a crash, a kill, a lost answer, a redelivered task) is looked
   up in Fortnox by its key (``find_vouchers``: series, date, year, the key in ``Comments``)
   and becomes ``sent`` or ``pending`` again; only then is a ``pending`` voucher sent. The
   same for the attachment: an ``uploading`` file is looked up in the inbox by its unique
   name, a ``connecting`` one by ``GET /3/voucherfileconnections/{FileId}``.
   A 4xx refusal fails the voucher (or file) without retry; 429 waits ``Retry-After`` and
   tries again (Fortnox did nothing); a 5xx, a timeout or a dropped connection is an
   unknown outcome, resolved by the lookup in the next round.
4. Reads every sent voucher back: exactly one voucher in Fortnox carries its key; its date,
   text and rows (accounts, amounts, objects, texts) are the approved ones; the file is
   connected to it and its bytes have the attachment's SHA-256; no second upload of it is
   left in the inbox.
5. Ends with a report per voucher (:class:`ExportReport`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa

from include.closing.approval import approved_voucher_set, get_approval
from include.closing.export_lock import DEFAULT_WAIT, ExportBusy, partition_lock
from include.closing.fortnox_body import fortnox_voucher_body, idempotency_key_in
from include.closing.models import CENT, ClosingVoucher, VoucherSet
from include.closing.outbox import (
    FILE_WORK,
    ExportRefused,
    Outbox,
    OutboxRace,
    OutboxRow,
    conflict,
    idempotency_key,
)
from include.closing.store import now_utc
from include.fortnox.client import FortnoxClient, Page
from include.fortnox.errors import (
    FortnoxApiError,
    FortnoxConnectionError,
    MissingFinancialYear,
    NotConnected,
    OAuthError,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    TokenKeyError,
)
from include.fortnox.models import FortnoxError, ReconnectRequired
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

__all__ = [
    "ExportBusy",
    "ExportRefused",
    "ExportReport",
    "ExportSettings",
    "VoucherReport",
    "compare_voucher",
    "export_approval",
    "fortnox_tenant",
]

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], FortnoxClient]
Outcome = Literal["ok", "refused", "unknown", "not_sent"]

# Raised before anything reached Fortnox: the step did not happen.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    FortnoxConnectionError,
    ReconnectRequired,
    NotConnected,
    TokenKeyError,
    OAuthError,
    MissingFinancialYear,
)
# Errors after which the same run again later may well succeed.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    FortnoxConnectionError,
    ServerError,
    RateLimited,
    OutcomeUnknown,
    OutboxRace,
    ExportBusy,
)


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """How hard one run tries before it reports what is left (the next run resumes)."""

    max_rounds: int = 12
    base_delay: float = 1.0  # back-off between rounds: full jitter, doubling
    max_delay: float = 30.0
    max_rate_limited_waits: int = 20  # per step: 429 answers waited out
    max_retry_after: float = 120.0
    lock_wait: timedelta = DEFAULT_WAIT

    def delay(self, round_number: int, rng: Callable[[], float]) -> float:
        return rng() * min(self.max_delay, self.base_delay * 2 ** (round_number - 1))


@dataclass(frozen=True, slots=True)
class VoucherReport:
    """One voucher's line of the report."""

    reference: str
    idempotency_key: str
    state: str
    fortnox_series: str | None
    fortnox_number: int | None
    financial_year_id: int | None
    file_state: str
    file_id: str | None
    verify_state: str
    detail: str
    sent_now: bool

    @property
    def ok(self) -> bool:
        return (
            self.state == "sent"
            and self.file_state in ("none", "connected")
            and self.verify_state == "verified"
        )

    @property
    def fortnox_label(self) -> str:
        if self.fortnox_series is None or self.fortnox_number is None:
            return ""
        return f"{self.fortnox_series} {self.fortnox_number}"

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "series": self.fortnox_series,
            "number": self.fortnox_number,
            "financial_year_id": self.financial_year_id,
            "file_state": self.file_state,
            "file_id": self.file_id,
            "verified": self.verify_state == "verified",
            "verify_state": self.verify_state,
            "detail": self.detail,
            "sent_in_this_run": self.sent_now,
            "ok": self.ok,
        }

    def line(self, width: int) -> str:
        parts = [f"{self.reference:<{width}}", f"{self.state:<7}"]
        parts.append(f"{self.fortnox_label:<10}" if self.fortnox_label else " " * 10)
        if self.file_state != "none":
            file_id = f" {self.file_id[:8]}…" if self.file_id else ""
            parts.append(f"file {self.file_state}{file_id}")
        parts.append(self.verify_state)
        if self.detail:
            parts.append(f"({self.detail})")
        return "  ".join(parts)


@dataclass(frozen=True, slots=True)
class ExportReport:
    approval_id: str
    company_key: str
    fiscal_year_start: date
    tenant_id: str
    vouchers: tuple[VoucherReport, ...]
    error: str | None = None
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and all(v.ok for v in self.vouchers)

    @property
    def sent_now(self) -> int:
        return sum(v.sent_now for v in self.vouchers)

    @property
    def should_retry(self) -> bool:
        """Not done, but only for reasons another run may overcome (no refusal, no mismatch)."""
        if self.ok:
            return False
        if self.error is not None:
            return self.retryable
        return not any(v.state == "failed" or v.verify_state == "mismatch" for v in self.vouchers)

    def to_json(self) -> dict[str, Any]:
        return {
            "approval_id": self.approval_id,
            "company": self.company_key,
            "fiscal_year_start": self.fiscal_year_start.isoformat(),
            "fortnox_tenant": self.tenant_id,
            "ok": self.ok,
            "sent_in_this_run": self.sent_now,
            "error": self.error,
            "vouchers": [v.to_json() for v in self.vouchers],
        }

    def text(self) -> str:
        width = max([len(v.reference) for v in self.vouchers] + [9])
        done = sum(v.ok for v in self.vouchers)
        lines = [
            f"Export of approval {self.approval_id}: company {self.company_key}, fiscal year "
            f"{self.fiscal_year_start}, Fortnox tenant {self.tenant_id}",
            *(f"  {v.line(width)}" for v in self.vouchers),
            f"{done} of {len(self.vouchers)} vouchers sent and verified; "
            f"{self.sent_now} sent in this run.",
        ]
        if self.error:
            lines.append(f"Stopped: {self.error}")
        return "\n".join(lines)


def fortnox_tenant(conn: sa.Connection, company_id: int) -> tuple[str, str]:
    """(company key, Fortnox tenant id) of a warehouse company."""
    c = schema.company
    row = conn.execute(
        sa.select(c.c.company_key, c.c.name, c.c.fortnox_tenant_id).where(
            c.c.company_id == company_id
        )
    ).first()
    if row is None:
        raise ExportRefused(f"no company {company_id} in the warehouse")
    if not row.fortnox_tenant_id:
        raise ExportRefused(
            f"company {row.company_key} ({row.name}) has no Fortnox tenant: its books were "
            "not loaded from Fortnox, so there is no Fortnox company to export to"
        )
    return str(row.company_key), str(row.fortnox_tenant_id)


def export_approval(
    warehouse: EngineLike,
    approval_id: str,
    clients: ClientFactory,
    *,
    settings: ExportSettings | None = None,
    say: Callable[[str], None] | None = None,
    retry_failed: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> ExportReport:
    """Send the approval's vouchers and attachments to Fortnox exactly once; read them back.

    ``clients(tenant_id)`` gives a :class:`FortnoxClient` (``FortnoxSession.client``).
    ``retry_failed`` puts vouchers and files Fortnox refused back to pending first.
    Refusals raise (:class:`~include.closing.approval.ApprovalError`, :class:`ExportRefused`);
    Fortnox trouble ends the run with a report (``error``, ``should_retry``).
    """
    settings = settings or ExportSettings()
    engine, owned = engine_for(warehouse)
    try:
        approved_voucher_set(engine, approval_id)  # refuse early, before waiting for the lock
        approval = get_approval(engine, approval_id)
        with engine.connect() as conn:
            _, tenant = fortnox_tenant(conn, approval.company_id)
        lock = partition_lock(
            engine, approval.company_id, approval.fiscal_year_start, wait=settings.lock_wait
        )
        with lock:
            voucher_set = approved_voucher_set(engine, approval_id)  # again, under the lock
            run = _ExportRun(
                Outbox(engine),
                approval_id,
                voucher_set,
                tenant,
                settings,
                say or log.info,
                sleep,
                rng,
            )
            return run.execute(clients, retry_failed=retry_failed)
    finally:
        if owned:
            engine.dispose()


class _ExportRun:
    def __init__(
        self,
        outbox: Outbox,
        approval_id: str,
        voucher_set: VoucherSet,
        tenant: str,
        settings: ExportSettings,
        say: Callable[[str], None],
        sleep: Callable[[float], None],
        rng: Callable[[], float],
    ) -> None:
        self.outbox = outbox
        self.approval_id = approval_id
        self.voucher_set = voucher_set
        self.tenant = tenant
        self.settings = settings
        self.say = say
        self.sleep = sleep
        self.rng = rng
        self.vouchers = {idempotency_key(voucher_set, v): v for v in voucher_set.vouchers}
        self.rows: dict[str, OutboxRow] = {}
        self.sent_now: set[str] = set()  # created in Fortnox by this run's own POSTs
        self.posted: set[str] = set()  # POSTed in this run (outcome known or not)
        self._client: FortnoxClient | None = None
        self._financial_year: int | None = None

    # -- the run ------------------------------------------------------------------------------

    def execute(self, clients: ClientFactory, *, retry_failed: bool) -> ExportReport:
        strays = self.outbox.strays(self.voucher_set)
        sent_strays = [r for r in strays if r.state == "sent"]
        if sent_strays:
            raise conflict(self.voucher_set, sent_strays)
        rows = self.outbox.schedule(self.approval_id, self.voucher_set)
        if retry_failed:
            rows = self.outbox.retry_failed(rows)
        self.rows = {r.idempotency_key: r for r in rows}
        unknown_strays = [r for r in strays if r.state == "sending"]
        if all(r.done for r in rows) and not unknown_strays:
            self.say("nothing to send: every voucher of this approval is in Fortnox and verified")
            return self.report()
        try:
            with clients(self.tenant) as client:
                self._client = client
                self._financial_year = self._resolve_financial_year()
                if unknown_strays:
                    found = [r for r in self._resolve_sending(unknown_strays) if r.state == "sent"]
                    if found:
                        raise conflict(self.voucher_set, found)
                self._send_all()
                self._verify_all()
        except (FortnoxError, OutboxRace) as exc:
            self.say(f"export stopped: {exc}")
            return self.report(error=str(exc), retryable=isinstance(exc, TRANSIENT_ERRORS))
        finally:
            self._client = None
        return self.report()

    @property
    def client(self) -> FortnoxClient:
        assert self._client is not None
        return self._client

    @property
    def financial_year(self) -> int:
        assert self._financial_year is not None
        return self._financial_year

    def _resolve_financial_year(self) -> int:
        start = self.voucher_set.fiscal_year_start
        years = self.client.financial_years(date=start).items
        found = [y for y in years if str(y.get("FromDate")) == start.isoformat()]
        if not found:
            raise ExportRefused(
                f"Fortnox tenant {self.tenant} has no financial year starting {start}: "
                "create it in Fortnox (or load the right year's books) before exporting"
            )
        return int(found[0]["Id"])

    def _send_all(self) -> None:
        for round_number in range(1, self.settings.max_rounds + 1):
            self._resolve_unknowns(first=round_number == 1)
            for key in list(self.rows):
                row = self.rows[key]
                if row.state == "pending":
                    row = self._send_voucher(row)
                if row.state == "sent" and row.file_state == "pending":
                    row = self._upload(row)
                if row.state == "sent" and row.file_state == "uploaded":
                    row = self._connect(row)
            if all(r.finished for r in self.rows.values()):
                return
            if round_number < self.settings.max_rounds:
                wait = self.settings.delay(round_number, self.rng)
                self.say(f"round {round_number}: some outcomes unknown; next round in {wait:.1f} s")
                self.sleep(wait)
        self._resolve_unknowns()  # what the last round left unknown, before reporting

    def _resolve_unknowns(self, *, first: bool = False) -> None:
        # Round 1 also looks up the vouchers never sent by this outbox, in the same listing:
        # one restored from a backup, or another warehouse, may have sent them already.
        states = ("sending", "pending") if first else ("sending",)
        todo = [r for r in self.rows.values() if r.state in states]
        if todo:
            adopted = [
                r
                for before, r in zip(todo, self._resolve_sending(todo), strict=True)
                if before.state == "pending" and r.state == "sent"
            ]
            if any(r.file_state == "pending" for r in adopted):
                self._adopt_connected_files(adopted)
        uploading = [r for r in self.rows.values() if r.file_state == "uploading"]
        if uploading:
            self._resolve_uploading(uploading)
        for row in [r for r in self.rows.values() if r.file_state == "connecting"]:
            self._resolve_connecting(row)

    def _keep(self, row: OutboxRow) -> OutboxRow:
        if row.idempotency_key in self.rows:
            self.rows[row.idempotency_key] = row
        return row

    def _save(self, row: OutboxRow, **changes: Any) -> OutboxRow:
        return self._keep(self.outbox.save(row, **changes))

    def _name(self, row: OutboxRow) -> str:
        return f"{row.reference} [{row.idempotency_key}]"

    # -- one POST, whatever it creates ---------------------------------------------------------

    def _attempt(
        self,
        row: OutboxRow,
        announce: Callable[[OutboxRow], dict[str, Any]],
        revert: dict[str, Any],
        call: Callable[[], Page],
    ) -> tuple[OutboxRow, Outcome, Page | Exception]:
        """Commit ``announce`` (the row now says the call may have happened), then call.

        Reverts the row when the call certainly did not reach Fortnox; leaves it announced
        when the outcome is unknown (the next round looks it up).
        """
        waits = 0
        while True:
            row = self._save(row, **announce(row))
            try:
                return row, "ok", call()
            except RateLimited as exc:  # Fortnox did nothing: wait and try again
                row = self._save(row, **revert)
                waits += 1
                retry_after = exc.retry_after if exc.retry_after is not None else 1.0
                if waits > self.settings.max_rate_limited_waits or (
                    retry_after > self.settings.max_retry_after
                ):
                    return row, "not_sent", exc
                self.sleep(retry_after + self.rng() * 0.5)
            except OutcomeUnknown as exc:
                return row, "unknown", exc
            except FortnoxApiError as exc:
                if exc.status_code in (401, 403):  # not done, and nothing else will work now
                    self._save(row, **revert)
                    raise
                if 400 <= exc.status_code < 500:
                    return row, "refused", exc
                return row, "unknown", exc  # e.g. a 201 whose body could not be read
            except NOT_SENT_ERRORS as exc:
                row = self._save(row, **revert)
                if isinstance(exc, FortnoxConnectionError):
                    return row, "not_sent", exc
                raise

    # -- vouchers -----------------------------------------------------------------------------

    def _send_voucher(self, row: OutboxRow) -> OutboxRow:
        voucher = self.vouchers[row.idempotency_key]
        try:
            body = fortnox_voucher_body(voucher, row.idempotency_key)
        except ValueError as exc:  # the validation before approval refuses these first
            self.say(f"{self._name(row)}: cannot be sent: {exc}")
            return self._save(row, state="failed", failure=str(exc))
        fy = self.financial_year
        self.posted.add(row.idempotency_key)
        row, outcome, result = self._attempt(
            row,
            lambda r: {"state": "sending", "attempts": r.attempts + 1, "financial_year_id": fy},
            {"state": "pending"},
            lambda: self.client.create_voucher(fy, body),
        )
        if outcome == "ok":
            assert isinstance(result, Page)
            try:
                created = result.item("Voucher")
                series, number = str(created["VoucherSeries"]), int(created["VoucherNumber"])
            except (FortnoxApiError, KeyError, TypeError, ValueError):
                self.say(f"{self._name(row)}: answer unreadable; looking it up by its key")
                return row
            self.sent_now.add(row.idempotency_key)
            self.say(f"{self._name(row)}: sent as {series} {number}")
            return self._save(
                row, state="sent", fortnox_series=series, fortnox_number=number, sent_at=now_utc()
            )
        if outcome == "refused":
            self.say(f"{self._name(row)}: refused by Fortnox, not retried: {result}")
            return self._save(row, state="failed", failure=str(result))
        if outcome == "unknown":
            self.say(
                f"{self._name(row)}: outcome unknown ({result}); looking it up before any resend"
            )
        else:
            self.say(f"{self._name(row)}: not sent ({result}); trying again later")
        return row

    def _resolve_sending(self, rows: Sequence[OutboxRow]) -> list[OutboxRow]:
        """Look each voucher up by its key: sent if Fortnox has it, else pending (again)."""
        found = self._vouchers_with_keys(rows)
        out = []
        for row in rows:
            matches = found.get(row.idempotency_key, [])
            if row.state == "pending" and not matches:
                out.append(row)  # as expected: not sent yet
                continue
            if matches:
                series, number = matches[0]
                also = (
                    f" (and {len(matches) - 1} more with the same key)" if len(matches) > 1 else ""
                )
                self.say(
                    f"{self._name(row)}: found in Fortnox as {series} {number} by its key{also}: "
                    "not sent again"
                )
                if row.idempotency_key in self.posted:
                    self.sent_now.add(row.idempotency_key)
                row = self._save(
                    row,
                    state="sent",
                    fortnox_series=series,
                    fortnox_number=number,
                    financial_year_id=self.financial_year,
                    sent_at=row.sent_at or now_utc(),
                )
            else:
                self.say(f"{self._name(row)}: not in Fortnox; it will be sent again")
                row = self._save(row, state="pending")
            out.append(row)
        return out

    def _vouchers_with_keys(self, rows: Iterable[OutboxRow]) -> dict[str, list[tuple[str, int]]]:
        """key -> [(series, number)] of the Fortnox vouchers carrying it, lowest number first.

        One listing per (series, date): the closing's vouchers usually share both.
        """
        groups: dict[tuple[str, date], set[str]] = {}
        for row in rows:
            groups.setdefault((row.series, row.voucher_date), set()).add(row.idempotency_key)
        found: dict[str, list[tuple[str, int]]] = {}
        for (series, day), keys in groups.items():
            items = self.client.find_vouchers(
                self.financial_year,
                series,
                comments=lambda text, keys=keys: idempotency_key_in(text) in keys,  # type: ignore[misc]
                fromdate=day,
                todate=day,
            )
            for item in items:
                key = idempotency_key_in(item.get("Comments"))
                assert key is not None
                found.setdefault(key, []).append(
                    (str(item["VoucherSeries"]), int(item["VoucherNumber"]))
                )
        return {key: sorted(matches, key=lambda m: m[1]) for key, matches in found.items()}

    def _adopt_connected_files(self, rows: Sequence[OutboxRow]) -> None:
        """Vouchers found in Fortnox that this outbox never sent: a file already connected
        to one is taken as its attachment (the read-back compares its bytes)."""
        by_voucher: dict[tuple[str, str, str], str] = {}
        for item in self.client.voucher_file_connections().items:
            where = (
                str(item.get("VoucherSeries")),
                str(item.get("VoucherNumber")),
                str(item.get("VoucherYear")),
            )
            by_voucher.setdefault(where, str(item.get("FileId")))
        for row in rows:
            where = (str(row.fortnox_series), str(row.fortnox_number), str(row.financial_year_id))
            if row.file_state == "pending" and where in by_voucher:
                file_id = by_voucher[where]
                self.say(f"{self._name(row)}: file {file_id} already connected to it in Fortnox")
                self._save(row, file_state="connected", fortnox_file_id=file_id)

    # -- attachments --------------------------------------------------------------------------

    def _upload(self, row: OutboxRow) -> OutboxRow:
        attachment = self.vouchers[row.idempotency_key].attachment
        assert attachment is not None and row.file_name is not None
        name = row.file_name
        row, outcome, result = self._attempt(
            row,
            lambda r: {"file_state": "uploading", "upload_attempts": r.upload_attempts + 1},
            {"file_state": "pending"},
            lambda: self.client.upload_to_inbox(name, attachment.content, attachment.media_type),
        )
        if outcome == "ok":
            assert isinstance(result, Page)
            try:
                file_id = str(result.item("File")["Id"])
            except (FortnoxApiError, KeyError):
                self.say(f"{self._name(row)}: upload answer unreadable; looking it up by name")
                return row
            self.say(f"{self._name(row)}: attachment uploaded as file {file_id}")
            return self._save(row, file_state="uploaded", fortnox_file_id=file_id)
        if outcome == "refused":
            self.say(f"{self._name(row)}: attachment refused by Fortnox, not retried: {result}")
            return self._save(row, file_state="failed", file_failure=str(result))
        self.say(f"{self._name(row)}: upload outcome unknown ({result}); looking it up by name")
        return row

    def _resolve_uploading(self, rows: Sequence[OutboxRow]) -> None:
        """Find each upload in the inbox by its unique name: uploaded, else pending again."""
        by_name = self._inbox_files()
        for row in rows:
            matches = by_name.get(row.file_name or "", [])
            if matches:
                self.say(f"{self._name(row)}: attachment found in the inbox as file {matches[0]}")
                self._save(row, file_state="uploaded", fortnox_file_id=matches[0])
            else:
                self.say(f"{self._name(row)}: attachment not in the inbox; it will be uploaded")
                self._save(row, file_state="pending")

    def _inbox_files(self) -> dict[str, list[str]]:
        files = self.client.inbox_folder().item("Folder").get("Files") or []
        by_name: dict[str, list[str]] = {}
        for item in files:
            by_name.setdefault(str(item.get("Name")), []).append(str(item.get("Id")))
        return by_name

    def _connect(self, row: OutboxRow) -> OutboxRow:
        assert row.fortnox_file_id and row.fortnox_series and row.fortnox_number
        file_id, series, number = row.fortnox_file_id, row.fortnox_series, row.fortnox_number
        year = row.financial_year_id or self.financial_year
        row, outcome, result = self._attempt(
            row,
            lambda r: {"file_state": "connecting", "connect_attempts": r.connect_attempts + 1},
            {"file_state": "uploaded"},
            lambda: self.client.connect_voucher_file(file_id, series, number, year),
        )
        if outcome == "ok":
            self.say(f"{self._name(row)}: attachment connected to {series} {number}")
            return self._save(row, file_state="connected")
        if outcome == "refused":
            # Perhaps an earlier attempt did connect it: the lookup decides.
            self.say(f"{self._name(row)}: connection refused ({result}); checking the file")
            return self._resolve_connecting(row, refusal=str(result))
        self.say(f"{self._name(row)}: connection outcome unknown ({result}); looking it up")
        return row

    def _resolve_connecting(self, row: OutboxRow, refusal: str | None = None) -> OutboxRow:
        assert row.fortnox_file_id
        connection = self.client.voucher_file_connection(row.fortnox_file_id)
        if connection is None:
            if refusal is not None:
                return self._save(row, file_state="failed", file_failure=refusal)
            self.say(f"{self._name(row)}: attachment not connected yet; connecting it")
            return self._save(row, file_state="uploaded")
        if _connected_to(connection, row):
            self.say(f"{self._name(row)}: attachment found connected to {row.fortnox_label}")
            return self._save(row, file_state="connected")
        other = f"{connection.get('VoucherSeries')} {connection.get('VoucherNumber')}"
        failure = f"file {row.fortnox_file_id} is connected to voucher {other} instead"
        self.say(f"{self._name(row)}: {failure}")
        return self._save(row, file_state="failed", file_failure=failure)

    # -- reading back ---------------------------------------------------------------------------

    def _verify_all(self) -> None:
        todo = [
            r
            for r in self.rows.values()
            if r.state == "sent" and r.file_state not in FILE_WORK and r.verify_state != "verified"
        ]
        if not todo:
            return
        in_fortnox = self._vouchers_with_keys(todo)
        leftovers = self._inbox_files() if any(r.has_file for r in todo) else {}
        for row in todo:
            problems = self._verify(row, in_fortnox.get(row.idempotency_key, []), leftovers)
            state = "mismatch" if problems else "verified"
            detail = "; ".join(problems) or None
            self.say(f"{self._name(row)}: {state}" + (f": {detail}" if detail else ""))
            self._save(row, verify_state=state, verify_detail=detail, verified_at=now_utc())

    def _verify(
        self,
        row: OutboxRow,
        with_key: list[tuple[str, int]],
        inbox: Mapping[str, list[str]],
    ) -> list[str]:
        assert row.fortnox_series and row.fortnox_number and row.financial_year_id
        problems: list[str] = []
        if with_key != [(row.fortnox_series, row.fortnox_number)]:
            labels = ", ".join(f"{s} {n}" for s, n in with_key) or "none"
            problems.append(f"Fortnox vouchers carrying its key: {labels}")
        fortnox = self.client.voucher(
            row.fortnox_series, row.fortnox_number, row.financial_year_id
        ).item("Voucher")
        problems += compare_voucher(
            self.vouchers[row.idempotency_key], row.idempotency_key, fortnox
        )
        if not row.has_file:
            return problems
        if row.file_state != "connected" or not row.fortnox_file_id:
            problems.append(f"attachment {row.file_state}: {row.file_failure or 'not connected'}")
            return problems
        connection = self.client.voucher_file_connection(row.fortnox_file_id)
        if connection is None or not _connected_to(connection, row):
            problems.append(f"file {row.fortnox_file_id} is not connected to {row.fortnox_label}")
        content = self.client.archive_file(row.fortnox_file_id)
        if hashlib.sha256(content).hexdigest() != row.file_sha256:
            problems.append(f"file {row.fortnox_file_id} does not hold the attachment's bytes")
        left = inbox.get(row.file_name or "", [])
        if left:
            problems.append(f"{len(left)} more upload(s) of the attachment left in the inbox")
        return problems

    # -- the report -----------------------------------------------------------------------------

    def report(self, *, error: str | None = None, retryable: bool = False) -> ExportReport:
        lines = []
        for key in self.vouchers:
            row = self.rows.get(key)
            if row is None:  # refused before the rows were made
                continue
            detail = row.failure or row.file_failure or row.verify_detail or ""
            lines.append(
                VoucherReport(
                    reference=row.reference,
                    idempotency_key=row.idempotency_key,
                    state=row.state,
                    fortnox_series=row.fortnox_series,
                    fortnox_number=row.fortnox_number,
                    financial_year_id=row.financial_year_id,
                    file_state=row.file_state,
                    file_id=row.fortnox_file_id,
                    verify_state=row.verify_state,
                    detail=detail,
                    sent_now=key in self.sent_now,
                )
            )
        return ExportReport(
            approval_id=self.approval_id,
            company_key=self.voucher_set.company_key,
            fiscal_year_start=self.voucher_set.fiscal_year_start,
            tenant_id=self.tenant,
            vouchers=tuple(lines),
            error=error,
            retryable=retryable,
        )


def _connected_to(connection: Mapping[str, Any], row: OutboxRow) -> bool:
    return (
        str(connection.get("VoucherSeries")) == row.fortnox_series
        and str(connection.get("VoucherNumber")) == str(row.fortnox_number)
        and (
            connection.get("VoucherYear") in (None, "")
            or str(connection.get("VoucherYear")) == str(row.financial_year_id)
        )
    )


# -- comparing a voucher read back with the approved one --------------------------------------

RowKey = tuple[str, Decimal, Decimal, str, str, str]


def _money(value: object) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0)).quantize(CENT)


def _approved_rows(voucher: ClosingVoucher) -> Counter[RowKey]:
    return Counter(
        (r.account, r.debit, r.credit, r.cost_centre, r.project, r.text) for r in voucher.rows
    )


def _fortnox_rows(fortnox: Mapping[str, Any]) -> Counter[RowKey]:
    rows: Counter[RowKey] = Counter()
    for item in fortnox.get("VoucherRows") or []:
        if item.get("Removed"):
            continue  # a struck-out row (SIE #BTRANS): not part of the voucher
        rows[
            (
                str(item.get("Account")),
                _money(item.get("Debit")),
                _money(item.get("Credit")),
                str(item.get("CostCenter") or ""),
                str(item.get("Project") or ""),
                str(item.get("TransactionInformation") or ""),
            )
        ] += 1
    return rows


def _row_text(key: RowKey) -> str:
    account, debit, credit, cost_centre, project, text = key
    side = f"debit {debit}" if debit else f"credit {credit}"
    objects = "".join(
        f" {label} {value}" for label, value in (("cc", cost_centre), ("project", project)) if value
    )
    return f"{account} {side}{objects}" + (f" {text!r}" if text else "")


def compare_voucher(voucher: ClosingVoucher, key: str, fortnox: Mapping[str, Any]) -> list[str]:
    """What differs between the approved voucher and the one Fortnox holds (empty: none)."""
    problems = []
    if idempotency_key_in(fortnox.get("Comments")) != key:
        problems.append("its Comments do not carry the idempotency key")
    if str(fortnox.get("TransactionDate")) != voucher.voucher_date.isoformat():
        problems.append(f"date {fortnox.get('TransactionDate')}, approved {voucher.voucher_date}")
    if fortnox.get("Description") != voucher.description:
        problems.append(f"text {fortnox.get('Description')!r}, approved {voucher.description!r}")
    approved, actual = _approved_rows(voucher), _fortnox_rows(fortnox)
    missing, extra = approved - actual, actual - approved
    if missing:
        problems.append("rows missing: " + ", ".join(_row_text(k) for k in missing.elements()))
    if extra:
        problems.append("rows not approved: " + ", ".join(_row_text(k) for k in extra.elements()))
    return problems
