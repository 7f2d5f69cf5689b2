"""Data quality of the loaded books: checks, their recorded results and the closing's gate.

    from include.quality.gate import quality_gate
    gate = quality_gate(url, company_id, date(2024, 1, 1))   # blocks? why? which checks?

The checks (Great Expectations over SQL aggregates) live in ``include.quality.checks`` and
run through ``include.quality.runner``; results go to the ``dq_run`` / ``dq_result`` /
``dq_failing_row`` tables (``include.quality.store``). CLI: ``python -m include.quality run``.
See docs/quality.md. Importing this package is cheap: GX loads only when checks run.
"""
