"""geo._object_gather: table[codes] with one reference-count update per object."""

from __future__ import annotations

import gc
import pickle
import sys

import numpy as np
import pytest

from geo._object_gather import FAST, gather


def _numpy_answer(table: np.ndarray, codes: np.ndarray) -> list[object]:
    return [None if c < 0 else table[c] for c in codes.tolist()]


def test_the_compiled_path_is_used_on_this_interpreter() -> None:
    expected = sys.implementation.name == "cpython" and sys.version_info < (3, 12)
    assert expected == FAST


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_gather_equals_indexing(dtype: type) -> None:
    rng = np.random.default_rng(0)
    table = np.array([f"grid-{k}" for k in range(50)], dtype=object)
    codes = rng.integers(-1, 50, 5000).astype(dtype)
    got = gather(table, codes)
    assert got.dtype == object
    assert got.shape == (5000,)
    assert got.tolist() == _numpy_answer(table, codes)
    assert all(g is None or g is table[c] for g, c in zip(got, codes.tolist(), strict=True))


def test_reference_counts_are_those_of_indexing() -> None:
    """While the result lives each object holds one reference per use; after, none."""
    table = np.array([f"grid-{k}" for k in range(4)], dtype=object)
    codes = np.array([3, 3, -1, 0, 3, -1, -1], dtype=np.int32)
    before = [sys.getrefcount(s) for s in table]
    got = gather(table, codes)
    during = [sys.getrefcount(s) for s in table]
    assert [d - b for d, b in zip(during, before, strict=True)] == [1, 0, 0, 3]
    del got
    gc.collect()
    assert [sys.getrefcount(s) for s in table] == before


def test_none_is_counted_once_per_use() -> None:
    """None's count moves with everything the interpreter does, so measure a large effect:
    100k uses give +100k while the result lives, and nothing after."""
    codes = np.full(100_000, -1)
    codes[::2] = 0
    start = sys.getrefcount(None)
    got = gather(np.array(["a"], dtype=object), codes)
    assert abs(sys.getrefcount(None) - start - 50_000) < 100
    del got
    assert abs(sys.getrefcount(None) - start) < 100


def test_the_result_is_an_ordinary_object_array() -> None:
    table = np.array(["a", "b"], dtype=object)
    got = gather(table, np.array([1, 0, -1]))
    got[0] = "c"  # replacing an element releases its reference as usual
    assert pickle.loads(pickle.dumps(got)).tolist() == ["c", "a", None]
    assert got.copy().tolist() == ["c", "a", None]


def test_edge_cases() -> None:
    table = np.array(["a"], dtype=object)
    assert gather(table, np.array([], dtype=np.int64)).tolist() == []
    assert gather(np.array([], dtype=object), np.array([-1, -1])).tolist() == [None, None]
    strided = np.array(["a", "x", "b", "y"], dtype=object)[::2]  # a view: pointers not adjacent
    assert gather(strided, np.array([1, 0, -1])).tolist() == ["b", "a", None]
    with pytest.raises(IndexError, match=r"-1\.\.0"):
        gather(table, np.array([0, 1]))
    with pytest.raises(IndexError):
        gather(table, np.array([-2]))
    with pytest.raises(TypeError, match="integers"):
        gather(table, np.array([0.0]))


def test_many_objects_and_points_agree_with_numpy() -> None:
    rng = np.random.default_rng(1)
    table = np.array([f"s{k:06d}" for k in range(20000)], dtype=object)
    codes = rng.integers(-1, len(table), 200_000)
    with_none = np.empty(len(table) + 1, dtype=object)
    with_none[1:] = table
    assert gather(table, codes).tolist() == with_none[codes + 1].tolist()
