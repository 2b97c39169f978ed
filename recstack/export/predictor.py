"""The predictor behind `recstack predict` and `recstack serve`: an exported artifact, loaded once.

    predictor = Predictor(Path("artifact"), threads=1)
    predictor.predict_rows([{"I1": 3, ..., "C26": "a73ee510"}])   # -> scores [N, T] float32
    for columns, scores in predictor.iter_file(Path("test.txt"), batch_size=8192): ...

Scores are probabilities, one column per task (`predictor.tasks`). Other apps (the recall -> rank
service) reuse `encoder.encode_rows` for request validation and `score(columns)` for ranking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from recstack.data.formats import Columns
from recstack.export.features import FeatureEncoder
from recstack.export.graph import input_names
from recstack.export.manifest import load_manifest
from recstack.export.runtime import open_runtime


class Predictor:
    def __init__(self, artifact: Path, threads: int = 1):
        self.artifact = Path(artifact)
        self.manifest = load_manifest(self.artifact)
        self.encoder = FeatureEncoder(self.manifest, self.artifact)
        self.schema = self.encoder.schema
        self.tasks: list[str] = list(self.schema.labels)
        self.input_names = input_names(self.schema)
        self._run = open_runtime(self.manifest["runtime"], self.artifact / self.manifest["model_file"],
                                 self.input_names, threads)

    def score(self, columns: Columns) -> np.ndarray:
        """Encoded inputs (dense, sparse, seq:<slot>) -> scores [N, T] float32."""
        inputs = {name: np.ascontiguousarray(columns[name], dtype=np.float32 if name == "dense" else np.int64)
                  for name in self.input_names}
        return self._run(inputs)

    def predict_rows(self, rows: list) -> np.ndarray:
        """JSON rows (field names from the manifest) -> scores [N, T]; bad rows raise RequestError."""
        return self.score(self.encoder.encode_rows(rows))

    def iter_file(self, path: Path, batch_size: int = 8192) -> Iterator[tuple[Columns, np.ndarray]]:
        """(columns, scores) per batch of a raw file in the artifact's format; a malformed line
        raises DataFormatError naming the file and line."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        for chunk in self.encoder.iter_file(Path(path)):
            rows = len(chunk["sparse"])
            for start in range(0, rows, batch_size):
                part = {k: v[start:start + batch_size] for k, v in chunk.items()}
                yield part, self.score(part)
