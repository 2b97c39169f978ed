"""Implicit-feedback files for recall models: who interacted with which item, in time order.

    user lines   `user item item ...`, one line per user, items in time order (the S3-Rec/ICLRec sets, the
                 LCFN/UltraGCN ML-1M split); a line with only a user id is a user with no items here.
    u.data       MovieLens `user \\t item \\t rating \\t timestamp`, one rating per line, any order.

Both return raw ids; `recstack.data.interactions` re-indexes them. A malformed line raises
DataFormatError naming the file and the line.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from recstack.errors import DataFormatError


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            yield from enumerate(handle, start=1)
    except FileNotFoundError:
        raise DataFormatError(path, None, "file not found") from None


def _ints(path: Path, number: int, tokens: list[str]) -> list[int]:
    try:
        values = [int(token) for token in tokens]
    except ValueError:
        bad = next(t for t in tokens if not t.lstrip("-").isdigit())
        raise DataFormatError(path, number, f"expected integer ids, found {bad!r}") from None
    if min(values) < 0:
        raise DataFormatError(path, number, f"negative id {min(values)}")
    return values


def read_user_lines(path: str | Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """-> (raw user ids [U], one int64 array of raw item ids per user, in file order)."""
    path = Path(path)
    users: list[int] = []
    items: list[np.ndarray] = []
    seen: dict[int, int] = {}
    for number, line in _lines(path):
        tokens = line.split()
        if not tokens:
            raise DataFormatError(path, number, "empty line (expected `user item item ...`)")
        user, *row = _ints(path, number, tokens)
        if user in seen:
            raise DataFormatError(path, number, f"user {user} already has a line (line {seen[user]})")
        seen[user] = number
        users.append(user)
        items.append(np.asarray(row, dtype=np.int64))
    return np.asarray(users, dtype=np.int64), items


def read_movielens_ratings(path: str | Path) -> dict[str, np.ndarray]:
    """u.data -> columns user, item, rating, timestamp, line (1-based), each [N] int64, in file order."""
    path = Path(path)
    if path.is_dir():
        path = path / "u.data"
    rows = []
    for number, line in _lines(path):
        tokens = line.split("\t")
        if len(tokens) != 4:
            raise DataFormatError(path, number, f"expected 4 tab-separated fields "
                                                f"(user, item, rating, timestamp), found {len(tokens)}")
        rows.append(_ints(path, number, tokens) + [number])
    if not rows:
        raise DataFormatError(path, None, "no ratings in the file")
    table = np.asarray(rows, dtype=np.int64)
    return dict(zip(("user", "item", "rating", "timestamp", "line"), table.T))
