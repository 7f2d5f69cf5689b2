from __future__ import annotations

import sys

from include.fortnox.cli import main

sys.exit(main())
