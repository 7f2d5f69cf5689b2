"""``python -m include.closing`` (see include/closing/cli.py)."""

from __future__ import annotations

import sys

from include.closing.cli import main

if __name__ == "__main__":
    sys.exit(main())
