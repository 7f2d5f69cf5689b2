"""Proposals computed from the warehouse: tax allocation reserve, income tax, the year's result.

They are computed in that order, each on the books plus the imported adjustments plus the
proposals before it that are *accepted* (so the set that is approved is always consistent):

1. **Tax allocation reserve** (periodiseringsfond, limited companies): at most 25 % of the
   tax base before the reserve; debit 8811, credit the year's reserve account (2125 for 2025).
2. **Income tax**: 20.6 % of the tax base after the reserve; debit 8910, credit 2512.
3. **The year's result** to 2099: debit 8999, credit 2099 for a profit (reversed for a loss).

Signs follow the books: debit positive, credit negative, so a profit is a negative sum over
the income statement. The tax base is the result before appropriations and tax (accounts
3000-8799) plus the appropriations already booked (8800-8899), plus the non-deductible costs,
minus the non-taxable income, plus ``other_tax_adjustment``; accounts, rates and rounding come
from :class:`~include.closing.config.ClosingConfig` (docs/closing.md states the rules).

Each proposal is ``proposed``, ``accepted`` or ``dropped``. A decision belongs to the kind,
not to an amount: the amounts are computed again whenever the books, the adjustments or an
earlier decision change, and the approval freezes the exact figures. Each proposal carries its
calculation as a PDF attachment, so the voucher in Fortnox shows how the figure was reached.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from include.closing.config import ClosingConfig, Rounding, load_config
from include.closing.formatting import kronor
from include.closing.models import CENT, Attachment, ClosingRow, ClosingVoucher, VoucherKind
from include.closing.pdf import text_pdf
from include.closing.store import (
    lock_partition,
    now_utc,
    replace_vouchers,
    resolve_partition,
    store_attachment,
)
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

if TYPE_CHECKING:
    from include.quality.partitions import Partition

ProposalState = Literal["proposed", "accepted", "dropped"]
PROPOSAL_KINDS: tuple[VoucherKind, ...] = (
    "tax_allocation_reserve",
    "income_tax",
    "result_transfer",
)
STATES: tuple[ProposalState, ...] = ("proposed", "accepted", "dropped")
REFERENCES = {
    "tax_allocation_reserve": "PROPOSAL-RESERVE",
    "income_tax": "PROPOSAL-TAX",
    "result_transfer": "PROPOSAL-RESULT",
}
TITLES = {
    "tax_allocation_reserve": "Periodiseringsfond (tax allocation reserve)",
    "income_tax": "Inkomstskatt (income tax)",
    "result_transfer": "Årets resultat (the year's result)",
}
FILE_STEMS = {
    "tax_allocation_reserve": "periodiseringsfond",
    "income_tax": "inkomstskatt",
    "result_transfer": "arets-resultat",
}
POSITION_BASE = 1_000_000  # proposals come after the adjustments in the voucher set
ZERO = Decimal("0.00")
KRONA = Decimal("1")

prop = schema.closing_proposal


class ProposalError(ValueError):
    """A decision that cannot be taken (unknown kind, disabled proposal)."""


@dataclass(frozen=True, slots=True)
class Proposal:
    kind: VoucherKind
    state: ProposalState
    amount: Decimal  # the figure: the reserve, the tax to book, the year's result
    voucher: ClosingVoucher | None  # None: nothing to book
    calculation: tuple[str, ...]
    attachment: Attachment  # the calculation as a PDF (also on the voucher)
    basis: str
    decided_by: str | None = None
    decided_at: datetime | None = None

    @property
    def reference(self) -> str:
        return REFERENCES[self.kind]

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def in_voucher_set(self) -> bool:
        return self.state == "accepted" and self.voucher is not None


# ----------------------------------------------------------------------------- arithmetic


def rounded(amount: Decimal, how: Rounding) -> Decimal:
    """``krona_down``: whole kronor, towards minus infinity; ``ore``: öre, half up."""
    if how == "krona_down":
        return amount.quantize(KRONA, rounding=ROUND_FLOOR).quantize(CENT)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Balances:
    """Signed closing balances per account (debit positive), books plus what is applied."""

    def __init__(self, amounts: Mapping[str, Decimal]) -> None:
        self._amounts = dict(amounts)

    def apply(self, voucher: ClosingVoucher) -> None:
        for row in voucher.rows:
            self._amounts[row.account] = self._amounts.get(row.account, ZERO) + row.amount

    def of(self, accounts: Iterable[str]) -> Decimal:
        return sum((self._amounts.get(a, ZERO) for a in accounts), ZERO)

    def between(self, span: tuple[str, str], *, excluding: Iterable[str] = ()) -> Decimal:
        low, high = span
        skip = set(excluding)
        return sum(
            (
                amount
                for account, amount in self._amounts.items()
                if account.isdigit()
                and len(account) == 4
                and low <= account <= high
                and account not in skip
            ),
            ZERO,
        )


@dataclass(frozen=True, slots=True)
class _Context:
    partition: Partition
    config: ClosingConfig
    basis: str

    @property
    def year_end(self) -> date:
        return self.partition.fiscal_year_end

    @property
    def year(self) -> int:
        return self.partition.fiscal_year_end.year


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f} %".replace(".", ",")


def _line(label: str, amount: Decimal) -> str:
    return f"{label:<62}{kronor(amount):>18}"


def _header(ctx: _Context, kind: str) -> list[str]:
    p = ctx.partition
    return [
        f"{TITLES[kind]} {ctx.year}",
        f"Företag: {p.company_name} ({p.org_number or p.company_key})",
        f"Räkenskapsår: {p.fiscal_year_start.isoformat()} - {p.fiscal_year_end.isoformat()}",
        f"Underlag: {ctx.basis}",
        "Belopp i kronor; debet positivt, kredit negativt i bokföringen.",
        "",
    ]


def _tax_base(
    b: Balances, c: ClosingConfig, *, reserve_excluded: bool
) -> list[tuple[str, Decimal]]:
    """The tax base's parts, each as (label, amount as a profit: positive adds to the base)."""
    result = -b.between(c.result_accounts)
    excluded = (c.reserve_expense_account,) if reserve_excluded else ()
    appropriations = -b.between(c.appropriation_accounts, excluding=excluded)
    non_deductible = b.of(c.non_deductible_accounts)
    non_taxable = -b.of(c.non_taxable_accounts)
    low, high = c.result_accounts
    app_low, app_high = c.appropriation_accounts
    what = f"Bokförda bokslutsdispositioner ({app_low}-{app_high}"
    what += f", utom {c.reserve_expense_account})" if reserve_excluded else ")"
    return [
        (f"Resultat före bokslutsdispositioner och skatt ({low}-{high})", result),
        (what, appropriations),
        (f"+ Ej avdragsgilla kostnader ({', '.join(c.non_deductible_accounts)})", non_deductible),
        (f"- Ej skattepliktiga intäkter ({', '.join(c.non_taxable_accounts)})", -non_taxable),
        ("+ Övriga skattemässiga justeringar (konfiguration)", c.other_tax_adjustment),
    ]


def _voucher(
    ctx: _Context, kind: VoucherKind, description: str, debit: str, credit: str, amount: Decimal
) -> ClosingVoucher | None:
    """Debit one account, credit the other (swapped for a negative amount); None for zero."""
    if amount == 0:
        return None
    if amount < 0:
        debit, credit, amount = credit, debit, -amount
    return ClosingVoucher(
        reference=REFERENCES[kind],
        origin="proposal",
        kind=kind,
        series=ctx.config.series,
        voucher_date=ctx.year_end,
        description=description,
        rows=(
            ClosingRow(debit, amount, ZERO, description[:100]),
            ClosingRow(credit, ZERO, amount, description[:100]),
        ),
    )


def _booking(voucher: ClosingVoucher | None) -> list[str]:
    if voucher is None:
        return ["", "Inget att bokföra."]
    out = ["", "Bokföring:"]
    for row in voucher.rows:
        side = "debet " if row.debit else "kredit"
        out.append(f"  {side} {row.account}  {kronor(row.debit or row.credit):>18}  {row.text}")
    return out


def _reserve(b: Balances, ctx: _Context) -> tuple[Decimal, ClosingVoucher | None, list[str]]:
    c = ctx.config
    parts = _tax_base(b, c, reserve_excluded=True)
    base = sum((amount for _, amount in parts), ZERO)
    base_rounded = rounded(base, c.tax_base_rounding)
    share = c.reserve_max_share
    maximum = rounded(base_rounded * share, c.reserve_rounding) if base_rounded > 0 else ZERO
    already = b.of([c.reserve_expense_account])
    amount = max(ZERO, maximum - already)
    account = c.reserve_account(ctx.year_end)
    voucher = _voucher(
        ctx,
        "tax_allocation_reserve",
        f"Avsättning till periodiseringsfond {ctx.year}",
        c.reserve_expense_account,
        account,
        amount,
    )
    lines = _header(ctx, "tax_allocation_reserve") + [_line(label, a) for label, a in parts]
    lines += [
        _line("= Skattemässigt resultat före avsättning", base),
        _line(f"  avrundat ({c.tax_base_rounding})", base_rounded),
        _line(f"Högsta avsättning {_percent(share)} ({c.reserve_rounding})", maximum),
        _line(f"- Redan bokfört på {c.reserve_expense_account}", already),
        _line("= Föreslagen avsättning", amount),
    ]
    if base_rounded <= 0:
        lines.append("Inget överskott: ingen avsättning.")
    return amount, voucher, lines + _booking(voucher)


def _tax(
    b: Balances, ctx: _Context, reserve_note: str
) -> tuple[Decimal, ClosingVoucher | None, list[str]]:
    c = ctx.config
    parts = _tax_base(b, c, reserve_excluded=False)
    base = sum((amount for _, amount in parts), ZERO)
    base_rounded = rounded(base, c.tax_base_rounding)
    tax = rounded(base_rounded * c.tax_rate, c.tax_rounding) if base_rounded > 0 else ZERO
    already = b.of([c.tax_expense_account])
    amount = tax - already
    voucher = _voucher(
        ctx,
        "income_tax",
        f"Beräknad inkomstskatt {ctx.year}",
        c.tax_expense_account,
        c.tax_liability_account,
        amount,
    )
    lines = [*_header(ctx, "income_tax"), reserve_note, ""]
    lines += [_line(label, a) for label, a in parts]
    lines += [
        _line("= Skattemässigt resultat (beskattningsbar inkomst)", base),
        _line(f"  avrundat ({c.tax_base_rounding})", base_rounded),
        _line(f"Skatt {_percent(c.tax_rate)} ({c.tax_rounding})", tax),
        _line(f"- Redan bokfört på {c.tax_expense_account}", already),
        _line("= Skatt att bokföra", amount),
    ]
    if base_rounded <= 0:
        lines.append("Inget skattepliktigt överskott: ingen skatt (underskottet rullas vidare).")
    return amount, voucher, lines + _booking(voucher)


def _result(
    b: Balances, ctx: _Context, notes: Sequence[str]
) -> tuple[Decimal, ClosingVoucher | None, list[str]]:
    c = ctx.config
    transfer = c.result_transfer_account
    # BAS classes 3-8 before the result accounts (8990-8999) is the year's result.
    before = -b.between(("3000", "8989"))
    already = b.between(("8990", "8999"))  # debit: a profit already moved to equity
    amount = before - already  # to book: debit 8999 (profit) or credit 8999 (loss)
    voucher = _voucher(
        ctx,
        "result_transfer",
        f"Årets resultat {ctx.year}",
        transfer,
        c.result_equity_account,
        amount,
    )
    lines = [*_header(ctx, "result_transfer"), *notes, ""]
    lines += [
        _line("Årets resultat (3000-8989; vinst positiv)", before),
        _line(f"- Redan överfört (8990-8999, {transfer})", already),
        _line(f"= Att föra till {c.result_equity_account}", amount),
    ]
    return before, voucher, lines + _booking(voucher)


def _attachment(kind: str, year: int, lines: Sequence[str]) -> Attachment:
    title = f"{TITLES[kind]} {year}"
    return Attachment(f"{FILE_STEMS[kind]}-{year}.pdf", "application/pdf", text_pdf(title, lines))


def compute_proposals(
    balances: Balances,
    partition: Partition,
    config: ClosingConfig,
    states: Mapping[str, ProposalState],
    basis: str,
) -> list[Proposal]:
    """The proposals in order; each sees the earlier ones that are accepted."""
    ctx = _Context(partition, config, basis)
    out: list[Proposal] = []

    def add(kind: VoucherKind, amount: Decimal, voucher: ClosingVoucher | None, lines: list[str]):  # type: ignore[no-untyped-def]
        state = states.get(kind, "proposed")
        attachment = _attachment(kind, ctx.year, lines)
        if voucher is not None:
            voucher = dataclasses.replace(voucher, attachment=attachment)
        out.append(Proposal(kind, state, amount, voucher, tuple(lines), attachment, basis))
        if state == "accepted" and voucher is not None:
            balances.apply(voucher)
        return state

    notes: list[str] = []
    if config.limited_company and config.propose_reserve:
        state = add("tax_allocation_reserve", *_reserve(balances, ctx))
        notes.append(f"Periodiseringsfond: {_state_note(state)}.")
    if config.limited_company and config.propose_tax:
        note = notes[0] if notes else "Periodiseringsfond: föreslås inte."
        state = add("income_tax", *_tax(balances, ctx, note))
        notes.append(f"Inkomstskatt: {_state_note(state)}.")
    if config.propose_result_transfer:
        add("result_transfer", *_result(balances, ctx, notes))
    return out


def _state_note(state: str) -> str:
    return {
        "accepted": "godkänd, ingår i beräkningen",
        "proposed": "ej godkänd ännu, ingår inte i beräkningen",
        "dropped": "struken, ingår inte i beräkningen",
    }[state]


# ----------------------------------------------------------------------------- storage


def base_balances(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> Balances:
    """The books' closing balances (trial balance) plus the imported adjustments' rows."""
    tb, adj = schema.trial_balance_view, schema.closing_adjustment
    amounts: dict[str, Decimal] = {}
    for account, amount in conn.execute(
        sa.select(tb.c.account, tb.c.closing_balance).where(
            tb.c.company_id == company_id, tb.c.fiscal_year_start == fiscal_year_start
        )
    ):
        amounts[account] = amounts.get(account, ZERO) + (amount or ZERO)
    for account, debit, credit in conn.execute(
        sa.select(adj.c.account, adj.c.debit, adj.c.credit).where(
            adj.c.company_id == company_id,
            adj.c.fiscal_year_start == fiscal_year_start,
            adj.c.origin == "adjustment",
        )
    ):
        amounts[account] = amounts.get(account, ZERO) + debit - credit
    return Balances(amounts)


def basis_of(conn: sa.Connection, partition: Partition) -> str:
    """What the proposals were computed on, in words: the load and the adjustments file."""
    from include.quality.partitions import partition_stamp

    stamp = partition_stamp(conn, partition.company_id, partition.fiscal_year_start)
    assert stamp is not None
    imp = schema.closing_import
    imported = conn.execute(
        sa.select(imp.c.file_name, imp.c.fingerprint).where(
            imp.c.company_id == partition.company_id,
            imp.c.fiscal_year_start == partition.fiscal_year_start,
        )
    ).first()
    adjustments = f"{imported.file_name} ({imported.fingerprint[:12]})" if imported else "inga"
    loaded = stamp.loaded_at
    loaded = loaded.astimezone(UTC) if loaded.tzinfo else loaded  # stored as UTC
    return (
        f"extrakt {stamp.extract_id} inläst {loaded:%Y-%m-%d %H:%M:%S} UTC; "
        f"justeringar {adjustments}"
    )


def _stored(conn: sa.Connection, partition: Partition) -> dict[str, Any]:
    rows = conn.execute(
        sa.select(prop).where(
            prop.c.company_id == partition.company_id,
            prop.c.fiscal_year_start == partition.fiscal_year_start,
        )
    ).all()
    return {r.kind: r for r in rows}


def refresh_proposals(
    conn: sa.Connection,
    partition: Partition,
    config: ClosingConfig,
    *,
    decisions: Mapping[str, ProposalState] | None = None,
    decided_by: str | None = None,
    only_if_present: bool = False,
) -> bool:
    """Compute the proposals again (inside the caller's transaction) and store them with the
    accepted ones' vouchers; decisions taken before are kept unless ``decisions`` changes them.
    ``only_if_present``: do nothing for a partition that has no proposals yet (returns False)."""
    company_id, start = partition.company_id, partition.fiscal_year_start
    lock_partition(conn, company_id, start)
    stored = _stored(conn, partition)
    if only_if_present and not stored:
        return False
    decisions = dict(decisions or {})
    enabled = _enabled(config)
    for kind, state in decisions.items():
        if kind not in PROPOSAL_KINDS:
            raise ProposalError(f"unknown proposal {kind!r}; one of {', '.join(PROPOSAL_KINDS)}")
        if kind not in enabled:
            raise ProposalError(f"proposal {kind} is switched off in the closing configuration")
        if state not in STATES:
            raise ProposalError(f"unknown state {state!r}")
    states = {kind: row.state for kind, row in stored.items()} | decisions
    proposals = compute_proposals(
        base_balances(conn, company_id, start), partition, config, states, basis_of(conn, partition)
    )
    moment = now_utc()
    conn.execute(
        prop.delete().where(prop.c.company_id == company_id, prop.c.fiscal_year_start == start)
    )
    for position, proposal in enumerate(proposals, start=1):
        previous = stored.get(proposal.kind)
        decided: tuple[str | None, datetime | None]
        if proposal.kind in decisions:
            decided = (decided_by, moment)
        else:
            decided = (previous.decided_by, previous.decided_at) if previous else (None, None)
        attachment = proposal.attachment
        store_attachment(conn, company_id, attachment)
        conn.execute(
            prop.insert().values(
                company_id=company_id,
                fiscal_year_start=start,
                kind=proposal.kind,
                position=position,
                reference=proposal.reference,
                state=proposal.state,
                amount=proposal.amount,
                series=config.series,
                voucher_date=partition.fiscal_year_end,
                description=proposal.voucher.description if proposal.voucher else proposal.title,
                rows=_rows_json(proposal.voucher),
                calculation="\n".join(proposal.calculation),
                attachment_sha256=attachment.sha256,
                attachment_name=attachment.file_name,
                attachment_media_type=attachment.media_type,
                basis=proposal.basis,
                computed_at=moment,
                decided_by=decided[0],
                decided_at=decided[1],
            )
        )
    accepted = [p.voucher for p in proposals if p.in_voucher_set and p.voucher is not None]
    replace_vouchers(
        conn, company_id, start, accepted, origin="proposal", first_position=POSITION_BASE
    )
    return True


def _enabled(config: ClosingConfig) -> set[str]:
    kinds = set()
    if config.limited_company and config.propose_reserve:
        kinds.add("tax_allocation_reserve")
    if config.limited_company and config.propose_tax:
        kinds.add("income_tax")
    if config.propose_result_transfer:
        kinds.add("result_transfer")
    return kinds


def _rows_json(voucher: ClosingVoucher | None) -> str:
    rows = [r.canonical() for r in voucher.rows] if voucher else []
    return json.dumps(rows, ensure_ascii=False)


def read_proposals(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> list[Proposal]:
    """The stored proposals, in order (vouchers rebuilt from their rows, attachment included)."""
    rows = conn.execute(
        sa.select(prop, schema.closing_attachment.c.content)
        .select_from(
            prop.outerjoin(
                schema.closing_attachment,
                sa.and_(
                    schema.closing_attachment.c.company_id == prop.c.company_id,
                    schema.closing_attachment.c.sha256 == prop.c.attachment_sha256,
                ),
            )
        )
        .where(prop.c.company_id == company_id, prop.c.fiscal_year_start == fiscal_year_start)
        .order_by(prop.c.position)
    ).all()
    out = []
    for r in rows:
        voucher = None
        stored_rows = json.loads(r.rows)
        attachment = Attachment(r.attachment_name, r.attachment_media_type, bytes(r.content))
        if stored_rows:
            voucher = ClosingVoucher(
                reference=r.reference,
                origin="proposal",
                kind=r.kind,
                series=r.series,
                voucher_date=r.voucher_date,
                description=r.description,
                rows=tuple(
                    ClosingRow(
                        x["account"],
                        Decimal(x["debit"]),
                        Decimal(x["credit"]),
                        x["text"],
                        x["cost_centre"],
                        x["project"],
                    )
                    for x in stored_rows
                ),
                attachment=attachment,
            )
        out.append(
            Proposal(
                kind=r.kind,
                state=r.state,
                amount=r.amount,
                voucher=voucher,
                calculation=tuple(r.calculation.splitlines()),
                attachment=attachment,
                basis=r.basis,
                decided_by=r.decided_by,
                decided_at=r.decided_at,
            )
        )
    return out


def propose(
    url_or_engine: EngineLike,
    company: str,
    fiscal_year: str | date,
    *,
    accept: Sequence[str] = (),
    drop: Sequence[str] = (),
    reset: Sequence[str] = (),
    decided_by: str = "cli",
    config: ClosingConfig | None = None,
) -> tuple[Partition, list[Proposal]]:
    """Compute (again) the partition's proposals, taking the decisions given; in one transaction."""
    both = set(accept) & set(drop)
    if both:
        raise ProposalError(f"accepted and dropped at once: {', '.join(sorted(both))}")
    decisions: dict[str, ProposalState] = {}
    steps: tuple[tuple[Sequence[str], ProposalState], ...] = (
        (reset, "proposed"),
        (accept, "accepted"),
        (drop, "dropped"),
    )
    for kinds, state in steps:
        decisions |= dict.fromkeys(kinds, state)
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            partition = resolve_partition(conn, company, fiscal_year)
            config = config or load_config((partition.org_number, partition.company_key))
            refresh_proposals(conn, partition, config, decisions=decisions, decided_by=decided_by)
            return partition, read_proposals(
                conn, partition.company_id, partition.fiscal_year_start
            )
    finally:
        if owned:
            engine.dispose()
