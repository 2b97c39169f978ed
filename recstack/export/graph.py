"""A rank model as a standalone inference graph: ONNX first, TorchScript where ONNX cannot express it.

The graph takes plain tensors, not a Batch, so any runtime can feed it:

    dense      [B, D] float32   dense features after the manifest's transform
    sparse     [B, F] int64     ids of the single-valued slots into the fused table (one gather)
    seq:<slot> [B, L] int64     padded ids of each multi-valued slot (0 = padding)
    -> scores  [B, T] float32   probabilities, one column per task (schema.labels order)

Exporters are tried in order and the first whose outputs agree with eager PyTorch (within
`tolerance`, on fresh batches of 1 and 5 rows, so a batch size baked in at tracing time is caught)
wins: the TorchScript-based ONNX exporter (fast, one file), the dynamo ONNX exporter (handles ops
the first cannot, e.g. index_add with repeated indices in SIGN), then `torch.jit.trace`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from recstack.data.batch import Batch
from recstack.data.schema import FeatureSchema
from recstack.errors import RecstackError
from recstack.export.runtime import open_runtime
from recstack.layers.mlp import use_bf16
from recstack.models.base import Model

RUNTIMES = ("onnx", "torchscript")
OPSET = 17


class ScoringGraph(nn.Module):
    """Model -> probabilities [B, T] from positional tensors (dense, sparse, *bags in schema order)."""

    def __init__(self, model: Model):
        super().__init__()
        self.model = model
        self.bag_slots = [s.name for s in model.schema.multi_slots]

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor, *bags: torch.Tensor) -> torch.Tensor:
        outputs = self.model(Batch(dense=dense, sparse=sparse, sequences=dict(zip(self.bag_slots, bags))))
        return torch.stack([torch.sigmoid(outputs[task]) for task in self.model.tasks], dim=1)


def input_names(schema: FeatureSchema) -> list[str]:
    return ["dense", "sparse"] + [f"seq:{s.name}" for s in schema.multi_slots]


def random_inputs(schema: FeatureSchema, rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs with ids spread over the whole table (padding included), for tracing and checking."""
    rng = np.random.default_rng(seed)
    inputs = {"dense": rng.random((rows, schema.num_dense), dtype=np.float32),
              "sparse": rng.integers(0, schema.num_embeddings, (rows, len(schema.single_slots)))}
    for slot in schema.multi_slots:
        inputs[f"seq:{slot.name}"] = rng.integers(0, schema.num_embeddings, (rows, slot.max_len))
    return inputs


def reference_scores(graph: ScoringGraph, inputs: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return graph(*(torch.from_numpy(inputs[n]) for n in input_names(graph.model.schema))).numpy()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Exporters print from C++ (torch 2.13's TorchScript exporter dumps the whole graph on a failure) and log
    from Python; an export that falls back to the next exporter should not flood the console."""
    logger = logging.getLogger("torch.onnx")
    level, saved = logger.level, [os.dup(1), os.dup(2)]
    sys.stdout.flush()
    sys.stderr.flush()
    logger.setLevel(logging.ERROR)
    with open(os.devnull, "w") as null, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            logger.setLevel(level)


def _export_onnx_script(graph: ScoringGraph, args: tuple, path: Path) -> None:
    names = input_names(graph.model.schema)
    torch.onnx.export(graph, args, str(path), input_names=names, output_names=["scores"], opset_version=OPSET,
                      dynamic_axes={n: {0: "batch"} for n in names + ["scores"]}, dynamo=False)


def _export_onnx_dynamo(graph: ScoringGraph, args: tuple, path: Path) -> None:
    batch = torch.export.Dim("batch")
    shapes = ({0: batch}, {0: batch}, tuple({0: batch} for _ in args[2:]))
    program = torch.onnx.export(graph, args, input_names=input_names(graph.model.schema), output_names=["scores"],
                                dynamic_shapes=shapes, dynamo=True, verbose=False)
    program.save(str(path), external_data=False)


def _export_torchscript(graph: ScoringGraph, args: tuple, path: Path) -> None:
    torch.jit.save(torch.jit.trace(graph, args, check_trace=False), str(path))


EXPORTERS = {"onnx": {"torch.onnx (TorchScript-based)": _export_onnx_script, "torch.onnx (dynamo)": _export_onnx_dynamo},
             "torchscript": {"torch.jit.trace": _export_torchscript}}


def export_graph(model: Model, out_dir: Path, runtimes: tuple[str, ...] = RUNTIMES,
                 tolerance: float = 1e-5) -> dict:
    """Writes model.onnx (or model.pt) into `out_dir`; returns {runtime, file, exporter, max_abs_diff}.
    Puts `model` in eval mode with bf16 autocast off (the artifact is fp32)."""
    model.eval()
    use_bf16(model, False)  # the artifact is plain fp32: the same numbers on every CPU
    graph = ScoringGraph(model).eval()
    schema = model.schema
    trace = random_inputs(schema, 8, seed=1)
    args = tuple(torch.from_numpy(trace[n]) for n in input_names(schema))
    checks = [random_inputs(schema, rows, seed=2 + rows) for rows in (1, 5)]
    failures = []
    for runtime in runtimes:
        file = out_dir / ("model.onnx" if runtime == "onnx" else "model.pt")
        for exporter_name, exporter in EXPORTERS[runtime].items():
            tmp = out_dir / f".{file.name}.tmp-{os.getpid()}"
            try:
                with _quiet(), torch.no_grad():
                    exporter(graph, args, tmp)
                session = open_runtime(runtime, tmp, input_names(schema), threads=1)
                diff = max(float(np.abs(session(c) - reference_scores(graph, c)).max()) for c in checks)
            except Exception as error:  # an exporter that cannot express the model: try the next one
                failures.append(f"{exporter_name}: {type(error).__name__}: {str(error)[:200]}")
                tmp.unlink(missing_ok=True)
                continue
            if diff <= tolerance:
                os.replace(tmp, file)
                return {"runtime": runtime, "file": file.name, "exporter": exporter_name,
                        "max_abs_diff": diff}
            failures.append(f"{exporter_name}: outputs differ from PyTorch by {diff:.2e}")
            tmp.unlink(missing_ok=True)
    raise RecstackError(f"could not export model '{model.registered_name}': " + "; ".join(failures))
