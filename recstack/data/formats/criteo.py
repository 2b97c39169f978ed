"""Raw Criteo TSV: `label \\t I1..I13 \\t C1..C26`, integers and 8-char hex categoricals, empty = missing.

Parsing: each ~16 MB chunk goes through one compiled pass (criteo_kernel.parse_criteo: parse,
validate, hash, log1p; two chunks at once on two cores). A chunk it cannot read (a malformed line)
goes through polars as strings, where line checks are array operations and the error names the
file and line.

Categorical ids (documented, stable across runs, platforms and Python versions):
  hash:  id = splitmix64((value + 1) * 64 + field) mod num_embeddings, value = -1 when missing,
         so every field has its own "missing" id and the same hex in two fields maps apart.
  vocab: per field, values seen >= min_count times in the training files get ids
         offset_f + 1 .. offset_f + n_f in ascending value order; missing and rare values share
         offset_f (the field's OOV row). Fields are laid out one after another in the table.
Dense: log1p -> sign(x) * log(1 + |x|); minmax -> PaddleRec's (x - min) / (max - min) clipped to
[0, 1] with its Criteo ranges. Missing dense values become 0.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import polars as pl

from recstack.data.formats import (Columns, ReadOptions, SkipCounter, count_per_line, iter_text_chunks,
                                   line_text, ordered_map, report_bad_line)
from recstack.data.formats.criteo_kernel import parse_criteo

PADDLEREC_DENSE_MIN = np.array([0, -3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=np.float64)
PADDLEREC_DENSE_MAX = np.array([20, 600, 100, 50, 64000, 500, 100, 50, 500, 10, 10, 10, 50], dtype=np.float64)


def splitmix64_(x: np.ndarray) -> np.ndarray:
    """splitmix64 of a uint64 array, in place (no temporaries: this runs on every parsed id)."""
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def hash_ids(values: np.ndarray, num_embeddings: int) -> np.ndarray:
    """values [N, F] int64 (-1 = missing) -> [N, F] int64 ids in [0, num_embeddings)."""
    keys = np.asarray(values, dtype=np.int64) + 1
    keys *= 64
    keys += np.arange(values.shape[1], dtype=np.int64)
    ids = splitmix64_(keys.view(np.uint64))
    ids %= np.uint64(num_embeddings)
    return ids.view(np.int64)


@dataclass
class Vocabulary:
    values: list[np.ndarray]  # per field: sorted kept raw values

    @property
    def offsets(self) -> np.ndarray:
        sizes = np.array([len(v) + 1 for v in self.values], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(sizes)[:-1]])

    @property
    def num_embeddings(self) -> int:
        return int(sum(len(v) + 1 for v in self.values))

    def encode(self, values: np.ndarray) -> np.ndarray:
        ids = np.empty(values.shape, dtype=np.int64)
        for f, (kept, offset) in enumerate(zip(self.values, self.offsets)):
            pos = np.searchsorted(kept, values[:, f])
            pos_clipped = np.minimum(pos, max(len(kept) - 1, 0))
            found = (len(kept) > 0) & (kept[pos_clipped] == values[:, f]) if len(kept) else np.zeros(len(values), bool)
            ids[:, f] = np.where(found, offset + 1 + pos, offset)
        return ids

    def save(self, path: Path) -> None:
        np.savez(path, **{f"f{i}": v for i, v in enumerate(self.values)})

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        with np.load(path) as z:
            return cls([z[f"f{i}"] for i in range(len(z.files))])


def _read(chunk: bytes, names: list[str], num_dense: int, typed: bool) -> pl.DataFrame:
    types = {n: pl.Int64 if typed and i <= num_dense else pl.String for i, n in enumerate(names)}
    return pl.read_csv(io.BytesIO(chunk), separator="\t", has_header=False, new_columns=names, schema=types,
                       quote_char=None)


def _parse_careful(chunk: bytes, first_line: int, path: Path, names: list[str], num_dense: int,
                   options: ReadOptions, skipped: SkipCounter
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tabs = count_per_line(chunk, 9)
    ok = tabs == len(names) - 1
    for i in np.flatnonzero(~ok):
        report_bad_line(path, first_line + int(i),
                        f"expected {len(names)} tab-separated columns, found {tabs[i] + 1}", options, skipped)
    lines = first_line + np.flatnonzero(ok)
    if not ok.all():
        kept = [line_text(chunk, int(i)) for i in np.flatnonzero(ok)]
        chunk = ("\n".join(kept) + "\n").encode() if kept else b""
    if not chunk:
        return np.empty(0, np.float32), np.empty((0, num_dense)), np.empty((0, len(names) - 1 - num_dense), np.int64), lines
    frame = _read(chunk, names, num_dense, typed=False)
    casts = [pl.col("label").str.strip_chars().cast(pl.Int64, strict=False)]
    casts += [pl.col(n).cast(pl.Int64, strict=False) for n in names[1:1 + num_dense]]
    casts += [pl.col(n).str.to_integer(base=16, strict=False) for n in names[1 + num_dense:]]
    parsed = frame.select(casts)
    unparsed = [c.is_null() & pl.col(n).is_not_null() for c, n in zip(casts, names)]
    checks = [~casts[0].is_in([0, 1]).fill_null(False), *unparsed[1:1 + num_dense]]
    checks += [u | (c < 0).fill_null(False) for u, c in zip(unparsed[1 + num_dense:], casts[1 + num_dense:])]
    failed = frame.select(check.alias(n) for check, n in zip(checks, names)).to_numpy()
    bad = failed.any(axis=1)
    for i in np.flatnonzero(bad):
        column = names[int(np.argmax(failed[i]))]
        kind = "0 or 1" if column == "label" else "an integer" if column.startswith("I") else "a hex string"
        report_bad_line(path, int(lines[i]), f"column {column} must be {kind}, got {frame[column][int(i)]!r}",
                        options, skipped)
    keep = ~bad
    dense = parsed.select(names[1:1 + num_dense]).to_numpy().astype(np.float64)[keep]
    cats = parsed.select(names[1 + num_dense:]).fill_null(-1).to_numpy().astype(np.int64)[keep]
    return parsed["label"].to_numpy()[keep].astype(np.float32), dense, cats, lines[keep]


def parse_chunk(chunk: bytes, first_line: int, path: Path, num_dense: int, num_cat: int,
                options: ReadOptions, skipped: SkipCounter, buckets: int = 0, log1p: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One chunk -> (labels [N], dense [N, D], cats [N, C] int64, line [N]).

    By default dense is float64 with NaN for missing and cats the raw values with -1 for missing;
    `buckets` > 0 hashes cats into ids (hash_ids) and `log1p` transforms dense (float32), both
    fused into the parse when the chunk is clean.
    """
    buf = np.frombuffer(chunk, dtype=np.uint8)
    num_lines = int(np.count_nonzero(buf == 10))
    labels = np.empty(num_lines, np.float32)
    dense = np.empty((num_lines, num_dense), np.float32 if log1p else np.float64)
    cats = np.empty((num_lines, num_cat), np.int64)
    if num_lines and parse_criteo(buf, labels, dense, cats, buckets, log1p) < 0:
        return labels, dense, cats, np.arange(first_line, first_line + num_lines)
    names = ["label"] + [f"I{j + 1}" for j in range(num_dense)] + [f"C{j + 1}" for j in range(num_cat)]
    labels, dense, cats, lines = _parse_careful(chunk, first_line, path, names, num_dense, options, skipped)
    return (labels, transform_dense(dense, "log1p") if log1p else dense,
            hash_ids(cats, buckets) if buckets > 0 else cats, lines)


def transform_dense(dense: np.ndarray, how: str) -> np.ndarray:
    if how == "log1p":
        values = np.nan_to_num(dense, nan=0.0)
        magnitude = np.log1p(np.abs(values))
        return np.copysign(magnitude, values, out=magnitude).astype(np.float32)
    missing = np.isnan(dense)
    values = np.where(missing, 0.0, dense)
    if how == "minmax":
        lo, hi = PADDLEREC_DENSE_MIN[: values.shape[1]], PADDLEREC_DENSE_MAX[: values.shape[1]]
        out = np.clip((values - lo) / (hi - lo), 0.0, 1.0)
    else:
        raise ValueError(f"unknown dense transform {how!r}")
    return np.where(missing, 0.0, out).astype(np.float32)


def iter_raw(path: Path, options: ReadOptions, skipped: SkipCounter
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    num_dense, num_cat = options.schema.num_dense, len(options.schema.sparse)
    return ordered_map(lambda item: parse_chunk(item[0], item[1], path, num_dense, num_cat, options, skipped),
                       iter_text_chunks(path, options.chunk_bytes))


def iter_columns(path: Path, options: ReadOptions, skipped: SkipCounter,
                 vocabulary: Vocabulary | None = None) -> Iterator[Columns]:
    num_dense, num_cat = options.schema.num_dense, len(options.schema.sparse)

    buckets = 0 if vocabulary else options.schema.num_embeddings
    log1p = options.dense_transform == "log1p"

    def columns(item: tuple[bytes, int]) -> Columns:
        labels, dense, cats, lines = parse_chunk(item[0], item[1], path, num_dense, num_cat, options, skipped,
                                                 buckets, log1p)
        return {"labels": labels[:, None], "dense": dense if log1p else transform_dense(dense, options.dense_transform),
                "sparse": vocabulary.encode(cats) if vocabulary else cats, "line": lines}

    return ordered_map(columns, iter_text_chunks(path, options.chunk_bytes))


def fit_vocabulary(paths: list[Path], options: ReadOptions, min_count: int) -> Vocabulary:
    """Counts each field's values over the training files; keeps those seen >= min_count times."""
    seen: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in options.schema.sparse]
    skipped = SkipCounter()
    for path in paths:
        for _, _, cats, _ in iter_raw(path, options, skipped):
            for f in range(cats.shape[1]):
                seen[f].append(np.unique(cats[:, f], return_counts=True))
    kept = []
    for parts in seen:
        values, inverse = np.unique(np.concatenate([v for v, _ in parts]), return_inverse=True)
        totals = np.bincount(inverse, weights=np.concatenate([c for _, c in parts]))
        kept.append(values[(totals >= min_count) & (values >= 0)].astype(np.int64))
    return Vocabulary(kept)
