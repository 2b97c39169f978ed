"""The compiled Criteo pass must equal the careful polars path, and hand anything unusual back to it."""

from pathlib import Path

import numpy as np
import pytest

from recstack.data.formats import ReadOptions, SkipCounter, criteo
from recstack.data.formats.criteo_kernel import parse_criteo
from recstack.data.schema import FeatureSchema

NUM_DENSE, NUM_CAT, BUCKETS = 4, 5, 1009


def random_lines(rng: np.random.Generator, n: int) -> list[str]:
    lines = []
    for _ in range(n):
        dense = ["" if rng.random() < 0.2 else str(int(rng.integers(-5, 10 ** int(rng.integers(1, 9)))))
                 for _ in range(NUM_DENSE)]
        cats = ["" if rng.random() < 0.2 else format(int(rng.integers(0, 1 << int(rng.integers(4, 60)))),
                                                      "x" if rng.random() < 0.8 else "X")
                for _ in range(NUM_CAT)]
        lines.append("\t".join([str(int(rng.integers(0, 2))), *dense, *cats]))
    return lines


def careful(chunk: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = ["label"] + [f"I{j + 1}" for j in range(NUM_DENSE)] + [f"C{j + 1}" for j in range(NUM_CAT)]
    options = ReadOptions(FeatureSchema.__new__(FeatureSchema))
    labels, dense, cats, _ = criteo._parse_careful(chunk, 1, Path("x"), names, NUM_DENSE, options, SkipCounter())
    return labels, dense, cats


def kernel(chunk: bytes, buckets: int, log1p: bool) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    buf = np.frombuffer(chunk, np.uint8)
    n = int(np.count_nonzero(buf == 10))
    labels = np.empty(n, np.float32)
    dense = np.empty((n, NUM_DENSE), np.float32 if log1p else np.float64)
    ids = np.empty((n, NUM_CAT), np.int64)
    return parse_criteo(buf, labels, dense, ids, buckets, log1p), labels, dense, ids


def test_kernel_equals_careful_path_raw_and_fused():
    chunk = ("\n".join(random_lines(np.random.default_rng(0), 3000)) + "\n").encode()
    want_labels, want_dense, want_cats = careful(chunk)
    status, labels, dense, cats = kernel(chunk, 0, False)
    assert status == -1
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(dense, want_dense)  # NaN where missing on both sides
    np.testing.assert_array_equal(cats, want_cats)
    status, labels, dense, ids = kernel(chunk, BUCKETS, True)
    assert status == -1
    np.testing.assert_allclose(dense, criteo.transform_dense(want_dense, "log1p"), rtol=1e-7)
    np.testing.assert_array_equal(ids, criteo.hash_ids(want_cats, BUCKETS))


@pytest.mark.parametrize("bad_line", [
    "1\t+5\t1\t2\t3\ta\tb\tc\td\te",           # a sign the kernel does not take
    "1\t1\t2\t3\ta\tb\tc\td\te",                # a field short
    "1\t1\t2\t3\t4\ta\tb\tc\td\te\tf",         # a field long
    "2\t1\t2\t3\t4\ta\tb\tc\td\te",            # label not 0/1
    "1\t1\t2\t3\t4\ta\tb\tc\td\te\r",          # CRLF
    "1\t1\t2\t3\t4\tzz\tb\tc\td\te",           # not hex
    "1\t1\t2\t3\t4\t1234567890abcdef\tb\tc\td\te",  # 16 hex digits: beyond the kernel's int64-safe width
    "",                                          # empty line
])
def test_kernel_returns_first_unreadable_line(bad_line):
    good = "0\t1\t2\t3\t4\ta\tb\tc\td\te"
    chunk = "\n".join([good, good, bad_line, good]).encode() + b"\n"
    assert kernel(chunk, BUCKETS, True)[0] == 2
