"""Zero-copy views of Arrow buffers as numpy arrays, shared by the SQLite and COPY writers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def decimal_words(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Low and high 64-bit words of a decimal128 array (nulls as zero)."""
    n = len(array)
    words = np.frombuffer(array.buffers()[1], dtype="<i8", count=2 * (n + array.offset))
    low, high = words[2 * array.offset :: 2], words[2 * array.offset + 1 :: 2]
    if array.null_count:
        mask = np.asarray(array.is_valid())
        low, high = np.where(mask, low, 0), np.where(mask, high, 0)
    return low, high


def fixed_values(array: pa.Array, dtype: str) -> np.ndarray:
    """The values buffer of a fixed-width array (null slots hold anything; they are masked)."""
    n = len(array)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=n + array.offset)[array.offset :]
