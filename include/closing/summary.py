"""The summary a person reads before approving: every voucher with its rows, totals and
attachments, the proposals left out, and the checksum the approval will record (markdown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from include.closing.formatting import kronor
from include.closing.models import ClosingVoucher, VoucherSet
from include.closing.proposals import Proposal

MAX_DETAILED_ROWS = 400  # beyond this, vouchers are listed one line each (the page stays usable)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _voucher_block(
    voucher: ClosingVoucher, account_names: Mapping[str, str], source: str | None
) -> list[str]:
    origin = "adjustment" if voucher.origin == "adjustment" else f"proposal ({voucher.kind})"
    heading = (
        f"#### {voucher.reference}: {_cell(voucher.description)}\n"
        f"{voucher.voucher_date.isoformat()}, series {voucher.series}, {origin}"
    )
    if source:
        heading += f", {source}"
    lines = [
        heading,
        "",
        "| # | account | name | debit | credit | text | cost centre | project |",
        "|---:|---|---|---:|---:|---|---|---|",
    ]
    for number, row in enumerate(voucher.rows, start=1):
        debit = kronor(row.debit) if row.debit else ""
        credit = kronor(row.credit) if row.credit else ""
        lines.append(
            f"| {number} | {row.account} | {_cell(account_names.get(row.account, ''))} | "
            f"{debit} | {credit} | {_cell(row.text)} | {row.cost_centre} | {row.project} |"
        )
    lines.append(
        f"| | | **total** | **{kronor(voucher.total_debit)}** | **{kronor(voucher.total_credit)}** "
        "| | | |"
    )
    if voucher.attachment is not None:
        a = voucher.attachment
        lines += [
            "",
            f"Attachment: `{a.file_name}` ({a.media_type}, {a.size} bytes, "
            f"SHA-256 `{a.sha256[:16]}…`)",
        ]
    else:
        lines += ["", "Attachment: none"]
    return [*lines, ""]


def closing_summary(
    *,
    title: str,
    voucher_set: VoucherSet,
    proposals: Sequence[Proposal],
    account_names: Mapping[str, str],
    sources: Mapping[str, str],
    gate_reason: str,
    fortnox: str,
) -> str:
    """Markdown for the approval task's body (and the CLI)."""
    total_rows = sum(len(v.rows) for v in voucher_set.vouchers)
    debit = sum((v.total_debit for v in voucher_set.vouchers), Decimal("0.00"))
    out = [
        f"### {title}",
        "",
        f"- **{len(voucher_set)} vouchers**, {total_rows} rows, debit = credit = "
        f"{kronor(debit)} kr, {len(voucher_set.attachments)} attachments",
        f"- Voucher set checksum: `{voucher_set.checksum()}` (recorded with the approval; the "
        "export sends exactly this set)",
        f"- Quality: {gate_reason}",
        f"- Fortnox: {fortnox}; every voucher checked",
        "",
    ]
    left_out = [p for p in proposals if not p.in_voucher_set]
    if left_out:
        out += ["#### Proposals not in this set", ""]
        for p in left_out:
            state = {
                "proposed": "proposed, not accepted",
                "dropped": "dropped",
                "accepted": "accepted, nothing to book",
            }[p.state]
            out.append(f"- {p.title}: {kronor(p.amount)} kr ({state})")
        out.append("")
    detailed = 0
    brief: list[ClosingVoucher] = []
    for voucher in voucher_set.vouchers:
        if detailed + len(voucher.rows) > MAX_DETAILED_ROWS:
            brief.append(voucher)
            continue
        detailed += len(voucher.rows)
        out += _voucher_block(voucher, account_names, sources.get(voucher.reference))
    if brief:
        out += [f"#### {len(brief)} more vouchers (rows not shown)", ""]
        out += [
            f"- {v.reference}: {_cell(v.description)}, {v.voucher_date}, {len(v.rows)} rows, "
            f"{kronor(v.total_debit)} kr"
            + (f", attachment `{v.attachment.file_name}`" if v.attachment else "")
            for v in brief
        ]
    return "\n".join(out).rstrip() + "\n"
