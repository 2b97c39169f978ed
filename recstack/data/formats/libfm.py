"""libfm / libsvm / libffm text with one one-hot feature per field (the NFM/AFM/BARS layout).

    libfm, libsvm:  label index:value index:value ...          (the k-th feature is field k)
    libffm:         label field:index:value field:index:value ...  (field numbers 0 .. F-1)

    -1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1

The fields are the schema's single-valued slots, in schema order, so every line holds exactly
one feature per slot: F tokens after the label in libfm/libsvm; in libffm each field once, in
any order. Label 1 -> 1; 0 or -1 -> 0 (written as any number: `+1`, `1.0`); anything else is an
error. Ids are the feature indices as written (global, 0 <= id < num_embeddings; note that
index 0 is an ordinary feature here, not padding). Values must be 1: only one-hot features are
supported. `dense` is [N, 0]. Which flavour a file is in is read from its first feature token
unless `flavor` says so.

Parsing is vectorised with polars like the slot reader: lines are split into tokens and
exploded into (row, position, token); every check is an array operation, so only an error
path looks at single lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import polars as pl

from recstack.data.formats import (Columns, ReadOptions, SkipCounter, iter_text_chunks, open_binary,
                                   ordered_map, rows_to_keep)
from recstack.errors import ConfigError

FLAVORS = ("libfm", "libsvm", "libffm")


def detect_flavor(path: Path) -> str:
    """'libffm' when the first feature token of the file is `field:index:value`, else 'libfm'."""
    with open_binary(path) as fh:
        for raw in fh:
            tokens = raw.split()
            if len(tokens) > 1:
                return "libffm" if tokens[1].count(b":") == 2 else "libfm"
    return "libfm"


def _tokens(text: str, has_tabs: bool) -> pl.DataFrame:
    """(row, token) in line order, empty tokens dropped; tabs count as spaces."""
    col = pl.col("text").str.strip_chars()
    if has_tabs:
        col = col.str.replace_all("\t", " ", literal=True)
    frame = pl.DataFrame({"text": text.split("\n")[:-1]}, schema={"text": pl.String}).with_row_index("row")
    return (frame.select(pl.col("row").cast(pl.Int64), col.str.split(" "))
            .explode("text").filter(pl.col("text") != ""))


def parse_chunk(chunk: bytes, first_line: int, path: Path, flavor: str, options: ReadOptions,
                skipped: SkipCounter) -> Columns:
    schema = options.schema
    num_fields = len(schema.single_slots)
    field_aware = flavor == "libffm"
    text = chunk.decode("utf-8", errors="replace")
    num_rows = chunk.count(b"\n")
    tokens = _tokens(text, b"\t" in chunk)
    rows = tokens["row"].to_numpy()
    counts = np.bincount(rows, minlength=num_rows)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(rows)) - np.repeat(starts, counts)  # 0 = the label
    tokens = tokens.with_columns(pl.Series("position", position))
    problems: dict[int, str] = {}

    def flag(bad_rows: np.ndarray, problem) -> None:
        for r in np.unique(bad_rows).tolist():
            problems.setdefault(r, problem(r) if callable(problem) else problem)

    def flag_tokens(bad: pl.DataFrame, problem: str) -> None:
        """One message per row, naming that row's first offending token."""
        bad = bad.unique(subset="row", keep="first", maintain_order=True)
        for r, token in zip(bad["row"].to_list(), bad["text"].to_list()):
            problems.setdefault(r, f"{problem}, got token {token!r}")

    flag(np.flatnonzero(counts == 0), "empty line")

    label_text = tokens.filter(pl.col("position") == 0).with_columns(
        pl.col("text").cast(pl.Float64, strict=False).alias("label"))
    bad_label = label_text.filter(~pl.col("label").is_in([1.0, 0.0, -1.0]).fill_null(False))
    for r, token in zip(bad_label["row"].to_list(), bad_label["text"].to_list()):
        problems.setdefault(r, f"label must be 1, 0 or -1, got {token!r}")
    labels = np.zeros((num_rows, 1), dtype=np.float32)
    labels[label_text["row"].to_numpy(), 0] = (label_text["label"].fill_null(0).to_numpy() == 1)

    features = counts - 1
    flag(np.flatnonzero((counts > 0) & (features != num_fields)),
         lambda r: f"expected {num_fields} features (one per field), found {features[r]}")

    parts = 3 if field_aware else 2
    feats = tokens.filter(pl.col("position") > 0).with_columns(
        pl.col("text").str.count_matches(":", literal=True).alias("colons"))
    shape = "field:index:value" if field_aware else "index:value"
    flag_tokens(feats.filter(pl.col("colons") != parts - 1), f"a feature must be {shape}")
    feats = feats.filter(pl.col("colons") == parts - 1)
    names = ["field", "index", "value"] if field_aware else ["index", "value"]
    feats = feats.with_columns(pl.col("text").str.split_exact(":", parts - 1).struct.rename_fields(names)
                               .alias("parts")).unnest("parts")
    feats = feats.with_columns(pl.col("index").cast(pl.Int64, strict=False).alias("id"),
                               pl.col("value").cast(pl.Float64, strict=False).alias("value"),
                               (pl.col("field").cast(pl.Int64, strict=False) if field_aware
                                else pl.col("position") - 1).alias("field"))
    flag_tokens(feats.filter(pl.col("id").is_null()), "a feature index must be an integer")
    flag_tokens(feats.filter(pl.col("id") < 0), "a feature index must not be negative")
    flag_tokens(feats.filter(pl.col("id") >= schema.num_embeddings),
                f"a feature index must be < num_embeddings ({schema.num_embeddings})")
    flag_tokens(feats.filter((pl.col("value") != 1.0).fill_null(True)),
                "only one-hot features are supported (value must be 1)")
    if field_aware:
        flag_tokens(feats.filter(pl.col("field").is_null() | (pl.col("field") < 0) | (pl.col("field") >= num_fields)),
                    f"a field must be an integer in 0..{num_fields - 1}")
    feats = feats.filter(pl.col("id").is_not_null() & (pl.col("id") >= 0) & (pl.col("id") < schema.num_embeddings)
                         & pl.col("field").is_not_null() & (pl.col("field") >= 0) & (pl.col("field") < num_fields))
    f_rows, fields = feats["row"].to_numpy(), feats["field"].to_numpy()
    if field_aware:
        seen = np.bincount(f_rows * num_fields + fields, minlength=num_rows * num_fields).reshape(num_rows, num_fields)
        flag(np.flatnonzero((seen > 1).any(axis=1)),
             lambda r: f"field {int(np.argmax(seen[r] > 1))} appears {int(seen[r].max())} times, expected once")
    sparse = np.zeros((num_rows, num_fields), dtype=np.int64)
    sparse[f_rows, fields] = feats["id"].to_numpy()

    keep = rows_to_keep(num_rows, problems, path, first_line, options, skipped)
    columns: Columns = {"labels": labels, "dense": np.zeros((num_rows, 0), dtype=np.float32), "sparse": sparse,
                        "line": np.arange(first_line, first_line + num_rows, dtype=np.int64)}
    return {k: v[keep] for k, v in columns.items()} if not keep.all() else columns


def iter_columns(path: Path, options: ReadOptions, skipped: SkipCounter, *,
                 flavor: str | None = None) -> Iterator[Columns]:
    """Chunks of columns from a libfm/libsvm/libffm file (flavor None: detected from the file)."""
    schema = options.schema
    if schema.multi_slots:
        raise ConfigError(f"libfm data has one feature per field; multi-valued slots "
                          f"{[s.name for s in schema.multi_slots]} cannot be filled")
    if len(schema.labels) != 1:
        raise ConfigError(f"libfm data has one label per line, the schema names {len(schema.labels)}")
    if not schema.single_slots:
        raise ConfigError("libfm data needs at least one sparse slot (one per field)")
    if flavor is not None and flavor not in FLAVORS:
        raise ConfigError(f"unknown libfm flavor {flavor!r}; expected one of {FLAVORS}")
    flavor = flavor or detect_flavor(path)
    return ordered_map(lambda item: parse_chunk(item[0], item[1], path, flavor, options, skipped),
                       iter_text_chunks(path, options.chunk_bytes))
