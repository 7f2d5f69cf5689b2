"""``python -m include.closing <command>`` (docs/closing.md).

Minimal dispatcher: ``export`` (include.closing.export_cli). The closing's own commands
(import, propose, approve) join this parser through their ``add_*_command`` functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from include.closing.export_cli import add_export_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m include.closing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_export_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
