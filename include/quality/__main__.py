"""``python -m include.quality run | gate | control-accounts`` (see include/quality/cli.py)."""

from __future__ import annotations

import sys

from include.quality.cli import main

if __name__ == "__main__":
    sys.exit(main())
