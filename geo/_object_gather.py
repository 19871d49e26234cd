"""Gather a few Python objects into a long object array, one reference count update per object.

``table[codes]`` on an object array increments the gathered object's reference count once per
element: for 10M points and 100k grid ids that is 10M read-modify-writes scattered over the id
strings, most of the join's time. :func:`gather` writes the pointers from a compiled loop and
counts how often each object was used, then adds each count to its object's reference count
once, with the GIL held. The result is an ordinary object array, indistinguishable from
``table[codes]`` (each element holds one counted reference).

This relies on CPython's object layout (the reference count is the first word of every object,
``id`` is the address): :data:`FAST` is True only on CPython 3.11 and earlier release builds
(3.12's immortal objects keep counts differently), and only after a probe at import time has
checked the layout; anywhere else :func:`gather` is ``numpy.take``.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["FAST", "gather"]


@intrinsic
def _add_to_word(typingctx: Any, address: Any, amount: Any) -> Any:  # pragma: no cover
    """``*address += amount`` for the machine word at integer ``address``."""
    signature = types.void(types.intp, types.intp)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        word = ir.IntType(64 if sys.maxsize > 2**32 else 32)
        pointer = builder.inttoptr(args[0], word.as_pointer())
        builder.store(builder.add(builder.load(pointer), args[1]), pointer)
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, nogil=True)
def _write_slots(
    codes: np.ndarray, addresses: np.ndarray, slots: np.ndarray, counts: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``slots[p] = addresses[codes[p] + 1]``, counting the uses of each address."""
    for p in range(codes.shape[0]):
        k = codes[p] + 1
        slots[p] = addresses[k]
        counts[k] += 1


@njit(cache=True)  # not nogil: reference counts belong to the interpreter, under its lock
def _add_counts(addresses: np.ndarray, counts: np.ndarray) -> None:  # pragma: no cover
    for k in range(addresses.shape[0]):
        if counts[k] != 0:
            _add_to_word(addresses[k], counts[k])  # type: ignore[call-arg]  # numba adds typingctx


def _slots(array: np.ndarray) -> np.ndarray:
    """The pointer words of a contiguous object array, as a writable intp array (a view)."""
    words = (ctypes.c_ssize_t * len(array)).from_address(array.ctypes.data)
    return np.ctypeslib.as_array(words)


def _compiled_gather(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    n = len(codes)
    out = np.empty(n, dtype=object)  # n references to None
    if n == 0:
        return out
    addresses = np.empty(len(table) + 1, dtype=np.intp)
    addresses[0] = id(None)
    addresses[1:] = _slots(table)  # the table's own pointer words: no Python call per object
    counts = np.zeros(len(addresses), dtype=np.intp)
    slots = _slots(out)
    if slots[0] == addresses[0]:  # np.empty counted a reference to None per element
        counts[0] -= n  # ... which the compiled loop overwrites
    _write_slots(codes, addresses, slots, counts)
    _add_counts(addresses, counts)
    return out


def _probe() -> bool:
    """Whether the layout this module relies on holds in this interpreter."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if hasattr(sys, "gettotalrefcount"):  # a debug build: objects start with list links
        return False
    try:
        table = np.array([f"probe-{k}" for k in range(3)], dtype=object)
        before = [sys.getrefcount(s) for s in table]
        got = _compiled_gather(table, np.array([2, -1, 2, 0], dtype=np.int32))
        if got.tolist() != [table[2], None, table[2], table[0]]:
            return False
        after = [sys.getrefcount(s) for s in table]
        del got
        return after == [before[0] + 1, before[1], before[2] + 2] and (
            [sys.getrefcount(s) for s in table] == before
        )
    except Exception:  # any failure means: use numpy
        return False


#: The compiled gather is used (CPython's layout checked at import).
FAST: bool = _probe()


def gather(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[codes]`` with code -1 giving None: an object array of ``len(codes)``.

    ``table`` is a 1-D object array; ``codes`` integers in ``-1 .. len(table) - 1`` (checked:
    an out-of-range code raises IndexError).
    """
    table = np.ascontiguousarray(table, dtype=object)
    codes = np.ascontiguousarray(codes)
    if codes.dtype.kind not in "iu":
        msg = f"gather: codes must be integers, not {codes.dtype}"
        raise TypeError(msg)
    if len(codes) and (codes.min() < -1 or codes.max() >= len(table)):
        msg = f"gather: codes must lie in -1..{len(table) - 1}"
        raise IndexError(msg)
    if FAST:
        return _compiled_gather(table, codes)
    with_none = np.empty(len(table) + 1, dtype=object)
    with_none[1:] = table
    return with_none.take(codes.astype(np.intp) + 1)
