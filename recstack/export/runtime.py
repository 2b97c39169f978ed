"""Running an exported graph: onnxruntime for model.onnx, torch.jit for the TorchScript fallback.

Both take the named inputs of `recstack.export.graph` (numpy arrays) and return scores [B, T].
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


def _onnx_runner(path: Path, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # exporters leave unused initializers behind; ort warns about each
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    # an input the graph never reads (a zero-width dense block) is pruned from the file
    wanted = [i.name for i in session.get_inputs()]

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        return session.run(None, {name: inputs[name] for name in wanted})[0]

    return run


def _torchscript_runner(path: Path, names: list[str], threads: int) -> Runner:
    import torch

    torch.set_num_threads(threads)  # process-wide: a TorchScript artifact owns its process's threads
    with warnings.catch_warnings():  # torch 2.13 marks torch.jit deprecated; it is the fallback on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location="cpu").eval()

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return module(*(torch.from_numpy(np.ascontiguousarray(inputs[n])) for n in names)).numpy()

    return run


def open_runtime(runtime: str, path: Path, names: list[str], threads: int = 1) -> Runner:
    """A callable over named inputs; `names` is the graph's positional input order (graph.input_names)."""
    if runtime == "onnx":
        return _onnx_runner(path, threads)
    if runtime == "torchscript":
        return _torchscript_runner(path, names, threads)
    raise ValueError(f"unknown runtime {runtime!r}; expected onnx or torchscript")
