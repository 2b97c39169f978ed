"""One pass over raw Criteo TSV bytes: parse, validate, hash and transform, compiled with numba.

Polars needs a Python string per categorical cell and a second pass to read it as hex; this
kernel walks the bytes once and writes the final columns, without the GIL, so two chunks run on
two cores. It accepts only the strict common form (label 0/1; dense `-?[0-9]{0,18}`; hex
`[0-9a-fA-F]{0,15}`; exactly the expected number of tab-separated fields; `\\n` line ends). On
anything else it returns the index of the first line it could not read, and the caller parses
the chunk the careful way, which names the problem or skips the line as configured. The outputs
equal that path's: same splitmix64 ids, same log1p values (tests compare them).
"""

from __future__ import annotations

import math

import numba
import numpy as np

TAB, NEWLINE, MINUS = 9, 10, 45


@numba.njit(nogil=True, cache=True)
def _splitmix64(x: np.uint64) -> np.uint64:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


SMALL_LOG1P = np.log1p(np.arange(4096, dtype=np.float64))  # most dense values are small counts
HEX_DIGITS = np.full(256, -1, dtype=np.int64)  # byte -> its hex value, -1 for a non-hex byte
HEX_DIGITS[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
HEX_DIGITS[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
HEX_DIGITS[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


@numba.njit(nogil=True, cache=True)
def parse_criteo(buf, labels, dense, ids, buckets, log1p):  # pragma: no cover - compiled
    """buf: uint8 bytes of whole lines, each ending in a newline; labels [N] float32;
    dense [N, D] float32 (log1p, missing -> 0) or float64 (raw, missing -> NaN);
    ids [N, C] int64: splitmix64((value + 1) * 64 + field) % buckets, or the raw value
    (-1 = missing) when buckets == 0. Returns -1, or the index of the first unreadable line.
    """
    num_dense, num_cat = dense.shape[1], ids.shape[1]
    pos = 0
    for line in range(labels.shape[0]):
        c = buf[pos]
        if (c != 48 and c != 49) or buf[pos + 1] != (NEWLINE if num_dense + num_cat == 0 else TAB):
            return line
        labels[line] = c - 48
        pos += 2
        for j in range(num_dense):
            negative = buf[pos] == MINUS
            if negative:
                pos += 1
            value, digits = 0, 0
            c = buf[pos]
            while 48 <= c <= 57:
                value = value * 10 + (c - 48)
                digits += 1
                pos += 1
                c = buf[pos]
            last = j == num_dense - 1 and num_cat == 0
            if c != (NEWLINE if last else TAB) or digits > 18 or (negative and digits == 0):
                return line
            pos += 1
            if digits == 0:
                dense[line, j] = 0.0 if log1p else np.nan
            else:
                x = float(-value if negative else value)
                if not log1p:
                    dense[line, j] = x
                else:
                    magnitude = SMALL_LOG1P[value] if value < 4096 else math.log1p(abs(x))
                    dense[line, j] = -magnitude if negative else magnitude
        for f in range(num_cat):
            value, digits = 0, 0
            d = HEX_DIGITS[buf[pos]]
            while d >= 0:
                value = value * 16 + d
                digits += 1
                pos += 1
                d = HEX_DIGITS[buf[pos]]
            if buf[pos] != (NEWLINE if f == num_cat - 1 else TAB) or digits > 15:
                return line
            pos += 1
            raw = value if digits > 0 else -1
            if buckets > 0:
                key = np.uint64((raw + 1) * 64 + f)
                ids[line, f] = np.int64(_splitmix64(key) % np.uint64(buckets))
            else:
                ids[line, f] = raw
    return -1
