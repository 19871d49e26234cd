"""Grid ids in string order, fast: the order that sorts them, and a check that none repeats.

The join breaks ties by the smallest ``grid_id`` (:mod:`geo.join`), so its index stores the
leaves in id order. For 100k ids the obvious route (Python strings to a fixed-width numpy
array, then numpy's string sort) costs tens of milliseconds, as much as the rest of an index
build; this module works on the ids' UTF-8 bytes in an Arrow array instead (pandas keeps text
columns in one; any other column is converted once):

- ids already in order (generated grids, most files) are recognised by one vectorised
  comparison of neighbours;
- otherwise the bytes after the prefix common to all ids are packed, eight to a big-endian
  64-bit word, and the words sorted as integers. UTF-8 byte order is code point order, so this
  is Python's string order; ids whose bytes include NUL (zero padding would hide it) take
  Python's own sort.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from .errors import GridError

__all__ = ["id_order"]

#: Offset width of each Arrow string type.
_OFFSET = {pa.string(): np.int32, pa.large_string(): np.int64}


def id_order(ids: pd.Series, what: str = "leaf grid") -> np.ndarray | None:
    """The order that sorts text ids (Python's string order), None when they already are.

    Raises
    ------
    GridError
        When an id is missing or used twice (``what`` names the rows in the message).
    """
    text = _arrow_text(ids)
    n = len(text)
    if text.null_count:
        row = int(np.flatnonzero(text.is_null().to_numpy(zero_copy_only=False))[0])
        msg = f"grids: {what} row {row} has no grid_id"
        raise GridError(msg)
    if n < 2 or pc.all(pc.less(text.slice(0, n - 1), text.slice(1))).as_py():
        return None  # strictly increasing: in order, and no id repeats
    offsets = np.frombuffer(text.buffers()[1], dtype=_OFFSET[text.type])
    offsets = offsets[text.offset : text.offset + n + 1]
    data = text.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    keys = _packed_keys(offsets, data)
    if keys is None:  # a NUL byte: Python compares what zero padding would hide
        values = text.to_pylist()
        order = np.array(sorted(range(n), key=values.__getitem__), dtype=np.int64)
        repeats = np.flatnonzero([values[a] == values[b] for a, b in pairwise(order)])
    else:
        order = np.argsort(keys[:, 0]) if keys.shape[1] == 1 else np.lexsort(keys.T[::-1])
        ordered = keys[order]
        repeats = np.flatnonzero((ordered[1:] == ordered[:-1]).all(axis=1))
    if len(repeats):
        first = text[int(order[repeats[0]])].as_py()
        msg = f"grids: grid_id {first!r} is used by more than one {what}"
        raise GridError(msg)
    return order


def _arrow_text(ids: pd.Series) -> pa.Array:
    """The ids as one Arrow string array (zero-copy for pandas' Arrow-backed text)."""
    values = ids.array
    if hasattr(values, "__arrow_array__"):
        text = pa.array(values)
    else:
        text = pa.array(ids.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if text.type not in _OFFSET:
        text = text.cast(pa.large_string())
    return text


def _packed_keys(offsets: np.ndarray, data: np.ndarray) -> np.ndarray | None:
    """Big-endian 64-bit words of each id's bytes after the common prefix (zero padded), or
    None when a byte after it is NUL."""
    skip = _common_prefix(offsets, data)
    width = int((offsets[1:] - offsets[:-1]).max()) - skip
    keys = np.zeros((len(offsets) - 1, max(1, -(-width // 8))), dtype=np.uint64)
    return keys if _pack(offsets, data, skip, keys) else None


@njit(cache=True, nogil=True)
def _common_prefix(offsets: np.ndarray, data: np.ndarray) -> int:  # pragma: no cover
    """Length in bytes of the prefix every id shares."""
    first = offsets[0]
    prefix = offsets[1] - first
    for k in range(1, offsets.shape[0] - 1):
        start = offsets[k]
        limit = min(prefix, offsets[k + 1] - start)
        same = 0
        while same < limit and data[start + same] == data[first + same]:
            same += 1
        prefix = same
        if prefix == 0:
            break
    return prefix


@njit(cache=True, nogil=True)
def _pack(offsets: np.ndarray, data: np.ndarray, skip: int, keys: np.ndarray) -> bool:
    """Fill ``keys`` (zeroed) with each id's bytes after ``skip``; False on a NUL byte."""
    for k in range(keys.shape[0]):
        start = offsets[k] + skip
        for b in range(offsets[k + 1] - start):
            byte = data[start + b]
            if byte == 0:
                return False
            keys[k, b >> 3] |= np.uint64(byte) << np.uint64(56 - 8 * (b & 7))
    return True
