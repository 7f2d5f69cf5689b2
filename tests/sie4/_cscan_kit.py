"""The C scanner for the tests: the one ``make venv`` built, else one built here.

Without the library and without a C compiler the C tests skip (the numpy scanner is
then what ``inspect`` uses, and what the other tests test).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from include.sie4 import _cscan, summary

BUILT = summary._C_SCANNER  # as summary loaded it at import: include/sie4/_scan.so
_WORKDIR = tempfile.TemporaryDirectory(prefix="sie4-cscan-")  # removed at exit


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "cc"))


def build(out: Path, source_hash: str) -> Path:
    """``_scan.c`` compiled as the Makefile compiles it, claiming ``source_hash``."""
    cc = compiler()
    assert cc is not None
    flags = ["-O2", "-shared", "-fPIC", f'-DSCAN_SOURCE_HASH="{source_hash}"']
    subprocess.run(
        [cc, *flags, str(_cscan.SOURCE), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@functools.cache
def c_scanner() -> _cscan.CScanner | None:
    """The C scanner, or None when there is neither the library nor a compiler."""
    if BUILT is not None:
        return BUILT
    if compiler() is None:
        return None
    library = build(Path(_WORKDIR.name) / "_scan.so", _cscan.source_hash())
    return _cscan.load(library)
