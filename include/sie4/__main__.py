"""`python -m include.sie4 inspect FILE [--lenient] [--json]`."""

from __future__ import annotations

import sys

from include.sie4.cli import main

if __name__ == "__main__":
    sys.exit(main())
