"""PaddleRec slot text: one sample per line, space-separated `slot:value` tokens.

    click:0 dense_feature:0.05 ... dense_feature:0.08 1:737395 2:210498 ... 26:306163

The label slot holds one number; the dense slot repeats `num_dense` times, in order; a sparse slot
holds one id (or up to `max_len` ids when the schema says it is multi-valued). A missing
single-valued slot becomes id 0, as in PaddleRec's readers; slots not named in the schema are
ignored, as PaddleRec does. Ids are used as given and must be < num_embeddings.
Parsing is vectorised with polars: lines are split and exploded into (row, slot, value) tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import polars as pl

from recstack.data.formats import Columns, ReadOptions, SkipCounter, iter_text_chunks, rows_to_keep


def _tokens(lines: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame({"text": lines}, schema={"text": pl.String}).with_row_index("row")
    return (frame.select(pl.col("row").cast(pl.Int64), pl.col("text").str.strip_chars().str.split(" "))
            .explode("text").filter(pl.col("text") != "")
            .select("row", pl.col("text").str.split_exact(":", 1).struct.rename_fields(["slot", "value"]))
            .unnest("text"))


def iter_columns(path: Path, options: ReadOptions, skipped: SkipCounter, label_slots: tuple[str, ...],
                 dense_slot: str) -> Iterator[Columns]:
    schema = options.schema
    single = {s.name: i for i, s in enumerate(schema.single_slots)}
    multi = {s.name: s.max_len for s in schema.multi_slots}
    for chunk, first_line in iter_text_chunks(path, options.chunk_bytes):
        lines = chunk.decode("utf-8", errors="replace").split("\n")[:-1]
        num_rows = len(lines)
        tokens = _tokens(lines)
        problems: dict[int, str] = {r: "empty line" for r, text in enumerate(lines) if not text.strip()} \
            if b"\n\n" in chunk or chunk.startswith(b"\n") else {}

        def flag(rows: np.ndarray, problem) -> None:
            for r in np.unique(rows).tolist():
                problems.setdefault(r, problem(r) if callable(problem) else problem)

        no_colon = tokens.filter(pl.col("value").is_null())
        flag(no_colon["row"].to_numpy(), "a token without ':' (expected slot:value)")
        tokens = tokens.filter(pl.col("value").is_not_null())
        labels = np.full((num_rows, len(label_slots)), np.nan, dtype=np.float32)
        for t, name in enumerate(label_slots):
            part = tokens.filter(pl.col("slot") == name).with_columns(pl.col("value").cast(pl.Float32, strict=False))
            flag(part.filter(pl.col("value").is_null())["row"].to_numpy(), f"label '{name}' is not a number")
            counts = np.bincount(part["row"].to_numpy(), minlength=num_rows)
            flag(np.flatnonzero(counts != 1), lambda r, n=name, c=counts: f"label slot '{n}' appears {c[r]} times, expected once")
            labels[part["row"].to_numpy(), t] = part["value"].fill_null(np.nan).to_numpy()

        dense = np.zeros((num_rows, schema.num_dense), dtype=np.float32)
        if schema.num_dense:
            part = tokens.filter(pl.col("slot") == dense_slot).with_columns(
                pl.col("value").cast(pl.Float32, strict=False),
                pl.int_range(pl.len()).over("row").alias("position"))
            flag(part.filter(pl.col("value").is_null())["row"].to_numpy(), f"'{dense_slot}' value is not a number")
            counts = np.bincount(part["row"].to_numpy(), minlength=num_rows)
            flag(np.flatnonzero(counts != schema.num_dense),
                 lambda r, c=counts: f"'{dense_slot}' appears {c[r]} times, expected {schema.num_dense}")
            part = part.filter(pl.col("position") < schema.num_dense)
            dense[part["row"].to_numpy(), part["position"].to_numpy()] = part["value"].fill_null(0).to_numpy()

        ids = tokens.filter(pl.col("slot").is_in(list(single) + list(multi))).with_columns(
            pl.col("value").cast(pl.Int64, strict=False).alias("id"))
        flag(ids.filter(pl.col("id").is_null())["row"].to_numpy(), "a sparse id is not an integer")
        too_big = ids.filter(pl.col("id") >= schema.num_embeddings)
        flag(too_big["row"].to_numpy(), lambda r: f"sparse id >= sparse_feature_number ({schema.num_embeddings})")
        flag(ids.filter(pl.col("id") < 0)["row"].to_numpy(), "a sparse id is negative")
        ids = ids.filter(pl.col("id").is_not_null())
        sparse = np.zeros((num_rows, len(single)), dtype=np.int64)
        part = ids.filter(pl.col("slot").is_in(list(single))).with_columns(
            pl.col("slot").replace_strict(single, return_dtype=pl.Int64).alias("field"))
        # with no single slots polars keeps the (empty) string column: cast the numpy side
        rows, fields = part["row"].to_numpy(), part["field"].to_numpy().astype(np.int64, copy=False)
        repeats = np.bincount(rows * len(single) + fields, minlength=num_rows * len(single)) > 1
        flag(np.flatnonzero(repeats) // max(len(single), 1),
             "a single-valued slot has several ids (list it in runner.multi_value_slots)")
        sparse[rows, fields] = part["id"].to_numpy()

        columns: Columns = {"labels": labels, "dense": dense, "sparse": sparse}
        for name, max_len in multi.items():
            part = ids.filter(pl.col("slot") == name).with_columns(pl.int_range(pl.len()).over("row").alias("position"))
            part = part.filter(pl.col("position") < max_len)
            bag = np.zeros((num_rows, max_len), dtype=np.int64)
            bag[part["row"].to_numpy(), part["position"].to_numpy()] = part["id"].to_numpy()
            columns[f"seq:{name}"] = bag

        keep = rows_to_keep(num_rows, problems, path, first_line, options, skipped)
        columns["line"] = np.arange(first_line, first_line + num_rows)
        yield {k: v[keep] for k, v in columns.items()}
