"""Word-id text samples for the content models (TextCNN, TagSpace), as PaddleRec ships them.

    tagspace_csv  `label,w w w ...`: a class id, a comma, space-separated word ids (PaddleRec's AG News
                  sample for TagSpace).
    senta         `w w ... w seq_len label`: a padded row of word ids, the text's real length, the class
                  (PaddleRec's TextCNN sentiment sample; only the first seq_len ids are read).

Raw word ids start at 0, so every reader shifts them by one: id 0 is padding everywhere in recstack's text
models. A path may be a file (.gz ok) or a folder of files (read in name order). These sample files are
small (thousands of lines), so the readers are plain Python loops. A malformed line raises DataFormatError
naming the file and the line.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from recstack.errors import DataFormatError


@dataclass
class TextClassData:
    text: np.ndarray  # [N, L] int64 word ids + 1, 0 = padding
    labels: np.ndarray  # [N] int64 class ids
    lines: np.ndarray  # [N] 1-based line number in its file


def data_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataFormatError(path, None, "folder has no data files")
        return files
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    return [path]


def numbered_lines(path: str | Path) -> Iterator[tuple[Path, int, str]]:
    """(file, 1-based line number, line without its newline) for every non-blank line under `path`."""
    for file in data_files(path):
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\r\n")
                if line.strip():
                    yield file, number, line


def parse_ids(file: Path, number: int, tokens: list[str], what: str) -> list[int]:
    """Raw non-negative word ids -> ids + 1 (0 is padding)."""
    try:
        values = [int(token) for token in tokens]
    except ValueError:
        bad = next(t for t in tokens if not t.strip().isdigit())
        raise DataFormatError(file, number, f"{what}: expected integer word ids, found {bad!r}") from None
    if values and min(values) < 0:
        raise DataFormatError(file, number, f"{what}: negative word id {min(values)}")
    return [v + 1 for v in values]


def pad(rows: list[list[int]], max_len: int | None = None) -> np.ndarray:
    """Ragged id lists -> [N, L] int64, right-padded with 0, each cut to max_len when given."""
    length = max((len(r) for r in rows), default=1)
    length = max(1, min(length, max_len) if max_len else length)
    out = np.zeros((len(rows), length), dtype=np.int64)
    for i, row in enumerate(rows):
        row = row[:length]
        out[i, :len(row)] = row
    return out


def _label(file: Path, number: int, token: str) -> int:
    if not token.strip().isdigit():
        raise DataFormatError(file, number, f"label: expected a class id (0, 1, ...), found {token!r}")
    return int(token)


def read_tagspace_csv(path: str | Path, max_len: int | None = None) -> TextClassData:
    texts, labels, lines = [], [], []
    for file, number, line in numbered_lines(path):
        label, sep, words = line.partition(",")
        if not sep or not words.split():
            raise DataFormatError(file, number, "expected `label,word_id word_id ...`")
        labels.append(_label(file, number, label))
        texts.append(parse_ids(file, number, words.split(), "text"))
        lines.append(number)
    return TextClassData(pad(texts, max_len), np.asarray(labels, dtype=np.int64), np.asarray(lines, dtype=np.int64))


def read_senta(path: str | Path, max_len: int | None = None) -> TextClassData:
    texts, labels, lines = [], [], []
    for file, number, line in numbered_lines(path):
        tokens = line.split()
        if len(tokens) < 3:
            raise DataFormatError(file, number, "expected `word_id ... seq_len label`")
        ids = parse_ids(file, number, tokens[:-2], "text")
        if not tokens[-2].isdigit() or not 1 <= int(tokens[-2]) <= len(ids):
            raise DataFormatError(file, number, f"seq_len: expected 1..{len(ids)} (the ids on the line), "
                                                f"found {tokens[-2]!r}")
        texts.append(ids[:int(tokens[-2])])
        labels.append(_label(file, number, tokens[-1]))
        lines.append(number)
    return TextClassData(pad(texts, max_len), np.asarray(labels, dtype=np.int64), np.asarray(lines, dtype=np.int64))


CLASS_READERS = {"tagspace_csv": read_tagspace_csv, "senta": read_senta}
