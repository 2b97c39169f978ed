"""Raw features -> model inputs, exactly as the offline readers compute them (see manifest.py).

Files go through the reader of the artifact's format (`recstack/data/formats/`), unchanged. JSON rows
(a list of {field: value}, field names from the manifest) for Criteo data are written as TSV lines and
parsed by the same Criteo chunk parser, hash and dense transform, so a request and a file line with the
same values get the same ids. Slot, libfm and id rows carry ids as written; they are checked (type,
range) here. Every value must be present; null means "missing" and is encoded as the reader encodes a
missing value. Bad input raises `RequestError` naming the row and field (`rows[3].C5`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from recstack.data.formats import Columns, ReadOptions, SkipCounter, criteo, libfm, slot
from recstack.errors import DataFormatError, RecstackError
from recstack.export.manifest import schema_from_manifest


class RequestError(RecstackError):
    """A request row or field is missing or malformed; `field` names it, e.g. rows[2].I5."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def _field(row: object, index: int, name: str) -> object:
    if not isinstance(row, dict):
        raise RequestError(f"rows[{index}]", f"expected an object of field: value, got {type(row).__name__}")
    if name not in row:
        raise RequestError(f"rows[{index}].{name}", "missing field")
    return row[name]


def _check_cell(value: object, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
        raise RequestError(where, f"expected a number, a string or null, got {type(value).__name__}")
    if not str(value).isprintable():  # a tab or line break would shift the TSV columns
        raise RequestError(where, "a value must not contain tabs, line breaks or other control characters")


_CELL_TYPES = {int, float, str, type(None)}


def _tsv_line(row: object, index: int, names: list[str]) -> str:
    """One request row as a Criteo TSV line (label 0, then `names` in order)."""
    try:
        values = [row[name] for name in names]
    except (KeyError, TypeError, IndexError):
        values = [_field(row, index, name) for name in names]  # raises, naming the row or the missing field
    line = "\t".join(["" if v is None else str(v) for v in values])
    # checked per line in bulk; only a bad row is checked value by value, to name the field
    if not {type(v) for v in values} <= _CELL_TYPES or not line.replace("\t", " ").isprintable() \
            or line.count("\t") != len(names) - 1:
        for name, value in zip(names, values):
            _check_cell(value, f"rows[{index}].{name}")
    return "0\t" + line


def _id(value: object, where: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(where, f"expected an integer id, got {type(value).__name__}")
    if not 0 <= value < limit:
        raise RequestError(where, f"id {value} is outside [0, {limit}) (the artifact's num_embeddings)")
    return value


class FeatureEncoder:
    """The artifact's preprocessing: `encode_rows(rows)` for JSON, `iter_file(path)` for raw files."""

    def __init__(self, manifest: dict, artifact: Path):
        self.schema = schema_from_manifest(manifest)
        self.spec = manifest["preprocessing"]
        self.format = self.spec["data_format"]
        vocabulary = self.spec.get("sparse", {}).get("vocabulary")
        self.vocabulary = criteo.Vocabulary.load(Path(artifact) / vocabulary["file"]) if vocabulary else None
        self.options = ReadOptions(self.schema, self.spec.get("dense", {}).get("transform", "log1p"))
        self.dense_field = self.spec.get("dense_slot") or self.spec.get("dense_field")
        self.sparse_fields: list[str] = self.spec["sparse"]["fields"]
        self.multi_valued: dict[str, int] = self.spec["sparse"].get("multi_valued", {})

    @property
    def fields(self) -> list[str]:
        """The names a JSON row must hold."""
        if self.format == "criteo":
            return self.spec["columns"][1:]
        dense = [self.dense_field] if self.schema.num_dense else []
        return dense + self.sparse_fields + list(self.multi_valued)

    def encode_rows(self, rows: list) -> Columns:
        """JSON rows -> {"dense" [N, D], "sparse" [N, F], "seq:<slot>" [N, L]}."""
        if not isinstance(rows, list) or not rows:
            raise RequestError("rows", "expected a non-empty list of objects")
        return self._criteo_rows(rows) if self.format == "criteo" else self._id_rows(rows)

    def _criteo_rows(self, rows: list) -> Columns:
        names = self.fields
        lines = [_tsv_line(row, i, names) for i, row in enumerate(rows)]
        chunk = ("\n".join(lines) + "\n").encode()
        try:
            _, dense, cats, _ = criteo.parse_chunk(chunk, 1, Path("request"), self.schema.num_dense,
                                                   len(self.sparse_fields), self.options, SkipCounter())
        except DataFormatError as error:  # the parser names its positional column: I<j> or C<j>
            column = re.match(r"column ([IC])(\d+)", error.problem)
            name = "" if not column else f"I{column[2]}" if column[1] == "I" else self.sparse_fields[int(column[2]) - 1]
            raise RequestError(f"rows[{error.line - 1}]" + (f".{name}" if name else ""), error.problem) from None
        ids = self.vocabulary.encode(cats) if self.vocabulary else criteo.hash_ids(cats, self.schema.num_embeddings)
        return {"dense": criteo.transform_dense(dense, self.options.dense_transform), "sparse": ids}

    def _id_rows(self, rows: list) -> Columns:
        count, limit, width = len(rows), self.schema.num_embeddings, self.schema.num_dense
        columns: Columns = {"dense": np.zeros((count, width), np.float32),
                            "sparse": np.zeros((count, len(self.sparse_fields)), np.int64)}
        columns.update({f"seq:{n}": np.zeros((count, m), np.int64) for n, m in self.multi_valued.items()})
        for i, row in enumerate(rows):
            if width:
                where, values = f"rows[{i}].{self.dense_field}", _field(row, i, self.dense_field)
                if not isinstance(values, list) or len(values) != width or \
                        not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                    raise RequestError(where, f"expected a list of {width} numbers")
                columns["dense"][i] = values
            for j, name in enumerate(self.sparse_fields):
                value = _field(row, i, name)
                # a slot line may leave a single-valued slot out: the reader gives it id 0
                columns["sparse"][i, j] = 0 if value is None and self.format == "slot" else \
                    _id(value, f"rows[{i}].{name}", limit)
            for name, max_len in self.multi_valued.items():
                values = _field(row, i, name)
                if not isinstance(values, list):
                    raise RequestError(f"rows[{i}].{name}", f"expected a list of up to {max_len} integer ids")
                ids = [_id(v, f"rows[{i}].{name}[{k}]", limit) for k, v in enumerate(values[:max_len])]
                columns[f"seq:{name}"][i, :len(ids)] = ids
        return columns

    def iter_file(self, path: Path) -> Iterator[Columns]:
        """Chunks of a raw file read by the artifact's reader (with `labels` and `line`)."""
        skipped = SkipCounter()
        if self.format == "criteo":
            return criteo.iter_columns(path, self.options, skipped, self.vocabulary)
        if self.format == "slot":
            return slot.iter_columns(path, self.options, skipped, self.schema.labels, self.dense_field)
        if self.format == "libfm":
            return libfm.iter_columns(path, self.options, skipped)
        raise RecstackError(f"this artifact was exported from data_format {self.spec['source_format']}: it takes "
                            f"JSON rows of encoded ids, not raw files")

    def example_rows(self, count: int, seed: int = 0) -> list[dict]:
        """Valid rows with random values (for benchmarks and docs)."""
        rng = np.random.default_rng(seed)
        if self.format == "criteo":
            dense = [{n: int(v) for n, v in zip(self.fields, rng.integers(0, 100, self.schema.num_dense))}
                     for _ in range(count)]
            return [{**d, **{n: f"{int(v):08x}" for n, v in zip(self.sparse_fields, rng.integers(0, 1 << 20, len(
                self.sparse_fields)))}} for d in dense]
        limit = self.schema.num_embeddings
        rows = []
        for _ in range(count):
            row = {n: int(rng.integers(1, limit)) for n in self.sparse_fields}
            row.update({n: rng.integers(1, limit, m).tolist() for n, m in self.multi_valued.items()})
            if self.schema.num_dense:
                row[self.dense_field] = rng.random(self.schema.num_dense).round(4).tolist()
            rows.append(row)
        return rows
