"""DIGINETICA item views (CIKM Cup 2016, track 2) as sessions, the session-based data of SR-GNN and GRU4Rec.

    train-item-views.csv   `session_id;user_id;item_id;timeframe;eventdate` with a header line, `;`-separated,
                           user_id often NA; timeframe = milliseconds since the session began.

Each session's views are ordered by (eventdate, timeframe), ties in file order; as SR-GNN's preprocessing, items
viewed fewer than `min_item_count` (5) times are dropped, then sessions left with fewer than 2 views. Sessions
play the part of users (`runner.data_format: diginetica_sessions`; recstack.data.interactions splits them
leave-one-out). A malformed line raises DataFormatError naming the file and the line.
"""

from __future__ import annotations

import datetime
import gzip
from pathlib import Path

import numpy as np

from recstack.errors import DataFormatError

COLUMNS = ["session_id", "user_id", "item_id", "timeframe", "eventdate"]


def _parse(path: Path, number: int, line: str) -> tuple[int, int, int, int]:
    fields = line.rstrip("\r\n").split(";")
    if len(fields) != len(COLUMNS):
        raise DataFormatError(path, number, f"expected {len(COLUMNS)} ';'-separated fields "
                                            f"({';'.join(COLUMNS)}), found {len(fields)}")
    session, _, item, timeframe, date = fields
    try:
        day = datetime.date.fromisoformat(date).toordinal()
    except ValueError:
        raise DataFormatError(path, number, f"eventdate {date!r} is not a YYYY-MM-DD date") from None
    try:
        return int(session), int(item), day, int(timeframe)
    except ValueError:
        raise DataFormatError(path, number, f"session_id, item_id and timeframe must be integers: {line.strip()!r}"
                              ) from None


def read_diginetica_sessions(path: str | Path, min_item_count: int = 5) -> tuple[np.ndarray, list[np.ndarray]]:
    """-> (raw session ids [S], one int64 array of raw item ids per session in view order), sessions by id."""
    path = Path(path)
    if path.is_dir():
        path = path / "train-item-views.csv"
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            header = handle.readline().strip().split(";")
            if header != COLUMNS:
                raise DataFormatError(path, 1, f"expected the header {';'.join(COLUMNS)}, found {';'.join(header)}")
            rows = [_parse(path, number, line) for number, line in enumerate(handle, start=2) if line.strip()]
    except FileNotFoundError:
        raise DataFormatError(path, None, "file not found") from None
    if not rows:
        raise DataFormatError(path, None, "no item views in the file")
    session, item, day, timeframe = np.asarray(rows, dtype=np.int64).T
    order = np.lexsort((np.arange(len(rows)), timeframe, day, session))
    session, item = session[order], item[order]
    values, counts = np.unique(item, return_counts=True)
    kept = np.isin(item, values[counts >= min_item_count])
    session, item = session[kept], item[kept]
    ids, starts, lengths = np.unique(session, return_index=True, return_counts=True)
    long_enough = lengths >= 2
    sessions = np.split(item, starts[1:])
    return ids[long_enough], [s for s, keep in zip(sessions, long_enough) if keep]
