"""Year-end closing: adjustments, proposals, validation, approval; the set the export sends.

    from include.closing.models import VoucherSet, ClosingVoucher, ClosingRow, Attachment
    from include.closing.store import current_voucher_set          # accepted now
    from include.closing.approval import record_approval, get_approval, approved_voucher_set
    from include.closing.fortnox_body import fortnox_voucher_body, idempotency_key_in

CLI: ``python -m include.closing import|propose|approve ...`` (docs/closing.md).
Importing this package is cheap: nothing below is imported until used.
"""
